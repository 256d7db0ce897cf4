/*
 * check_kafka_kbuf.c -- unit tests for the Kafka wire reader and writer.
 *
 * Byte vectors are written by hand from the primitive encodings of the
 * Kafka protocol (big-endian integers, protobuf varints with zig-zag for
 * VARINT/VARLONG, INT16/INT32/UNSIGNED_VARINT length prefixes, TAG_BUFFER).
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/kbuf.h"

static Suite	*kbuf_suite(void);

/* A writer's contents must equal the expected bytes. */
#define ck_assert_wbuf(w, exp) do {					\
	ck_assert_uint_eq((w)->len, sizeof(exp));			\
	ck_assert_mem_eq((w)->buf, (exp), sizeof(exp));			\
} while (0)

START_TEST(test_ints)
{
	static const uint8_t	 in[] = {
		0x80,				/* i8 -128 */
		0xff, 0xfe,			/* i16 -2 */
		0x7f, 0xff, 0xff, 0xff,		/* i32 INT32_MAX */
		0x80, 0x00, 0x00, 0x00,		/* i32 INT32_MIN */
		0x01, 0x02, 0x03, 0x04,
		0x05, 0x06, 0x07, 0x08,		/* i64 */
		0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff,		/* i64 -1 */
		0xde, 0xad, 0xbe, 0xef,		/* u32 */
	};
	struct kreader		 r;
	struct kwriter		 w;

	kr_init(&r, in, sizeof(in));
	ck_assert_int_eq(kr_i8(&r), -128);
	ck_assert_int_eq(kr_i16(&r), -2);
	ck_assert_int_eq(kr_i32(&r), INT32_MAX);
	ck_assert_int_eq(kr_i32(&r), INT32_MIN);
	ck_assert(kr_i64(&r) == 0x0102030405060708LL);
	ck_assert(kr_i64(&r) == -1);
	ck_assert_uint_eq(kr_u32(&r), 0xdeadbeefU);
	ck_assert_uint_eq(kr_left(&r), 0);
	ck_assert_int_eq(r.err, 0);

	kw_init(&w, 1024);
	kw_i8(&w, -128);
	kw_i16(&w, -2);
	kw_i32(&w, INT32_MAX);
	kw_i32(&w, INT32_MIN);
	kw_i64(&w, 0x0102030405060708LL);
	kw_i64(&w, -1);
	kw_i32(&w, (int32_t)0xdeadbeefU);
	ck_assert_int_eq(w.err, 0);
	ck_assert_wbuf(&w, in);
	kw_free(&w);
}
END_TEST

START_TEST(test_underflow_sticky)
{
	static const uint8_t	 in[] = { 0x01, 0x02, 0x03 };
	struct kreader		 r;

	kr_init(&r, in, sizeof(in));
	ck_assert_int_eq(kr_i32(&r), 0);	/* only 3 bytes */
	ck_assert_int_eq(r.err, 1);
	ck_assert_uint_eq(kr_left(&r), 0);	/* cursor at the end */
	/* Sticky: nothing more is read, although the bytes were there. */
	ck_assert_int_eq(kr_i8(&r), 0);
	ck_assert_int_eq(kr_i16(&r), 0);
	ck_assert(kr_i64(&r) == 0);
	ck_assert_uint_eq(kr_uvarint(&r), 0);
	ck_assert_ptr_null(kr_raw(&r, 0));
	ck_assert_int_eq(r.err, 1);

	/* Each width fails alone on a short input. */
	kr_init(&r, in, 1);
	ck_assert_int_eq(kr_i16(&r), 0);
	ck_assert_int_eq(r.err, 1);
	kr_init(&r, in, 3);
	ck_assert_uint_eq(kr_u32(&r), 0);
	ck_assert_int_eq(r.err, 1);
	kr_init(&r, in, 3);
	ck_assert(kr_i64(&r) == 0);
	ck_assert_int_eq(r.err, 1);
	kr_init(&r, in, 0);
	ck_assert_int_eq(kr_i8(&r), 0);
	ck_assert_int_eq(r.err, 1);

	/* kr_fail() on a good reader. */
	kr_init(&r, in, sizeof(in));
	kr_fail(&r);
	ck_assert_int_eq(r.err, 1);
	ck_assert_uint_eq(kr_left(&r), 0);
}
END_TEST

START_TEST(test_null_empty_reader)
{
	struct kreader	 r;

	kr_init(&r, NULL, 0);
	ck_assert_uint_eq(kr_left(&r), 0);
	ck_assert_int_eq(r.err, 0);
	ck_assert_int_eq(kr_i8(&r), 0);
	ck_assert_int_eq(r.err, 1);
}
END_TEST

START_TEST(test_raw_skip)
{
	static const uint8_t	 in[] = { 1, 2, 3, 4, 5 };
	struct kreader		 r;
	const uint8_t		*p;

	kr_init(&r, in, sizeof(in));
	p = kr_raw(&r, 2);
	ck_assert_ptr_eq(p, in);
	kr_skip(&r, 1);
	ck_assert_int_eq(kr_i8(&r), 4);
	ck_assert_ptr_null(kr_raw(&r, 2));	/* 1 left */
	ck_assert_int_eq(r.err, 1);

	kr_init(&r, in, sizeof(in));
	kr_skip(&r, 6);
	ck_assert_int_eq(r.err, 1);
	kr_init(&r, in, sizeof(in));
	kr_skip(&r, SIZE_MAX);
	ck_assert_int_eq(r.err, 1);
}
END_TEST

START_TEST(test_uvarint)
{
	static const struct {
		uint32_t	 v;
		uint8_t		 b[5];
		size_t		 n;
	} vec[] = {
		{ 0,		{ 0x00 }, 1 },
		{ 1,		{ 0x01 }, 1 },
		{ 127,		{ 0x7f }, 1 },
		{ 128,		{ 0x80, 0x01 }, 2 },
		{ 300,		{ 0xac, 0x02 }, 2 },
		{ 16383,	{ 0xff, 0x7f }, 2 },
		{ 16384,	{ 0x80, 0x80, 0x01 }, 3 },
		{ 0x0fffffff,	{ 0xff, 0xff, 0xff, 0x7f }, 4 },
		{ UINT32_MAX,	{ 0xff, 0xff, 0xff, 0xff, 0x0f }, 5 },
	};
	struct kreader	 r;
	struct kwriter	 w;
	size_t		 i;

	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		kr_init(&r, vec[i].b, vec[i].n);
		ck_assert_uint_eq(kr_uvarint(&r), vec[i].v);
		ck_assert_int_eq(r.err, 0);
		ck_assert_uint_eq(kr_left(&r), 0);
		/* Every proper prefix is truncated. */
		kr_init(&r, vec[i].b, vec[i].n - 1);
		(void)kr_uvarint(&r);
		ck_assert_int_eq(r.err, 1);

		kw_init(&w, 16);
		kw_uvarint(&w, vec[i].v);
		ck_assert_uint_eq(w.len, vec[i].n);
		ck_assert_mem_eq(w.buf, vec[i].b, vec[i].n);
		kw_free(&w);
	}
}
END_TEST

START_TEST(test_uvarint_bad)
{
	static const uint8_t	 six[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x00 };
	static const uint8_t	 big[] = { 0xff, 0xff, 0xff, 0xff, 0x1f };
	static const uint8_t	 cont[] = { 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t	 nc[] = { 0x80, 0x00 };
	struct kreader		 r;

	kr_init(&r, six, sizeof(six));		/* over-long: 6 bytes */
	ck_assert_uint_eq(kr_uvarint(&r), 0);
	ck_assert_int_eq(r.err, 1);
	kr_init(&r, big, sizeof(big));		/* 2^33 - 1 > UINT32_MAX */
	ck_assert_uint_eq(kr_uvarint(&r), 0);
	ck_assert_int_eq(r.err, 1);
	kr_init(&r, cont, sizeof(cont));	/* 5th byte continues */
	(void)kr_uvarint(&r);
	ck_assert_int_eq(r.err, 1);
	/* A non-minimal encoding is still a value (Java accepts it). */
	kr_init(&r, nc, sizeof(nc));
	ck_assert_uint_eq(kr_uvarint(&r), 0);
	ck_assert_int_eq(r.err, 0);
}
END_TEST

START_TEST(test_varint_zigzag)
{
	static const struct {
		int32_t		 v;
		uint8_t		 b[5];
		size_t		 n;
	} vec[] = {
		{ 0,		{ 0x00 }, 1 },
		{ -1,		{ 0x01 }, 1 },
		{ 1,		{ 0x02 }, 1 },
		{ -2,		{ 0x03 }, 1 },
		{ 63,		{ 0x7e }, 1 },
		{ -64,		{ 0x7f }, 1 },
		{ 64,		{ 0x80, 0x01 }, 2 },
		{ INT32_MAX,	{ 0xfe, 0xff, 0xff, 0xff, 0x0f }, 5 },
		{ INT32_MIN,	{ 0xff, 0xff, 0xff, 0xff, 0x0f }, 5 },
	};
	struct kreader	 r;
	struct kwriter	 w;
	size_t		 i;

	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		kr_init(&r, vec[i].b, vec[i].n);
		ck_assert_int_eq(kr_varint(&r), vec[i].v);
		ck_assert_int_eq(r.err, 0);
		kw_init(&w, 16);
		kw_varint(&w, vec[i].v);
		ck_assert_uint_eq(w.len, vec[i].n);
		ck_assert_mem_eq(w.buf, vec[i].b, vec[i].n);
		kw_free(&w);
	}
}
END_TEST

START_TEST(test_varlong_zigzag)
{
	static const struct {
		int64_t		 v;
		uint8_t		 b[10];
		size_t		 n;
	} vec[] = {
		{ 0,		{ 0x00 }, 1 },
		{ -1,		{ 0x01 }, 1 },
		{ 1,		{ 0x02 }, 1 },
		{ 150,		{ 0xac, 0x02 }, 2 },
		{ INT32_MIN,	{ 0xff, 0xff, 0xff, 0xff, 0x0f }, 5 },
		{ (int64_t)INT32_MAX + 1,
				{ 0x80, 0x80, 0x80, 0x80, 0x10 }, 5 },
		{ INT64_MAX,	{ 0xfe, 0xff, 0xff, 0xff, 0xff,
				  0xff, 0xff, 0xff, 0xff, 0x01 }, 10 },
		{ INT64_MIN,	{ 0xff, 0xff, 0xff, 0xff, 0xff,
				  0xff, 0xff, 0xff, 0xff, 0x01 }, 10 },
	};
	struct kreader	 r;
	struct kwriter	 w;
	size_t		 i;

	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		kr_init(&r, vec[i].b, vec[i].n);
		ck_assert(kr_varlong(&r) == vec[i].v);
		ck_assert_int_eq(r.err, 0);
		ck_assert_uint_eq(kr_left(&r), 0);
		kr_init(&r, vec[i].b, vec[i].n - 1);
		(void)kr_varlong(&r);
		ck_assert_int_eq(r.err, 1);
		kw_init(&w, 16);
		kw_varlong(&w, vec[i].v);
		ck_assert_uint_eq(w.len, vec[i].n);
		ck_assert_mem_eq(w.buf, vec[i].b, vec[i].n);
		kw_free(&w);
	}
}
END_TEST

START_TEST(test_varlong_bad)
{
	static const uint8_t	 eleven[] = { 0x80, 0x80, 0x80, 0x80, 0x80,
	    0x80, 0x80, 0x80, 0x80, 0x80, 0x00 };
	/* 10th byte carries more than bit 63. */
	static const uint8_t	 big[] = { 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0x03 };
	static const uint8_t	 max[] = { 0x80, 0x80, 0x80, 0x80, 0x80,
	    0x80, 0x80, 0x80, 0x80, 0x01 };
	struct kreader		 r;

	kr_init(&r, eleven, sizeof(eleven));
	ck_assert(kr_varlong(&r) == 0);
	ck_assert_int_eq(r.err, 1);
	kr_init(&r, big, sizeof(big));
	ck_assert(kr_varlong(&r) == 0);
	ck_assert_int_eq(r.err, 1);
	/* Only bit 63 set: 2^63 un-zig-zags to 2^62. */
	kr_init(&r, max, sizeof(max));
	ck_assert(kr_varlong(&r) == (int64_t)(UINT64_C(1) << 62));
	ck_assert_int_eq(r.err, 0);
	/* A 6-byte varint is too long for VARINT but fine for VARLONG. */
	kr_init(&r, eleven + 5, 6);
	ck_assert(kr_varlong(&r) == 0);
	ck_assert_int_eq(r.err, 0);
	kr_init(&r, eleven + 5, 6);
	(void)kr_varint(&r);
	ck_assert_int_eq(r.err, 1);
}
END_TEST

START_TEST(test_str)
{
	static const uint8_t	 in[] = {
		0x00, 0x02, 'a', 'b',		/* STRING "ab" */
		0x00, 0x00,			/* STRING "" */
		0xff, 0xff,			/* NULLABLE_STRING null */
		0x03, 'c', 'd',			/* COMPACT_STRING "cd" */
		0x01,				/* COMPACT_STRING "" */
		0x00,			/* COMPACT_NULLABLE_STRING null */
	};
	struct kreader		 r;
	struct kwriter		 w;
	struct kstr		 s;

	kr_init(&r, in, sizeof(in));
	s = kr_str(&r, 0);
	ck_assert_int_eq(s.len, 2);
	ck_assert_ptr_eq(s.p, in + 2);
	s = kr_str(&r, 0);
	ck_assert_int_eq(s.len, 0);
	ck_assert_ptr_nonnull(s.p);
	s = kr_str(&r, 0);
	ck_assert_int_eq(s.len, -1);
	ck_assert_ptr_null(s.p);
	s = kr_str(&r, 1);
	ck_assert_int_eq(s.len, 2);
	ck_assert_mem_eq(s.p, "cd", 2);
	s = kr_str(&r, 1);
	ck_assert_int_eq(s.len, 0);
	s = kr_str(&r, 1);
	ck_assert_int_eq(s.len, -1);
	ck_assert_ptr_null(s.p);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(kr_left(&r), 0);

	kw_init(&w, 64);
	kw_str(&w, 0, "ab", 2);
	kw_str(&w, 0, NULL, 0);
	kw_str(&w, 0, NULL, -1);
	kw_str(&w, 1, "cd", 2);
	kw_str(&w, 1, "", 0);
	kw_str(&w, 1, NULL, -1);
	ck_assert_int_eq(w.err, 0);
	ck_assert_wbuf(&w, in);
	kw_free(&w);
}
END_TEST

START_TEST(test_str_bad)
{
	static const uint8_t	 neg[] = { 0xff, 0xfe, 'a' };	/* -2 */
	static const uint8_t	 lng[] = { 0x00, 0x04, 'a', 'b', 'c' };
	static const uint8_t	 clng[] = { 0x05, 'a', 'b', 'c' };
	static const uint8_t	 chuge[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };
	struct kreader		 r;
	struct kwriter		 w;
	struct kstr		 s;
	char			*big;

	kr_init(&r, neg, sizeof(neg));
	s = kr_str(&r, 0);
	ck_assert_int_eq(r.err, 1);
	ck_assert_ptr_null(s.p);
	kr_init(&r, lng, sizeof(lng));
	s = kr_str(&r, 0);
	ck_assert_int_eq(r.err, 1);
	ck_assert_ptr_null(s.p);
	kr_init(&r, clng, sizeof(clng));
	(void)kr_str(&r, 1);
	ck_assert_int_eq(r.err, 1);
	kr_init(&r, chuge, sizeof(chuge));
	(void)kr_str(&r, 1);
	ck_assert_int_eq(r.err, 1);
	kr_init(&r, lng, 1);			/* length truncated */
	(void)kr_str(&r, 0);
	ck_assert_int_eq(r.err, 1);

	/* A STRING longer than INT16_MAX cannot be written. */
	big = calloc(1, 40000);
	ck_assert_ptr_nonnull(big);
	kw_init(&w, 1 << 20);
	kw_str(&w, 0, big, 40000);
	ck_assert_int_eq(w.err, 1);
	kw_reset(&w);
	kw_str(&w, 1, big, 40000);		/* compact has no such limit */
	ck_assert_int_eq(w.err, 0);
	ck_assert_uint_eq(w.len, 3 + 40000);
	ck_assert_uint_eq(w.buf[0], 0xc1);	/* 40001 = 0x9c41 */
	ck_assert_uint_eq(w.buf[1], 0xb8);
	ck_assert_uint_eq(w.buf[2], 0x02);
	kw_free(&w);
	free(big);
}
END_TEST

START_TEST(test_bytes)
{
	static const uint8_t	 in[] = {
		0x00, 0x00, 0x00, 0x03, 1, 2, 3,	/* BYTES */
		0xff, 0xff, 0xff, 0xff,		/* NULLABLE_BYTES null */
		0x00, 0x00, 0x00, 0x00,			/* empty */
		0x02, 9,				/* COMPACT_BYTES */
		0x00,					/* compact null */
	};
	static const uint8_t	 neg[] = { 0xff, 0xff, 0xff, 0xfe };
	static const uint8_t	 lng[] = { 0x00, 0x00, 0x01, 0x00, 1 };
	struct kreader		 r;
	struct kwriter		 w;
	struct kstr		 s;

	kr_init(&r, in, sizeof(in));
	s = kr_bytes(&r, 0);
	ck_assert_int_eq(s.len, 3);
	ck_assert_ptr_eq(s.p, in + 4);
	s = kr_bytes(&r, 0);
	ck_assert_int_eq(s.len, -1);
	ck_assert_ptr_null(s.p);
	s = kr_bytes(&r, 0);
	ck_assert_int_eq(s.len, 0);
	s = kr_bytes(&r, 1);
	ck_assert_int_eq(s.len, 1);
	ck_assert_uint_eq(s.p[0], 9);
	s = kr_bytes(&r, 1);
	ck_assert_int_eq(s.len, -1);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(kr_left(&r), 0);

	kw_init(&w, 64);
	kw_bytes(&w, 0, "\1\2\3", 3);
	kw_bytes(&w, 0, NULL, -1);
	kw_bytes(&w, 0, NULL, 0);
	kw_bytes(&w, 1, "\11", 1);
	kw_bytes(&w, 1, NULL, -1);
	ck_assert_int_eq(w.err, 0);
	ck_assert_wbuf(&w, in);
	kw_free(&w);

	kr_init(&r, neg, sizeof(neg));
	(void)kr_bytes(&r, 0);
	ck_assert_int_eq(r.err, 1);
	kr_init(&r, lng, sizeof(lng));
	(void)kr_bytes(&r, 0);
	ck_assert_int_eq(r.err, 1);
}
END_TEST

START_TEST(test_array)
{
	static const uint8_t	 two[] = { 0x00, 0x00, 0x00, 0x02,
	    1, 2, 3, 4, 5, 6, 7, 8 };
	static const uint8_t	 null[] = { 0xff, 0xff, 0xff, 0xff };
	static const uint8_t	 neg[] = { 0xff, 0xff, 0xff, 0xfe };
	static const uint8_t	 cnull[] = { 0x00 };
	static const uint8_t	 ctwo[] = { 0x03, 1, 2 };
	struct kreader		 r;
	struct kwriter		 w;

	kr_init(&r, two, sizeof(two));
	ck_assert_int_eq(kr_array(&r, 0, 4), 2);	/* 8 bytes left */
	ck_assert_int_eq(r.err, 0);
	kr_init(&r, two, sizeof(two));
	ck_assert_int_eq(kr_array(&r, 0, 5), -1);	/* 10 > 8 */
	ck_assert_int_eq(r.err, 1);
	kr_init(&r, two, sizeof(two));
	ck_assert_int_eq(kr_array(&r, 0, 0), 2);	/* 0 counts as 1 */
	kr_init(&r, two, 5);
	ck_assert_int_eq(kr_array(&r, 0, 0), -1);	/* 2 > 1 left */
	ck_assert_int_eq(r.err, 1);

	kr_init(&r, null, sizeof(null));
	ck_assert_int_eq(kr_array(&r, 0, 4), -1);	/* null, no error */
	ck_assert_int_eq(r.err, 0);
	kr_init(&r, neg, sizeof(neg));
	ck_assert_int_eq(kr_array(&r, 0, 4), -1);
	ck_assert_int_eq(r.err, 1);
	kr_init(&r, cnull, sizeof(cnull));
	ck_assert_int_eq(kr_array(&r, 1, 1), -1);
	ck_assert_int_eq(r.err, 0);
	kr_init(&r, ctwo, sizeof(ctwo));
	ck_assert_int_eq(kr_array(&r, 1, 1), 2);
	ck_assert_int_eq(r.err, 0);
	kr_init(&r, null, 2);				/* truncated count */
	ck_assert_int_eq(kr_array(&r, 0, 1), -1);
	ck_assert_int_eq(r.err, 1);

	kw_init(&w, 64);
	kw_array(&w, 0, 2);
	kw_array(&w, 0, -1);
	kw_array(&w, 1, -1);
	kw_array(&w, 1, 2);
	kw_array(&w, 1, 0);
	ck_assert_uint_eq(w.len, 4 + 4 + 1 + 1 + 1);
	ck_assert_mem_eq(w.buf, "\0\0\0\2\377\377\377\377\0\3\1", 11);
	kw_free(&w);
}
END_TEST

START_TEST(test_array_absurd)
{
	static const uint8_t	 max[] = { 0x7f, 0xff, 0xff, 0xff, 0, 0 };
	static const uint8_t	 cmax[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };
	/* 0x80000000 + 1: above INT32_MAX elements */
	static const uint8_t	 cover[] = { 0x81, 0x80, 0x80, 0x80, 0x08 };
	static const uint8_t	 c1m[] = { 0x81, 0x80, 0x40, 0, 0, 0 };
	struct kreader		 r;

	kr_init(&r, max, sizeof(max));
	ck_assert_int_eq(kr_array(&r, 0, 1), -1);
	ck_assert_int_eq(r.err, 1);
	kr_init(&r, cmax, sizeof(cmax));
	ck_assert_int_eq(kr_array(&r, 1, 1), -1);
	ck_assert_int_eq(r.err, 1);
	kr_init(&r, cover, sizeof(cover));
	ck_assert_int_eq(kr_array(&r, 1, 0), -1);
	ck_assert_int_eq(r.err, 1);
	kr_init(&r, c1m, sizeof(c1m));			/* ~1M elements */
	ck_assert_int_eq(kr_array(&r, 1, 1), -1);
	ck_assert_int_eq(r.err, 1);
	/* min_elem large enough to overflow 32 bits when multiplied. */
	kr_init(&r, max, sizeof(max));
	ck_assert_int_eq(kr_array(&r, 0, 1U << 31), -1);
	ck_assert_int_eq(r.err, 1);
}
END_TEST

START_TEST(test_tags)
{
	static const uint8_t	 in[] = {
		0x00,				/* empty TAG_BUFFER */
		0x02,				/* two tags */
		0x00, 0x03, 0xaa, 0xbb, 0xcc,	/* tag 0, 3 bytes */
		0x80, 0x01, 0x01, 0xdd,		/* tag 128, 1 byte */
		0x12, 0x34,			/* next field */
	};
	static const uint8_t	 trunc[] = { 0x01, 0x05, 0x04, 0xaa };
	static const uint8_t	 nosize[] = { 0x01, 0x05 };
	static const uint8_t	 many[] = { 0xff, 0xff, 0xff, 0xff, 0x0f,
	    0x00, 0x00 };
	struct kreader		 r;
	struct kwriter		 w;

	kr_init(&r, in, sizeof(in));
	kr_tags(&r, 1);
	ck_assert_uint_eq(kr_left(&r), sizeof(in) - 1);
	kr_tags(&r, 1);
	ck_assert_int_eq(r.err, 0);
	ck_assert_int_eq(kr_i16(&r), 0x1234);
	ck_assert_uint_eq(kr_left(&r), 0);

	kr_init(&r, in, sizeof(in));
	kr_tags(&r, 0);				/* not flexible: no-op */
	ck_assert_uint_eq(kr_left(&r), sizeof(in));

	kr_init(&r, trunc, sizeof(trunc));
	kr_tags(&r, 1);
	ck_assert_int_eq(r.err, 1);
	kr_init(&r, nosize, sizeof(nosize));
	kr_tags(&r, 1);
	ck_assert_int_eq(r.err, 1);
	kr_init(&r, many, sizeof(many));	/* huge tag count */
	kr_tags(&r, 1);
	ck_assert_int_eq(r.err, 1);
	kr_init(&r, in, 0);
	kr_tags(&r, 1);
	ck_assert_int_eq(r.err, 1);

	kw_init(&w, 8);
	kw_tags(&w, 0);
	ck_assert_uint_eq(w.len, 0);
	kw_tags(&w, 1);
	ck_assert_uint_eq(w.len, 1);
	ck_assert_uint_eq(w.buf[0], 0);
	kw_free(&w);
}
END_TEST

START_TEST(test_sub)
{
	static const uint8_t	 in[] = { 1, 2, 3, 4, 5 };
	struct kreader		 r, s;

	kr_init(&r, in, sizeof(in));
	kr_sub(&r, 3, &s);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(kr_left(&r), 2);
	ck_assert_uint_eq(kr_left(&s), 3);
	ck_assert_int_eq(kr_i16(&s), 0x0102);
	ck_assert_int_eq(kr_i16(&s), 0);	/* only 1 left in sub */
	ck_assert_int_eq(s.err, 1);
	ck_assert_int_eq(r.err, 0);		/* the parent is unaffected */
	ck_assert_int_eq(kr_i16(&r), 0x0405);

	kr_init(&r, in, sizeof(in));
	kr_sub(&r, 6, &s);			/* past the end */
	ck_assert_int_eq(r.err, 1);
	ck_assert_int_eq(s.err, 1);
	ck_assert_uint_eq(kr_left(&s), 0);

	kr_init(&r, in, sizeof(in));
	kr_sub(&r, 0, &s);
	ck_assert_int_eq(s.err, 0);
	ck_assert_uint_eq(kr_left(&s), 0);
	ck_assert_uint_eq(kr_left(&r), 5);

	kr_init(&r, in, sizeof(in));
	kr_sub(&r, 5, &s);
	ck_assert_uint_eq(kr_left(&s), 5);
	ck_assert_uint_eq(kr_left(&r), 0);
	ck_assert_int_eq(r.err, 0);
}
END_TEST

START_TEST(test_writer_max)
{
	struct kwriter	 w;
	uint8_t		 blob[1000];
	size_t		 i;

	kw_init(&w, 8);
	kw_i32(&w, 1);
	kw_i32(&w, 2);
	ck_assert_int_eq(w.err, 0);
	ck_assert_uint_eq(w.len, 8);
	ck_assert_uint_le(w.cap, 8);		/* never grows past max */
	kw_i8(&w, 3);				/* one byte too many */
	ck_assert_int_eq(w.err, 1);
	ck_assert_uint_eq(w.len, 8);
	/* Sticky: even a write that would fit is refused. */
	kw_reset(&w);
	ck_assert_int_eq(w.err, 0);
	ck_assert_uint_eq(w.len, 0);
	kw_i64(&w, 1);
	kw_i16(&w, 1);				/* would need 10 */
	ck_assert_int_eq(w.err, 1);
	ck_assert_uint_eq(w.len, 8);
	kw_i8(&w, 1);
	ck_assert_int_eq(w.err, 1);
	ck_assert_uint_eq(w.len, 8);
	kw_free(&w);

	/* Growth past the first allocation keeps the contents. */
	for (i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(i * 7);
	kw_init(&w, 1500);
	for (i = 0; i < sizeof(blob); i++)
		kw_i8(&w, (int8_t)blob[i]);
	ck_assert_int_eq(w.err, 0);
	ck_assert_mem_eq(w.buf, blob, sizeof(blob));
	kw_raw(&w, blob, sizeof(blob));		/* 2000 > 1500 */
	ck_assert_int_eq(w.err, 1);
	ck_assert_uint_eq(w.len, sizeof(blob));
	ck_assert_uint_le(w.cap, 1500);
	kw_free(&w);

	/* A huge maximum must not make the capacity doubling overflow. */
	kw_init(&w, SIZE_MAX);
	kw_raw(&w, blob, 10);
	ck_assert_int_eq(w.err, 0);
	kw_free(&w);

	/* Zero maximum: nothing fits; empty raw writes are no-ops. */
	kw_init(&w, 0);
	kw_raw(&w, blob, 0);
	ck_assert_int_eq(w.err, 0);
	kw_i8(&w, 0);
	ck_assert_int_eq(w.err, 1);
	kw_free(&w);
}
END_TEST

/* Requests may carry passwords: a reset leaves no trace of them. */
START_TEST(test_writer_wipes)
{
	struct kwriter	 w;
	const uint8_t	*held;
	size_t		 i;

	kw_init(&w, 1 << 20);
	kw_raw(&w, "\0alice\0alice-secret", 19);
	held = w.buf;
	kw_reset(&w);
	ck_assert_ptr_eq(w.buf, held);		/* the same memory, reused */
	for (i = 0; i < 19; i++)
		ck_assert_int_eq(held[i], 0);
	kw_free(&w);
}
END_TEST

START_TEST(test_put_i32)
{
	static const uint8_t	 exp[] = { 0xaa, 0x00, 0x00, 0x01, 0x02, 0xbb };
	struct kwriter		 w;

	kw_init(&w, 64);
	kw_i8(&w, (int8_t)0xaa);
	kw_i32(&w, 0);
	kw_i8(&w, (int8_t)0xbb);
	kw_put_i32(&w, 1, 0x102);
	ck_assert_int_eq(w.err, 0);
	ck_assert_wbuf(&w, exp);
	kw_put_i32(&w, 3, 0);			/* 3 + 4 > 6 */
	ck_assert_int_eq(w.err, 1);
	ck_assert_wbuf(&w, exp);
	kw_reset(&w);
	kw_put_i32(&w, SIZE_MAX - 1, 0);	/* no wrap-around */
	ck_assert_int_eq(w.err, 1);
	kw_free(&w);
}
END_TEST

static Suite *
kbuf_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("kafka_kbuf");
	tc = tcase_create("reader");
	tcase_add_test(tc, test_ints);
	tcase_add_test(tc, test_underflow_sticky);
	tcase_add_test(tc, test_null_empty_reader);
	tcase_add_test(tc, test_raw_skip);
	tcase_add_test(tc, test_uvarint);
	tcase_add_test(tc, test_uvarint_bad);
	tcase_add_test(tc, test_varint_zigzag);
	tcase_add_test(tc, test_varlong_zigzag);
	tcase_add_test(tc, test_varlong_bad);
	tcase_add_test(tc, test_str);
	tcase_add_test(tc, test_str_bad);
	tcase_add_test(tc, test_bytes);
	tcase_add_test(tc, test_array);
	tcase_add_test(tc, test_array_absurd);
	tcase_add_test(tc, test_tags);
	tcase_add_test(tc, test_sub);
	suite_add_tcase(s, tc);
	tc = tcase_create("writer");
	tcase_add_test(tc, test_writer_max);
	tcase_add_test(tc, test_put_i32);
	tcase_add_test(tc, test_writer_wipes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(kbuf_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
