/*
 * check_kafka_record.c -- unit tests for the record-set decoder.
 *
 * Batches are built here by a small test-only encoder (records, then the
 * records section compressed by the real libraries, then the header with
 * a CRC from a slow bitwise CRC-32C), plus hand-written golden bytes so
 * the decoder is not only checked against the test's own encoder.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZLIB_CONST
#include <check.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "kafka/record.h"

/* Test codec ids: the attribute codec, plus framing variants. */
#define T_NONE		0
#define T_GZIP		1
#define T_SNAPPY	2	/* raw, as librdkafka writes */
#define T_LZ4		3
#define T_ZSTD		4	/* content size in the frame header */
#define T_LZ4_SIZE	103	/* lz4 with the content size in the header */
#define T_XERIAL	102	/* snappy-java framing, as Java writes */
#define T_ZSTD_STREAM	104	/* content size unknown, as zstd-jni writes */

#define ATTR_LOG_APPEND	0x08
#define ATTR_TXN	0x10
#define ATTR_CONTROL	0x20

#define MAXGOT		256
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

struct tbuf {
	uint8_t		*p;
	size_t		 len;
	size_t		 cap;
};

/* One record to encode; headers are nhdr x ("h", "v" or null). */
struct trec {
	int32_t		 odelta;
	int64_t		 tsdelta;
	const void	*key;
	int32_t		 klen;		/* -1: null */
	const void	*val;
	int32_t		 vlen;		/* -1: null */
	int		 nhdr;
};

struct bopt {
	int64_t		 base;
	int		 codec;		/* T_* */
	int		 attr;		/* extra attribute bits */
	int64_t		 base_ts;
	int64_t		 max_ts;	/* 0: the largest record timestamp */
	int		 set_last;	/* use last_delta instead of the
					   last record's delta */
	int32_t		 last_delta;
	int		 set_count;	/* use count instead of n */
	int32_t		 count;
	int		 set_pid;	/* write pid, not -1 */
	int64_t		 pid;
};

struct got {
	size_t			 n;
	size_t			 stop_after;	/* 0: never stop */
	struct kafka_record	 r[MAXGOT];
};

static struct kafka_arena		 arena;
static struct kafka_records_info	 info;
static struct got			 got;
static uint8_t				*copy;	/* exact-size input */

/* Golden: uncompressed batch, baseOffset 5, one record k="k" v="hello",
 * one header h="v", timestamps 1700000000000; CRC-32C computed with an
 * independent bitwise implementation (python). */
static const uint8_t golden_v2[] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,	/* baseOffset 5 */
	0x00, 0x00, 0x00, 0x42,				/* batchLength 66 */
	0x00, 0x00, 0x00, 0x00,				/* leader epoch */
	0x02,						/* magic */
	0xc6, 0x22, 0xac, 0xfa,				/* crc */
	0x00, 0x00,					/* attributes */
	0x00, 0x00, 0x00, 0x00,				/* lastOffsetDelta */
	0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,	/* baseTimestamp */
	0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,	/* maxTimestamp */
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,	/* producerId */
	0xff, 0xff,					/* producerEpoch */
	0xff, 0xff, 0xff, 0xff,				/* baseSequence */
	0x00, 0x00, 0x00, 0x01,				/* recordsCount */
	0x20,						/* length 16 */
	0x00,						/* attributes */
	0x00,						/* timestampDelta */
	0x00,						/* offsetDelta */
	0x02, 'k',					/* key */
	0x0a, 'h', 'e', 'l', 'l', 'o',			/* value */
	0x02,						/* 1 header */
	0x02, 'h', 0x02, 'v'
};

/* Golden: magic 1 message, offset 7, null key, value "abc"; CRC-32 from
 * python's zlib.crc32. */
static const uint8_t golden_v1[] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,	/* offset */
	0x00, 0x00, 0x00, 0x19,				/* message_size 25 */
	0x1c, 0xff, 0x7d, 0xfc,				/* crc */
	0x01,						/* magic */
	0x00,						/* attributes */
	0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,	/* timestamp */
	0xff, 0xff, 0xff, 0xff,				/* key: null */
	0x00, 0x00, 0x00, 0x03, 'a', 'b', 'c'		/* value */
};

static void
tb_reserve(struct tbuf *b, size_t n)
{
	if (b->len + n <= b->cap)
		return;
	while (b->cap < b->len + n)
		b->cap = b->cap ? b->cap * 2 : 256;
	b->p = realloc(b->p, b->cap);
	ck_assert_ptr_nonnull(b->p);
}

static void
tb_raw(struct tbuf *b, const void *p, size_t n)
{
	tb_reserve(b, n);
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
tb_u8(struct tbuf *b, unsigned v)
{
	uint8_t		 c = (uint8_t)v;

	tb_raw(b, &c, 1);
}

static void
tb_put32(struct tbuf *b, size_t pos, uint32_t v)
{
	b->p[pos] = (uint8_t)(v >> 24);
	b->p[pos + 1] = (uint8_t)(v >> 16);
	b->p[pos + 2] = (uint8_t)(v >> 8);
	b->p[pos + 3] = (uint8_t)v;
}

static void
tb_be16(struct tbuf *b, uint16_t v)
{
	tb_u8(b, v >> 8);
	tb_u8(b, v & 0xff);
}

static void
tb_be32(struct tbuf *b, uint32_t v)
{
	tb_reserve(b, 4);
	b->len += 4;
	tb_put32(b, b->len - 4, v);
}

static void
tb_be64(struct tbuf *b, uint64_t v)
{
	tb_be32(b, (uint32_t)(v >> 32));
	tb_be32(b, (uint32_t)v);
}

static void
tb_var(struct tbuf *b, int64_t v)
{
	uint64_t	 u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);

	while (u >= 0x80) {
		tb_u8(b, (unsigned)(u & 0x7f) | 0x80);
		u >>= 7;
	}
	tb_u8(b, (unsigned)u);
}

static void
tb_free(struct tbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* The reference: CRC-32C one bit at a time, straight from the definition. */
static uint32_t
ref_crc32c(const uint8_t *p, size_t len)
{
	uint32_t	 c = 0xffffffffU;
	size_t		 i;
	int		 k;

	for (i = 0; i < len; i++) {
		c ^= p[i];
		for (k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78U : c >> 1;
	}
	return c ^ 0xffffffffU;
}

static uint64_t	 rng_state = 88172645463325252ULL;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static void
tcompress(struct tbuf *out, int codec, const uint8_t *p, size_t len)
{
	z_stream		 zs;
	LZ4F_preferences_t	 prefs;
	ZSTD_CCtx		*cc;
	ZSTD_inBuffer		 in;
	ZSTD_outBuffer		 zo;
	size_t			 n, off, chunk, pos;

	switch (codec) {
	case T_NONE:
		tb_raw(out, p, len);
		break;
	case T_GZIP:
		memset(&zs, 0, sizeof(zs));
		ck_assert_int_eq(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8,
		    Z_DEFAULT_STRATEGY), Z_OK);
		n = deflateBound(&zs, (uLong)len) + 32;
		tb_reserve(out, n);
		zs.next_in = p;
		zs.avail_in = (uInt)len;
		zs.next_out = out->p + out->len;
		zs.avail_out = (uInt)n;
		ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
		out->len += n - zs.avail_out;
		deflateEnd(&zs);
		break;
	case T_SNAPPY:
		n = snappy_max_compressed_length(len);
		tb_reserve(out, n);
		ck_assert_int_eq(snappy_compress((const char *)p, len,
		    (char *)out->p + out->len, &n), SNAPPY_OK);
		out->len += n;
		break;
	case T_XERIAL:
		tb_raw(out, "\x82SNAPPY\0", 8);
		tb_be32(out, 1);
		tb_be32(out, 1);
		/* Small blocks, so that big inputs take several. */
		for (off = 0; off < len; off += chunk) {
			chunk = len - off < 4096 ? len - off : 4096;
			n = snappy_max_compressed_length(chunk);
			tb_reserve(out, 4 + n);
			pos = out->len;
			out->len += 4;
			ck_assert_int_eq(snappy_compress((const char *)p + off,
			    chunk, (char *)out->p + out->len, &n), SNAPPY_OK);
			tb_put32(out, pos, (uint32_t)n);
			out->len += n;
		}
		break;
	case T_LZ4:
	case T_LZ4_SIZE:
		memset(&prefs, 0, sizeof(prefs));
		/* Non-zero: filled in with the real size. */
		prefs.frameInfo.contentSize = codec == T_LZ4_SIZE;
		prefs.frameInfo.blockMode = LZ4F_blockIndependent;
		prefs.frameInfo.blockSizeID = LZ4F_max64KB;
		n = LZ4F_compressFrameBound(len, &prefs);
		tb_reserve(out, n);
		n = LZ4F_compressFrame(out->p + out->len, n, p, len, &prefs);
		ck_assert(!LZ4F_isError(n));
		out->len += n;
		break;
	case T_ZSTD:
		n = ZSTD_compressBound(len);
		tb_reserve(out, n);
		n = ZSTD_compress(out->p + out->len, n, p, len, 3);
		ck_assert(!ZSTD_isError(n));
		ck_assert(ZSTD_getFrameContentSize(out->p + out->len, n) ==
		    len);
		out->len += n;
		break;
	case T_ZSTD_STREAM:
		cc = ZSTD_createCCtx();
		ck_assert_ptr_nonnull(cc);
		n = ZSTD_compressBound(len) + 4096;
		tb_reserve(out, n);
		in.src = p;
		in.size = len;
		in.pos = 0;
		zo.dst = out->p + out->len;
		zo.size = n;
		zo.pos = 0;
		/* Continue first, end later: no pledged content size. */
		while (in.pos < in.size)
			ck_assert(!ZSTD_isError(ZSTD_compressStream2(cc, &zo,
			    &in, ZSTD_e_continue)));
		while ((n = ZSTD_compressStream2(cc, &zo, &in,
		    ZSTD_e_end)) != 0)
			ck_assert(!ZSTD_isError(n));
		ck_assert(ZSTD_getFrameContentSize(out->p + out->len,
		    zo.pos) == ZSTD_CONTENTSIZE_UNKNOWN);
		out->len += zo.pos;
		ZSTD_freeCCtx(cc);
		break;
	default:
		ck_abort_msg("bad test codec %d", codec);
	}
}

static void
enc_headers(struct tbuf *b, int nhdr)
{
	int		 i;

	for (i = 0; i < nhdr; i++) {
		tb_var(b, 1);
		tb_u8(b, 'h');
		if (i % 2) {
			tb_var(b, -1);
		} else {
			tb_var(b, 1);
			tb_u8(b, 'v');
		}
	}
}

static void
enc_record(struct tbuf *b, const struct trec *r)
{
	struct tbuf	 body = { NULL, 0, 0 };

	tb_u8(&body, 0);
	tb_var(&body, r->tsdelta);
	tb_var(&body, r->odelta);
	tb_var(&body, r->klen);
	if (r->klen > 0)
		tb_raw(&body, r->key, (size_t)r->klen);
	tb_var(&body, r->vlen);
	if (r->vlen > 0)
		tb_raw(&body, r->val, (size_t)r->vlen);
	tb_var(&body, r->nhdr);
	enc_headers(&body, r->nhdr);
	tb_var(b, (int64_t)body.len);
	tb_raw(b, body.p, body.len);
	tb_free(&body);
}

/* Append a magic 2 batch; returns its size. */
static size_t
enc_batch(struct tbuf *b, const struct bopt *o, const struct trec *recs,
    int n)
{
	struct tbuf	 raw = { NULL, 0, 0 };
	size_t		 start = b->len;
	int64_t		 maxts = o->base_ts;
	int32_t		 last = n > 0 ? recs[n - 1].odelta : 0;
	int		 i, codec = o->codec % 100;

	for (i = 0; i < n; i++) {
		enc_record(&raw, &recs[i]);
		if (o->base_ts + recs[i].tsdelta > maxts)
			maxts = o->base_ts + recs[i].tsdelta;
	}
	tb_be64(b, (uint64_t)o->base);
	tb_be32(b, 0);				/* batchLength */
	tb_be32(b, 0xffffffffU);		/* partitionLeaderEpoch */
	tb_u8(b, 2);
	tb_be32(b, 0);				/* crc */
	tb_be16(b, (uint16_t)(codec | o->attr));
	tb_be32(b, (uint32_t)(o->set_last ? o->last_delta : last));
	tb_be64(b, (uint64_t)o->base_ts);
	tb_be64(b, (uint64_t)(o->max_ts ? o->max_ts : maxts));
	tb_be64(b, o->set_pid ? (uint64_t)o->pid : UINT64_MAX); /* producerId */
	tb_be16(b, 0xffff);
	tb_be32(b, 0xffffffffU);
	tb_be32(b, (uint32_t)(o->set_count ? o->count : n));
	tcompress(b, o->codec, raw.p, raw.len);
	tb_free(&raw);
	tb_put32(b, start + 8, (uint32_t)(b->len - start - 12));
	tb_put32(b, start + 17, ref_crc32c(b->p + start + 21,
	    b->len - start - 21));
	return b->len - start;
}

/* Recompute batchLength and CRC of the batch at start after an edit. */
static void
fix_batch(struct tbuf *b, size_t start, size_t size)
{
	tb_put32(b, start + 8, (uint32_t)(size - 12));
	tb_put32(b, start + 17, kafka_crc32c(0, b->p + start + 21, size - 21));
}

/* Append a legacy message; returns its size. */
static size_t
enc_msg(struct tbuf *b, int magic, int64_t offset, int attr, int64_t ts,
    const void *key, int32_t klen, const void *val, int32_t vlen)
{
	size_t		 start = b->len;

	tb_be64(b, (uint64_t)offset);
	tb_be32(b, 0);
	tb_be32(b, 0);
	tb_u8(b, (unsigned)magic);
	tb_u8(b, (unsigned)attr);
	if (magic == 1)
		tb_be64(b, (uint64_t)ts);
	tb_be32(b, (uint32_t)klen);
	if (klen > 0)
		tb_raw(b, key, (size_t)klen);
	tb_be32(b, (uint32_t)vlen);
	if (vlen > 0)
		tb_raw(b, val, (size_t)vlen);
	tb_put32(b, start + 8, (uint32_t)(b->len - start - 12));
	tb_put32(b, start + 12, (uint32_t)crc32(0, b->p + start + 16,
	    (uInt)(b->len - start - 16)));
	return b->len - start;
}

static int
collect(void *arg, const struct kafka_record *rec)
{
	struct got	*g = arg;

	ck_assert_uint_lt(g->n, MAXGOT);
	g->r[g->n++] = *rec;
	return g->stop_after != 0 && g->n >= g->stop_after;
}

/* Reads every byte delivered, so ASan sees any bad view. */
static int
touch(void *arg, const struct kafka_record *rec)
{
	unsigned	*sum = arg;
	int32_t		 i;
	size_t		 j;

	for (i = 0; i < rec->key_len; i++)
		*sum += rec->key[i];
	for (i = 0; i < rec->value_len; i++)
		*sum += rec->value[i];
	for (j = 0; j < rec->headers_len; j++)
		*sum += rec->headers[j];
	return 0;
}

/*
 * Decode a copy of exactly len bytes, so over-reads hit ASan, skipping
 * the aborted transactions listed (READ_UNCOMMITTED if ab is NULL).
 */
static int
run_txn(const uint8_t *p, size_t len, int64_t min, size_t stop_after,
    const struct kafka_aborted_txn *ab, size_t nab)
{
	free(copy);
	copy = malloc(len ? len : 1);
	ck_assert_ptr_nonnull(copy);
	if (len > 0)
		memcpy(copy, p, len);
	memset(&got, 0, sizeof(got));
	got.stop_after = stop_after;
	if (ab == NULL)
		return kafka_records_decode(copy, len, min, &arena, collect,
		    &got, &info);
	return kafka_records_decode_txn(copy, len, min, ab, nab, &arena,
	    collect, &got, &info);
}

static int
run(const uint8_t *p, size_t len, int64_t min, size_t stop_after)
{
	return run_txn(p, len, min, stop_after, NULL, 0);
}

static void
setup(void)
{
	kafka_arena_init(&arena, 0);
	copy = NULL;
}

static void
teardown(void)
{
	kafka_arena_free(&arena);
	free(copy);
	copy = NULL;
}

static void
check_ok(void)
{
	ck_assert_msg(info.err == KAFKA_RECORDS_OK, "err %d: %s", info.err,
	    info.errmsg);
}

static void
check_rec(const struct kafka_record *r, int64_t offset, const void *key,
    int32_t klen, const void *val, int32_t vlen)
{
	ck_assert_int_eq(r->offset, offset);
	ck_assert_int_eq(r->key_len, klen);
	if (klen < 0)
		ck_assert_ptr_null(r->key);
	else {
		ck_assert_ptr_nonnull(r->key);
		if (klen > 0)
			ck_assert_mem_eq(r->key, key, (size_t)klen);
	}
	ck_assert_int_eq(r->value_len, vlen);
	if (vlen < 0)
		ck_assert_ptr_null(r->value);
	else {
		ck_assert_ptr_nonnull(r->value);
		if (vlen > 0)
			ck_assert_mem_eq(r->value, val, (size_t)vlen);
	}
}

/* n records "k<i>" = "v<i>", offset deltas 0..n-1, timestamps +i. */
static struct trec *
simple_recs(int n)
{
	static struct trec	 r[64];
	static char		 k[64][16], v[64][16];
	int			 i;

	ck_assert_int_le(n, 64);
	for (i = 0; i < n; i++) {
		snprintf(k[i], sizeof(k[i]), "k%d", i);
		snprintf(v[i], sizeof(v[i]), "v%d", i);
		r[i] = (struct trec){ .odelta = i, .tsdelta = i, .key = k[i],
		    .klen = (int32_t)strlen(k[i]), .val = v[i],
		    .vlen = (int32_t)strlen(v[i]) };
	}
	return r;
}

static void
check_simple(const struct kafka_record *r, int64_t offset, int i)
{
	char		 k[16], v[16];

	snprintf(k, sizeof(k), "k%d", i);
	snprintf(v, sizeof(v), "v%d", i);
	check_rec(r, offset, k, (int32_t)strlen(k), v, (int32_t)strlen(v));
}

/* crc */

/*
 * Each crc test runs once per implementation: kafka_crc32c() itself, then
 * each one kafka_crc32c_impl() names, all against ref_crc32c().
 */
static const struct {
	enum kafka_crc32c_which	 which;
	const char		*name;
} crc_impls[] = {
	{ KAFKA_CRC32C_BEST,	"kafka_crc32c()" },
	{ KAFKA_CRC32C_SW,	"software" },
	{ KAFKA_CRC32C_HW,	"hardware" },
};

/* Implementation i of crc_impls, or NULL (said on stdout) if absent. */
static kafka_crc32c_fn
crc_impl(int i)
{
	kafka_crc32c_fn	 f;

	if (crc_impls[i].which == KAFKA_CRC32C_BEST)
		return kafka_crc32c;
	f = kafka_crc32c_impl(crc_impls[i].which);
	if (f == NULL)
		printf("note: no %s CRC-32C in this build or on this CPU: "
		    "its tests skipped\n", crc_impls[i].name);
	return f;
}

/* A CPU with SSE4.2 gets the instruction, and kafka_crc32c() runs it. */
START_TEST(test_crc_dispatch)
{
	kafka_crc32c_fn	 sw, hw, best;

	sw = kafka_crc32c_impl(KAFKA_CRC32C_SW);
	hw = kafka_crc32c_impl(KAFKA_CRC32C_HW);
	best = kafka_crc32c_impl(KAFKA_CRC32C_BEST);
	ck_assert_ptr_nonnull(sw);
	ck_assert_ptr_nonnull(best);
	ck_assert_ptr_ne(sw, hw);
	ck_assert(best == (hw != NULL ? hw : sw));
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	ck_assert_int_eq(hw != NULL, __builtin_cpu_supports("sse4.2") != 0);
#endif
	printf("note: kafka_crc32c() runs the %s CRC-32C\n",
	    hw != NULL ? "hardware" : "software");
}
END_TEST

/* The check value of the CRC catalogue and RFC 3720 B.4's iSCSI vectors. */
START_TEST(test_crc_vectors)
{
	static const uint8_t	 pdu[48] = {	/* an iSCSI read command */
		0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
		0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
		0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00
	};
	kafka_crc32c_fn		 f = crc_impl(_i);
	uint8_t			 v[4][32];
	int			 i;

	if (f == NULL)
		return;
	for (i = 0; i < 32; i++) {
		v[0][i] = 0;
		v[1][i] = 0xff;
		v[2][i] = (uint8_t)i;
		v[3][i] = (uint8_t)(31 - i);
	}
	ck_assert_uint_eq(ref_crc32c((const uint8_t *)"123456789", 9),
	    0xE3069283U);
	ck_assert_uint_eq(f(0, "123456789", 9), 0xE3069283U);
	ck_assert_uint_eq(f(0, "", 0), 0);
	ck_assert_uint_eq(f(0xE3069283U, "", 0), 0xE3069283U);
	ck_assert_uint_eq(f(0, "a", 1), 0xC1D04330U);
	ck_assert_uint_eq(f(0, v[0], 32), 0x8A9136AAU);
	ck_assert_uint_eq(f(0, v[1], 32), 0x62A8AB43U);
	ck_assert_uint_eq(f(0, v[2], 32), 0x46DD794EU);
	ck_assert_uint_eq(f(0, v[3], 32), 0x113FDB5CU);
	ck_assert_uint_eq(f(0, pdu, sizeof(pdu)), 0xD9963A56U);
	ck_assert_uint_eq(ref_crc32c(pdu, sizeof(pdu)), 0xD9963A56U);
}
END_TEST

/*
 * Every length 0..1024 at every alignment 0..15, random bytes, ending at
 * the end of their allocation (so that ASan sees any read past it); the
 * reference advances one byte per length.
 */
START_TEST(test_crc_every_length)
{
	kafka_crc32c_fn	 f = crc_impl(_i);
	kafka_crc32c_fn	 sw = kafka_crc32c_impl(KAFKA_CRC32C_SW);
	uint8_t		 src[1024], *p;
	uint32_t	 ref;
	size_t		 align, len;
	int		 k;

	if (f == NULL)
		return;
	for (align = 0; align < 16; align++) {
		for (len = 0; len < sizeof(src); len++)
			src[len] = (uint8_t)rng();
		ref = 0xffffffffU;
		for (len = 0; len <= sizeof(src); len++) {
			p = malloc(align + len + 1);
			ck_assert_ptr_nonnull(p);
			memcpy(p + align, src, len);
			ck_assert_uint_eq(f(0, p + align, len), ~ref);
			ck_assert_uint_eq(f(0, p + align, len),
			    sw(0, p + align, len));
			free(p);
			if (len == sizeof(src))
				break;
			ref ^= src[len];
			for (k = 0; k < 8; k++)
				ref = (ref & 1) ? (ref >> 1) ^ 0x82f63b78U :
				    ref >> 1;
		}
	}
}
END_TEST

/*
 * Big buffers, around the edges of the three interleaved streams (3 x 256
 * and 3 x 8192 bytes in record.c) and past them, at every alignment.
 */
START_TEST(test_crc_big)
{
	static const size_t	 lens[] = {
		767, 768, 769, 775, 776, 1535, 1536, 1537, 24575, 24576,
		24577, 24576 + 768 + 7, 2 * 24576 + 3 * 768 + 5, 100003,
		1024 * 1024
	};
	kafka_crc32c_fn		 f = crc_impl(_i);
	uint8_t			*src, *p;
	uint32_t		 want;
	size_t			 i, j, align;

	if (f == NULL)
		return;
	src = malloc(lens[NELEM(lens) - 1]);
	ck_assert_ptr_nonnull(src);
	for (j = 0; j < lens[NELEM(lens) - 1]; j++)
		src[j] = (uint8_t)rng();
	for (i = 0; i < NELEM(lens); i++) {
		want = ref_crc32c(src, lens[i]);
		for (align = 0; align < 16; align++) {
			p = malloc(align + lens[i]);
			ck_assert_ptr_nonnull(p);
			memcpy(p + align, src, lens[i]);
			ck_assert_uint_eq(f(0, p + align, lens[i]), want);
			free(p);
		}
	}
	free(src);
}
END_TEST

/*
 * Continuing a CRC, as zlib's crc32() does: cut in two at every offset and
 * in three, fed one byte at a time, and handed from one implementation to
 * another (they share the crc convention).
 */
START_TEST(test_crc_split)
{
	kafka_crc32c_fn	 f = crc_impl(_i);
	kafka_crc32c_fn	 sw = kafka_crc32c_impl(KAFKA_CRC32C_SW);
	uint8_t		 buf[2400];
	uint32_t	 want, c;
	size_t		 i, cut, cut2;

	if (f == NULL)
		return;
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rng();
	want = ref_crc32c(buf, sizeof(buf));
	ck_assert_uint_eq(f(0, buf, sizeof(buf)), want);
	for (cut = 0; cut <= sizeof(buf); cut++) {
		ck_assert_uint_eq(f(f(0, buf, cut), buf + cut,
		    sizeof(buf) - cut), want);
		ck_assert_uint_eq(sw(f(0, buf, cut), buf + cut,
		    sizeof(buf) - cut), want);
		ck_assert_uint_eq(f(sw(0, buf, cut), buf + cut,
		    sizeof(buf) - cut), want);
	}
	for (cut = 0; cut <= sizeof(buf); cut += 7)
		for (cut2 = cut; cut2 <= sizeof(buf); cut2 += 131) {
			c = f(0, buf, cut);
			c = f(c, buf + cut, cut2 - cut);
			ck_assert_uint_eq(f(c, buf + cut2, sizeof(buf) - cut2),
			    want);
		}
	for (c = 0, i = 0; i < sizeof(buf); i++)
		c = f(c, buf + i, 1);
	ck_assert_uint_eq(c, want);
}
END_TEST

/* The same random test as before the hardware path: 8 offsets, chained. */
START_TEST(test_crc_vs_reference)
{
	kafka_crc32c_fn	 f = crc_impl(_i);
	uint8_t		 buf[1100];
	size_t		 i, off, len, cut;

	if (f == NULL)
		return;
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rng();
	for (off = 0; off < 8; off++)
		for (len = 0; len + off <= sizeof(buf); len += len < 64 ?
		    1 : 37) {
			ck_assert_uint_eq(f(0, buf + off, len),
			    ref_crc32c(buf + off, len));
			/* Chaining continues a CRC as zlib's crc32() does. */
			cut = len / 3;
			ck_assert_uint_eq(f(f(0, buf + off, cut),
			    buf + off + cut, len - cut),
			    ref_crc32c(buf + off, len));
		}
}
END_TEST

START_TEST(test_crc_golden)
{
	kafka_crc32c_fn	 f = crc_impl(_i);

	if (f == NULL)
		return;
	ck_assert_uint_eq(ref_crc32c(golden_v2 + 21, sizeof(golden_v2) - 21),
	    0xc622acfaU);
	ck_assert_uint_eq(f(0, golden_v2 + 21, sizeof(golden_v2) - 21),
	    0xc622acfaU);
}
END_TEST

/* plain */

START_TEST(test_golden_v2)
{
	static const uint8_t	 hdr[] = { 0x02, 'h', 0x02, 'v' };
	const struct kafka_record *r = &got.r[0];

	ck_assert_int_eq(run(golden_v2, sizeof(golden_v2), 0, 0), 0);
	check_ok();
	ck_assert_uint_eq(info.delivered, 1);
	ck_assert_uint_eq(got.n, 1);
	check_rec(r, 5, "k", 1, "hello", 5);
	ck_assert_int_eq(r->timestamp, 1700000000000LL);
	ck_assert_uint_eq(r->header_count, 1);
	ck_assert_uint_eq(r->headers_len, sizeof(hdr));
	ck_assert_mem_eq(r->headers, hdr, sizeof(hdr));
	/* Uncompressed records point into the input. */
	ck_assert_ptr_eq(r->value, copy + 68);
	ck_assert_int_eq(info.next_offset, 6);
	ck_assert_int_eq(info.truncated, 0);
	ck_assert_int_eq(info.stopped, 0);
	ck_assert_uint_eq(arena.total, 0);
}
END_TEST

START_TEST(test_encoder_matches_golden)
{
	struct tbuf	 b = { NULL, 0, 0 };
	struct trec	 r = { .key = "k", .klen = 1, .val = "hello",
			    .vlen = 5, .nhdr = 1 };
	struct bopt	 o = { .base = 5, .base_ts = 1700000000000LL };

	enc_batch(&b, &o, &r, 1);
	/* The golden leader epoch is 0, the encoder writes -1. */
	memset(b.p + 12, 0, 4);
	ck_assert_uint_eq(b.len, sizeof(golden_v2));
	ck_assert_mem_eq(b.p, golden_v2, sizeof(golden_v2));
	tb_free(&b);
}
END_TEST

START_TEST(test_multi_record)
{
	struct tbuf	 b = { NULL, 0, 0 };
	struct bopt	 o = { .base = 1000, .base_ts = 5000 };
	int		 i;

	enc_batch(&b, &o, simple_recs(10), 10);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), 0);
	check_ok();
	ck_assert_uint_eq(info.delivered, 10);
	for (i = 0; i < 10; i++) {
		check_simple(&got.r[i], 1000 + i, i);
		ck_assert_int_eq(got.r[i].timestamp, 5000 + i);
		ck_assert_uint_eq(got.r[i].header_count, 0);
	}
	ck_assert_int_eq(info.next_offset, 1010);
	tb_free(&b);
}
END_TEST

START_TEST(test_several_batches)
{
	struct tbuf	 b = { NULL, 0, 0 };
	struct bopt	 o = { .base_ts = 1 };
	int		 i, j;

	for (i = 0; i < 4; i++) {
		o.base = 100 + i * 3;
		enc_batch(&b, &o, simple_recs(3), 3);
	}
	ck_assert_int_eq(run(b.p, b.len, 0, 0), 0);
	check_ok();
	ck_assert_uint_eq(info.delivered, 12);
	for (i = 0; i < 4; i++)
		for (j = 0; j < 3; j++)
			check_simple(&got.r[i * 3 + j], 100 + i * 3 + j, j);
	ck_assert_int_eq(info.next_offset, 112);
	tb_free(&b);
}
END_TEST

START_TEST(test_overlap)
{
	struct tbuf	 b = { NULL, 0, 0 };
	struct bopt	 o = { .base = 0 };
	size_t		 i;

	/* Overlapping batches: no offset twice, nothing out of order. */
	enc_batch(&b, &o, simple_recs(3), 3);
	o.base = 1;
	enc_batch(&b, &o, simple_recs(3), 3);
	o.base = 0;
	enc_batch(&b, &o, simple_recs(2), 2);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), 0);
	check_ok();
	ck_assert_uint_eq(got.n, 4);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(got.r[i].offset, (int64_t)i);
	check_simple(&got.r[3], 3, 2);
	ck_assert_int_eq(info.next_offset, 4);
	tb_free(&b);
}
END_TEST

START_TEST(test_min_offset)
{
	struct tbuf	 b = { NULL, 0, 0 };
	struct bopt	 o = { .base = 100 };
	size_t		 i;

	enc_batch(&b, &o, simple_recs(5), 5);
	o.base = 105;
	enc_batch(&b, &o, simple_recs(5), 5);

	/* In the middle of the first batch. */
	ck_assert_int_eq(run(b.p, b.len, 102, 0), 0);
	check_ok();
	ck_assert_uint_eq(info.delivered, 8);
	for (i = 0; i < got.n; i++) {
		ck_assert_int_ge(got.r[i].offset, 102);
		ck_assert_int_eq(got.r[i].offset, 102 + (int64_t)i);
	}
	check_simple(&got.r[0], 102, 2);
	ck_assert_int_eq(info.next_offset, 110);

	/* In the second batch: the first is skipped whole. */
	ck_assert_int_eq(run(b.p, b.len, 109, 0), 0);
	ck_assert_uint_eq(info.delivered, 1);
	check_simple(&got.r[0], 109, 4);
	ck_assert_int_eq(info.next_offset, 110);

	/* After everything: nothing delivered, next stays at min. */
	ck_assert_int_eq(run(b.p, b.len, 500, 0), 0);
	ck_assert_uint_eq(info.delivered, 0);
	ck_assert_int_eq(info.next_offset, 500);

	/* Nothing consumed at all. */
	ck_assert_int_eq(run(b.p, 0, 77, 0), 0);
	ck_assert_int_eq(info.next_offset, 77);
	ck_assert_int_eq(info.truncated, 0);
	tb_free(&b);
}
END_TEST

START_TEST(test_null_and_empty)
{
	struct tbuf	 b = { NULL, 0, 0 };
	struct trec	 r[4] = {
		{ .odelta = 0, .klen = -1, .val = "a", .vlen = 1 },
		{ .odelta = 1, .key = "", .klen = 0, .val = "b", .vlen = 1 },
		{ .odelta = 2, .key = "k", .klen = 1, .vlen = -1 },
		{ .odelta = 3, .key = "k", .klen = 1, .val = "", .vlen = 0 },
	};
	struct bopt	 o = { .base = 0 };

	enc_batch(&b, &o, r, 4);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), 0);
	check_ok();
	ck_assert_uint_eq(got.n, 4);
	check_rec(&got.r[0], 0, NULL, -1, "a", 1);
	check_rec(&got.r[1], 1, "", 0, "b", 1);
	check_rec(&got.r[2], 2, "k", 1, NULL, -1);
	check_rec(&got.r[3], 3, "k", 1, "", 0);
	tb_free(&b);
}
END_TEST

START_TEST(test_binary_key_and_headers)
{
	static const uint8_t	 key[] = { 'a', 0, 'b', 0, 0xff, 0 };
	struct tbuf		 b = { NULL, 0, 0 }, h = { NULL, 0, 0 };
	struct trec		 r = { .key = key, .klen = sizeof(key),
				    .val = "\0\0", .vlen = 2, .nhdr = 3 };
	struct bopt		 o = { .base = 9 };

	enc_batch(&b, &o, &r, 1);
	enc_headers(&h, 3);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), 0);
	check_ok();
	check_rec(&got.r[0], 9, key, sizeof(key), "\0\0", 2);
	ck_assert_uint_eq(got.r[0].header_count, 3);
	ck_assert_uint_eq(got.r[0].headers_len, h.len);
	ck_assert_mem_eq(got.r[0].headers, h.p, h.len);
	tb_free(&b);
	tb_free(&h);
}
END_TEST

START_TEST(test_log_append_time)
{
	struct tbuf	 b = { NULL, 0, 0 };
	struct bopt	 o = { .base = 0, .attr = ATTR_LOG_APPEND,
			    .base_ts = 1000, .max_ts = 424242 };
	struct bopt	 c = { .base = 3, .base_ts = 1000 };
	int		 i;

	enc_batch(&b, &o, simple_recs(3), 3);
	enc_batch(&b, &c, simple_recs(3), 3);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), 0);
	check_ok();
	ck_assert_uint_eq(got.n, 6);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(got.r[i].timestamp, 424242);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(got.r[3 + i].timestamp, 1000 + i);
	tb_free(&b);
}
END_TEST

START_TEST(test_control_batch)
{
	struct tbuf	 b = { NULL, 0, 0 };
	struct trec	 ctl = { .key = "\0\0\0\1", .klen = 4,
			    .val = "\0\0\0\0\0\0", .vlen = 6 };
	struct bopt	 o = { .base = 0 };

	enc_batch(&b, &o, simple_recs(2), 2);
	o.base = 2;
	o.attr = ATTR_CONTROL | 0x10;
	enc_batch(&b, &o, &ctl, 1);
	o.base = 3;
	o.attr = 0;
	enc_batch(&b, &o, simple_recs(2), 2);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), 0);
	check_ok();
	ck_assert_uint_eq(got.n, 4);
	ck_assert_int_eq(got.r[1].offset, 1);
	ck_assert_int_eq(got.r[2].offset, 3);
	ck_assert_int_eq(info.next_offset, 5);

	/* A control batch alone still advances the position. */
	b.len = 0;
	o.base = 7;
	o.attr = ATTR_CONTROL;
	enc_batch(&b, &o, &ctl, 1);
	ck_assert_int_eq(run(b.p, b.len, 7, 0), 0);
	ck_assert_uint_eq(info.delivered, 0);
	ck_assert_int_eq(info.next_offset, 8);
	tb_free(&b);
}
END_TEST

START_TEST(test_empty_and_compacted)
{
	struct tbuf	 b = { NULL, 0, 0 };
	struct bopt	 o = { .base = 10, .set_last = 1, .last_delta = 4 };
	struct trec	*r = simple_recs(3);

	/* recordsCount 0, as compaction can leave. */
	enc_batch(&b, &o, NULL, 0);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), 0);
	check_ok();
	ck_assert_uint_eq(info.delivered, 0);
	ck_assert_int_eq(info.next_offset, 15);

	/* Gaps and a compacted tail: next is after lastOffsetDelta. */
	r[1].odelta = 2;
	r[2].odelta = 3;
	b.len = 0;
	o.base = 20;
	o.last_delta = 9;
	enc_batch(&b, &o, r, 3);
	ck_assert_int_eq(run(b.p, b.len, 21, 0), 0);
	check_ok();
	ck_assert_uint_eq(got.n, 2);
	check_simple(&got.r[0], 22, 1);
	check_simple(&got.r[1], 23, 2);
	ck_assert_int_eq(info.next_offset, 30);
	tb_free(&b);
}
END_TEST

START_TEST(test_stop)
{
	struct tbuf	 b = { NULL, 0, 0 };
	struct bopt	 o = { .base = 50, .codec = T_GZIP };

	enc_batch(&b, &o, simple_recs(3), 3);
	o.base = 53;
	enc_batch(&b, &o, simple_recs(3), 3);

	ck_assert_int_eq(run(b.p, b.len, 0, 2), 0);
	check_ok();
	ck_assert_int_eq(info.stopped, 1);
	ck_assert_uint_eq(info.delivered, 2);
	ck_assert_int_eq(info.next_offset, 52);

	/* Stop on the last record of a batch. */
	ck_assert_int_eq(run(b.p, b.len, 0, 3), 0);
	ck_assert_int_eq(info.stopped, 1);
	ck_assert_int_eq(info.next_offset, 53);

	/* Stop on the first record delivered, from the middle. */
	ck_assert_int_eq(run(b.p, b.len, 54, 1), 0);
	ck_assert_int_eq(info.stopped, 1);
	ck_assert_uint_eq(info.delivered, 1);
	ck_assert_int_eq(got.r[0].offset, 54);
	ck_assert_int_eq(info.next_offset, 55);
	tb_free(&b);
}
END_TEST

START_TEST(test_truncated_every_cut)
{
	static const int codecs[] = { T_NONE, T_GZIP, T_ZSTD, T_XERIAL };
	struct tbuf	 b = { NULL, 0, 0 };
	struct bopt	 o = { .base = 0, .codec = codecs[_i] };
	size_t		 len1, cut;
	int		 i;

	len1 = enc_batch(&b, &o, simple_recs(3), 3);
	o.base = 3;
	enc_batch(&b, &o, simple_recs(4), 4);
	for (cut = 0; cut <= b.len; cut++) {
		ck_assert_int_eq(run(b.p, cut, 0, 0), 0);
		check_ok();
		if (cut < len1) {
			ck_assert_uint_eq(info.delivered, 0);
			ck_assert_int_eq(info.next_offset, 0);
			ck_assert_int_eq(info.truncated, cut > 0);
		} else if (cut < b.len) {
			ck_assert_uint_eq(info.delivered, 3);
			for (i = 0; i < 3; i++)
				check_simple(&got.r[i], i, i);
			ck_assert_int_eq(info.next_offset, 3);
			ck_assert_int_eq(info.truncated, cut > len1);
		} else {
			ck_assert_uint_eq(info.delivered, 7);
			ck_assert_int_eq(info.next_offset, 7);
			ck_assert_int_eq(info.truncated, 0);
		}
		kafka_arena_free(&arena);
	}
	tb_free(&b);
}
END_TEST

START_TEST(test_crc_mismatch)
{
	struct tbuf	 b = { NULL, 0, 0 };
	struct bopt	 o = { .base = 40 };
	char		 want[64];
	uint32_t	 stored;
	size_t		 len1, i;

	len1 = enc_batch(&b, &o, simple_recs(3), 3);
	o.base = 43;
	enc_batch(&b, &o, simple_recs(3), 3);

	/* Any covered byte (and the CRC itself) in the first batch. */
	for (i = 17; i < len1; i++) {
		b.p[i] ^= 0x40;
		ck_assert_int_eq(run(b.p, b.len, 0, 0), -1);
		ck_assert_int_eq(info.err, KAFKA_RECORDS_ECRC);
		ck_assert_uint_eq(info.delivered, 0);
		ck_assert_int_eq(info.next_offset, 0);
		b.p[i] ^= 0x40;
	}
	/* In the second: the first stays delivered, next points at it. */
	b.p[b.len - 1] ^= 1;
	stored = ((uint32_t)b.p[len1 + 17] << 24) |
	    ((uint32_t)b.p[len1 + 18] << 16) | ((uint32_t)b.p[len1 + 19] << 8) |
	    b.p[len1 + 20];
	ck_assert_int_eq(run(b.p, b.len, 0, 0), -1);
	ck_assert_int_eq(info.err, KAFKA_RECORDS_ECRC);
	ck_assert_uint_eq(info.delivered, 3);
	ck_assert_int_eq(info.next_offset, 43);
	ck_assert_ptr_nonnull(strstr(info.errmsg, "offset 43"));
	snprintf(want, sizeof(want), "0x%08x", stored);
	ck_assert_ptr_nonnull(strstr(info.errmsg, want));
	snprintf(want, sizeof(want), "0x%08x", ref_crc32c(b.p + len1 + 21,
	    b.len - len1 - 21));
	ck_assert_ptr_nonnull(strstr(info.errmsg, want));
	tb_free(&b);
}
END_TEST

/* codecs */

static const int all_codecs[] = {
	T_GZIP, T_SNAPPY, T_XERIAL, T_LZ4, T_ZSTD, T_ZSTD_STREAM
};

START_TEST(test_codec_roundtrip)
{
	struct tbuf	 b = { NULL, 0, 0 }, h = { NULL, 0, 0 };
	struct trec	 r[40];
	struct bopt	 o = { .base = 1000, .codec = all_codecs[_i],
			    .base_ts = 77 };
	char		 key[40][16];
	uint8_t		*big;
	size_t		 bigl = 100 * 1024, i;

	big = malloc(bigl);
	ck_assert_ptr_nonnull(big);
	for (i = 0; i < bigl; i++)
		big[i] = (uint8_t)("abcdefgh"[rng() % 8] + (i % 3));
	for (i = 0; i < 40; i++) {
		snprintf(key[i], sizeof(key[i]), "key-%zu", i);
		r[i] = (struct trec){ .odelta = (int32_t)i,
		    .tsdelta = (int64_t)i * 10, .key = key[i],
		    .klen = (int32_t)strlen(key[i]), .val = big,
		    .vlen = (int32_t)(i * 97 % 5000), .nhdr = (int)(i % 3) };
	}
	r[7].klen = -1;
	r[8].vlen = -1;
	/* Several xerial blocks; output buffer growth. */
	r[20].vlen = (int32_t)bigl;
	enc_batch(&b, &o, r, 40);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), 0);
	check_ok();
	ck_assert_uint_eq(got.n, 40);
	ck_assert_uint_gt(arena.total, 0);
	for (i = 0; i < 40; i++) {
		check_rec(&got.r[i], 1000 + (int64_t)i, r[i].key, r[i].klen,
		    big, r[i].vlen);
		ck_assert_int_eq(got.r[i].timestamp, 77 + (int64_t)i * 10);
		ck_assert_uint_eq(got.r[i].header_count, (unsigned)r[i].nhdr);
		h.len = 0;
		enc_headers(&h, r[i].nhdr);
		ck_assert_uint_eq(got.r[i].headers_len, h.len);
		if (h.len > 0)
			ck_assert_mem_eq(got.r[i].headers, h.p, h.len);
		/* Views into the decompressed buffer, not the input. */
		if (r[i].vlen > 0)
			ck_assert(got.r[i].value < copy ||
			    got.r[i].value >= copy + b.len);
	}
	ck_assert_int_eq(info.next_offset, 1040);

	/* From the middle of a compressed batch. */
	kafka_arena_free(&arena);
	ck_assert_int_eq(run(b.p, b.len, 1030, 0), 0);
	check_ok();
	ck_assert_uint_eq(got.n, 10);
	ck_assert_int_eq(got.r[0].offset, 1030);
	ck_assert_int_eq(info.next_offset, 1040);

	/* Wholly below the minimum: not even decompressed. */
	kafka_arena_free(&arena);
	ck_assert_int_eq(run(b.p, b.len, 1040, 0), 0);
	ck_assert_uint_eq(got.n, 0);
	ck_assert_uint_eq(arena.total, 0);
	ck_assert_int_eq(info.next_offset, 1040);
	free(big);
	tb_free(&b);
	tb_free(&h);
}
END_TEST

START_TEST(test_codec_truncated_payload)
{
	struct tbuf	 b = { NULL, 0, 0 };
	struct bopt	 o = { .base = 0, .codec = all_codecs[_i] };

	enc_batch(&b, &o, simple_recs(20), 20);
	/* A cut compressed stream inside an intact (re-CRCed) batch. */
	b.len -= 5;
	fix_batch(&b, 0, b.len);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), -1);
	ck_assert_msg(info.err == KAFKA_RECORDS_ECODEC, "err %d: %s",
	    info.err, info.errmsg);
	ck_assert_uint_eq(info.delivered, 0);
	ck_assert_uint_eq(arena.total, 0);
	tb_free(&b);
}
END_TEST

START_TEST(test_codec_unknown)
{
	struct tbuf	 b = { NULL, 0, 0 };
	struct bopt	 o = { .base = 0, .attr = 5 };

	enc_batch(&b, &o, simple_recs(2), 2);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), -1);
	ck_assert_int_eq(info.err, KAFKA_RECORDS_ECODEC);
	ck_assert_uint_eq(info.delivered, 0);
	tb_free(&b);
}
END_TEST

START_TEST(test_codec_concatenated)
{
	struct tbuf	 b = { NULL, 0, 0 }, raw = { NULL, 0, 0 };
	struct trec	*r = simple_recs(4);
	size_t		 i, start;
	static const int codecs[] = { T_GZIP, T_LZ4, T_ZSTD };

	/* Two streams back to back, as concatenated gzip members, lz4
	 * frames or zstd frames are decoded. */
	for (i = 0; i < 3; i++) {
		b.len = 0;
		raw.len = 0;
		enc_record(&raw, &r[0]);
		enc_record(&raw, &r[1]);
		start = raw.len;
		enc_record(&raw, &r[2]);
		enc_record(&raw, &r[3]);
		tb_be64(&b, 0);
		tb_be32(&b, 0);
		tb_be32(&b, 0);
		tb_u8(&b, 2);
		tb_be32(&b, 0);
		tb_be16(&b, (uint16_t)codecs[i]);
		tb_be32(&b, 3);
		tb_be64(&b, 0);
		tb_be64(&b, 0);
		tb_be64(&b, UINT64_MAX);
		tb_be16(&b, 0xffff);
		tb_be32(&b, 0xffffffffU);
		tb_be32(&b, 4);
		tcompress(&b, codecs[i], raw.p, start);
		tcompress(&b, codecs[i], raw.p + start, raw.len - start);
		fix_batch(&b, 0, b.len);
		ck_assert_int_eq(run(b.p, b.len, 0, 0), 0);
		check_ok();
		ck_assert_uint_eq(got.n, 4);
		check_simple(&got.r[3], 3, 3);
	}
	tb_free(&b);
	tb_free(&raw);
}
END_TEST

/* legacy */

START_TEST(test_legacy_golden)
{
	ck_assert_uint_eq((uint32_t)crc32(0, golden_v1 + 16,
	    sizeof(golden_v1) - 16), 0x1cff7dfcU);
	ck_assert_int_eq(run(golden_v1, sizeof(golden_v1), 0, 0), 0);
	check_ok();
	ck_assert_uint_eq(got.n, 1);
	check_rec(&got.r[0], 7, NULL, -1, "abc", 3);
	ck_assert_int_eq(got.r[0].timestamp, 1700000000000LL);
	ck_assert_uint_eq(got.r[0].header_count, 0);
	ck_assert_uint_eq(got.r[0].headers_len, 0);
	ck_assert_int_eq(info.next_offset, 8);
}
END_TEST

START_TEST(test_legacy_plain)
{
	struct tbuf	 b = { NULL, 0, 0 };
	int		 magic = _i;

	enc_msg(&b, magic, 10, 0, 111, "k0", 2, "v0", 2);
	enc_msg(&b, magic, 11, 0, 222, NULL, -1, "v1", 2);
	enc_msg(&b, magic, 12, 0, 333, "k2", 2, NULL, -1);
	ck_assert_int_eq(run(b.p, b.len, 11, 0), 0);
	check_ok();
	ck_assert_uint_eq(got.n, 2);
	check_rec(&got.r[0], 11, NULL, -1, "v1", 2);
	check_rec(&got.r[1], 12, "k2", 2, NULL, -1);
	ck_assert_int_eq(got.r[0].timestamp, magic == 1 ? 222 : -1);
	ck_assert_int_eq(info.next_offset, 13);
	run(b.p, b.len, 0, 0);
	ck_assert_uint_eq(got.n, 3);
	check_rec(&got.r[0], 10, "k0", 2, "v0", 2);

	ck_assert_int_eq(run(b.p, b.len, 0, 2), 0);
	ck_assert_int_eq(info.stopped, 1);
	ck_assert_int_eq(info.next_offset, 12);

	/* A cut last message is a truncated tail. */
	ck_assert_int_eq(run(b.p, b.len - 1, 0, 0), 0);
	ck_assert_uint_eq(got.n, 2);
	ck_assert_int_eq(info.truncated, 1);
	ck_assert_int_eq(info.next_offset, 12);

	/* A CRC error. */
	b.p[b.len - 1] ^= 1;
	ck_assert_int_eq(run(b.p, b.len, 0, 0), -1);
	ck_assert_int_eq(info.err, KAFKA_RECORDS_ECRC);
	ck_assert_uint_eq(got.n, 2);
	ck_assert_int_eq(info.next_offset, 12);
	tb_free(&b);
}
END_TEST

/* Compress the message set in and wrap it at offset woff. */
static size_t
wrap(struct tbuf *b, int magic, int64_t woff, int codec, int attr,
    int64_t ts, const struct tbuf *in)
{
	struct tbuf	 z = { NULL, 0, 0 };
	size_t		 n;

	tcompress(&z, codec, in->p, in->len);
	n = enc_msg(b, magic, woff, (codec % 100) | attr, ts, NULL, -1, z.p,
	    (int32_t)z.len);
	tb_free(&z);
	return n;
}

/* A wrapper at offset 22 holding three messages (20, 21, 22). */
static size_t
enc_wrapper(struct tbuf *b, int magic, int codec, int attr, int64_t ts)
{
	struct tbuf	 in = { NULL, 0, 0 };
	size_t		 n;
	int		 i;
	char		 k[16], v[16];

	for (i = 0; i < 3; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		snprintf(v, sizeof(v), "v%d", i);
		/* Magic 1 inner offsets are relative, magic 0 absolute. */
		enc_msg(&in, magic, magic == 1 ? i : 20 + i, 0, 1000 + i,
		    k, 2, v, 2);
	}
	n = wrap(b, magic, 22, codec, attr, ts, &in);
	tb_free(&in);
	return n;
}

START_TEST(test_legacy_wrapper)
{
	static const int codecs[] = { T_GZIP, T_XERIAL, T_SNAPPY, T_LZ4 };
	struct tbuf	 b = { NULL, 0, 0 };
	int		 magic = _i / 4, codec = codecs[_i % 4], i;

	enc_msg(&b, magic, 19, 0, 5, NULL, -1, "x", 1);
	enc_wrapper(&b, magic, codec, 0, 9999);
	enc_msg(&b, magic, 23, 0, 5, NULL, -1, "y", 1);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), 0);
	check_ok();
	ck_assert_uint_eq(got.n, 5);
	check_rec(&got.r[0], 19, NULL, -1, "x", 1);
	for (i = 0; i < 3; i++) {
		check_simple(&got.r[1 + i], 20 + i, i);
		ck_assert_int_eq(got.r[1 + i].timestamp,
		    magic == 1 ? 1000 + i : -1);
	}
	check_rec(&got.r[4], 23, NULL, -1, "y", 1);
	ck_assert_int_eq(info.next_offset, 24);

	ck_assert_int_eq(run(b.p, b.len, 21, 0), 0);
	check_ok();
	ck_assert_uint_eq(got.n, 3);
	check_simple(&got.r[0], 21, 1);
	ck_assert_int_eq(info.next_offset, 24);
	tb_free(&b);
}
END_TEST

START_TEST(test_legacy_log_append_time)
{
	struct tbuf	 b = { NULL, 0, 0 };
	size_t		 i;

	enc_wrapper(&b, 1, T_GZIP, ATTR_LOG_APPEND, 5555);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), 0);
	check_ok();
	ck_assert_uint_eq(got.n, 3);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(got.r[i].timestamp, 5555);
	tb_free(&b);
}
END_TEST

START_TEST(test_legacy_lz4_broken_hc)
{
	struct tbuf	 in = { NULL, 0, 0 }, z = { NULL, 0, 0 };
	struct tbuf	 b = { NULL, 0, 0 };
	size_t		 hc;
	int		 magic, sized;

	for (magic = 0; magic <= 1; magic++)
		for (sized = 0; sized <= 1; sized++) {
			in.len = z.len = b.len = 0;
			enc_msg(&in, magic, magic ? 0 : 30, 0, 1, "k", 1,
			    "v", 1);
			tcompress(&z, sized ? T_LZ4_SIZE : T_LZ4, in.p, in.len);
			/* magic, FLG, BD, [content size], HC */
			ck_assert_int_eq(z.p[4] & 0x09, sized ? 0x08 : 0);
			hc = sized ? 14 : 6;
			z.p[hc] ^= 0x5a;	/* as KAFKA-3160 writers */
			enc_msg(&b, magic, 30, T_LZ4, 1, NULL, -1, z.p,
			    (int32_t)z.len);
			if (magic == 0) {
				/* Not verified for magic 0. */
				ck_assert_int_eq(run(b.p, b.len, 0, 0), 0);
				check_ok();
				ck_assert_uint_eq(got.n, 1);
				check_rec(&got.r[0], 30, "k", 1, "v", 1);
			} else {
				ck_assert_int_eq(run(b.p, b.len, 0, 0), -1);
				ck_assert_int_eq(info.err,
				    KAFKA_RECORDS_ECODEC);
			}
		}
	tb_free(&in);
	tb_free(&z);
	tb_free(&b);
}
END_TEST

START_TEST(test_legacy_inner_errors)
{
	struct tbuf	 in = { NULL, 0, 0 }, b = { NULL, 0, 0 };

	/* Inner offsets must grow. */
	enc_msg(&in, 1, 0, 0, 1, NULL, -1, "a", 1);
	enc_msg(&in, 1, 0, 0, 1, NULL, -1, "b", 1);
	wrap(&b, 1, 10, T_GZIP, 0, 0, &in);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), -1);
	ck_assert_int_eq(info.err, KAFKA_RECORDS_ECORRUPT);
	ck_assert_uint_eq(got.n, 0);

	/* Relative offsets reaching below 0. */
	in.len = b.len = 0;
	enc_msg(&in, 1, 0, 0, 1, NULL, -1, "a", 1);
	enc_msg(&in, 1, 5, 0, 1, NULL, -1, "b", 1);
	wrap(&b, 1, 4, T_GZIP, 0, 0, &in);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), -1);
	ck_assert_int_eq(info.err, KAFKA_RECORDS_ECORRUPT);

	/* A cut inner message is corrupt, not a truncated tail. */
	in.len = b.len = 0;
	enc_msg(&in, 1, 0, 0, 1, NULL, -1, "a", 1);
	enc_msg(&in, 1, 1, 0, 1, NULL, -1, "b", 1);
	in.len--;
	wrap(&b, 1, 1, T_GZIP, 0, 0, &in);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), -1);
	ck_assert_int_eq(info.err, KAFKA_RECORDS_ECORRUPT);
	ck_assert_uint_eq(got.n, 0);

	/* An inner CRC error. */
	in.len++;
	in.p[in.len - 1] ^= 1;
	b.len = 0;
	wrap(&b, 1, 1, T_GZIP, 0, 0, &in);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), -1);
	ck_assert_int_eq(info.err, KAFKA_RECORDS_ECRC);
	ck_assert_ptr_nonnull(strstr(info.errmsg, "inner message 1"));

	/* A negative offset. */
	b.len = 0;
	enc_msg(&b, 1, -2, 0, 0, NULL, -1, "x", 1);
	ck_assert_int_eq(run(b.p, b.len, -5, 0), -1);
	ck_assert_int_eq(info.err, KAFKA_RECORDS_ECORRUPT);

	/* A magic 0 lz4 value too short for a frame header. */
	b.len = 0;
	enc_msg(&b, 0, 1, T_LZ4, 0, NULL, -1, "\x04\x22\x4d\x18\x68", 5);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), -1);
	ck_assert_int_eq(info.err, KAFKA_RECORDS_ECODEC);

	/* zstd does not exist for magic 0 and 1. */
	in.p[in.len - 1] ^= 1;
	b.len = 0;
	enc_msg(&b, 1, 1, T_ZSTD, 0, NULL, -1, "x", 1);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), -1);
	ck_assert_int_eq(info.err, KAFKA_RECORDS_ECODEC);

	/* Magic 0: absolute inner offsets past the wrapper's still count;
	 * a wrapper wholly below min_offset is skipped undecompressed. */
	in.len = b.len = 0;
	enc_msg(&in, 0, 7, 0, 0, NULL, -1, "a", 1);
	enc_msg(&in, 0, 9, 0, 0, NULL, -1, "b", 1);
	wrap(&b, 0, 8, T_GZIP, 0, 0, &in);
	in.len = 0;
	enc_msg(&in, 0, 11, 0, 0, NULL, -1, "c", 1);
	enc_msg(&in, 0, 12, 0, 0, NULL, -1, "d", 1);
	wrap(&b, 0, 12, T_GZIP, 0, 0, &in);
	ck_assert_int_eq(run(b.p, b.len, 8, 0), 0);
	check_ok();
	ck_assert_uint_eq(got.n, 3);
	ck_assert_int_eq(got.r[0].offset, 9);
	ck_assert_int_eq(got.r[1].offset, 11);
	ck_assert_int_eq(info.next_offset, 13);
	ck_assert_int_eq(run(b.p, b.len, 0, 1), 0);
	ck_assert_int_eq(info.next_offset, 8);
	kafka_arena_free(&arena);
	ck_assert_int_eq(run(b.p, b.len, 13, 0), 0);
	ck_assert_uint_eq(got.n, 0);
	ck_assert_uint_eq(arena.total, 0);
	ck_assert_int_eq(info.next_offset, 13);
	tb_free(&in);
	tb_free(&b);
}
END_TEST

START_TEST(test_legacy_nested)
{
	struct tbuf	 in = { NULL, 0, 0 }, z = { NULL, 0, 0 };
	struct tbuf	 b = { NULL, 0, 0 };

	enc_wrapper(&in, 1, T_GZIP, 0, 0);
	tcompress(&z, T_GZIP, in.p, in.len);
	enc_msg(&b, 1, 22, T_GZIP, 0, NULL, -1, z.p, (int32_t)z.len);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), -1);
	ck_assert_int_eq(info.err, KAFKA_RECORDS_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(info.errmsg, "nested"));
	ck_assert_uint_eq(got.n, 0);
	ck_assert_uint_eq(arena.total, 0);

	/* A compressed wrapper without a value. */
	b.len = 0;
	enc_msg(&b, 1, 22, T_GZIP, 0, NULL, -1, NULL, -1);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), -1);
	ck_assert_int_eq(info.err, KAFKA_RECORDS_ECORRUPT);
	tb_free(&in);
	tb_free(&z);
	tb_free(&b);
}
END_TEST

START_TEST(test_legacy_then_v2)
{
	struct tbuf	 b = { NULL, 0, 0 };
	struct bopt	 o = { .base = 23, .codec = T_LZ4 };

	enc_wrapper(&b, 1, T_SNAPPY, 0, 0);
	enc_batch(&b, &o, simple_recs(2), 2);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), 0);
	check_ok();
	ck_assert_uint_eq(got.n, 5);
	check_simple(&got.r[2], 22, 2);
	check_simple(&got.r[4], 24, 1);
	ck_assert_int_eq(info.next_offset, 25);
	tb_free(&b);
}
END_TEST

/* limits */

static void
zero_batch(struct tbuf *b, int codec, int64_t base, size_t vlen)
{
	struct trec	 r = { .klen = -1, .vlen = (int32_t)vlen };
	struct bopt	 o = { .base = base, .codec = codec };
	uint8_t		*z;

	z = calloc(1, vlen);
	ck_assert_ptr_nonnull(z);
	r.val = z;
	enc_batch(b, &o, &r, 1);
	free(z);
}

START_TEST(test_arena_cap)
{
	struct tbuf	 b = { NULL, 0, 0 };
	size_t		 caps[] = { 64 * 1024, 100 * 1024 }, i;

	zero_batch(&b, all_codecs[_i], 0, 1024 * 1024);
	for (i = 0; i < 2; i++) {
		kafka_arena_init(&arena, caps[i]);
		ck_assert_int_eq(run(b.p, b.len, 0, 0), -1);
		ck_assert_msg(info.err == KAFKA_RECORDS_ETOOBIG, "err %d: %s",
		    info.err, info.errmsg);
		ck_assert_uint_eq(info.delivered, 0);
		ck_assert_uint_eq(arena.total, 0);
	}

	/* The default cap (64 MiB) holds it. */
	kafka_arena_init(&arena, 0);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), 0);
	check_ok();
	ck_assert_int_eq(got.r[0].value_len, 1024 * 1024);
	ck_assert_uint_ge(arena.total, 1024 * 1024);
	ck_assert_uint_le(arena.total, 1024 * 1024 + 64);
	tb_free(&b);
}
END_TEST

START_TEST(test_arena_cumulative)
{
	struct tbuf	 b = { NULL, 0, 0 };

	zero_batch(&b, T_ZSTD_STREAM, 0, 40 * 1024);
	zero_batch(&b, T_ZSTD_STREAM, 1, 40 * 1024);
	kafka_arena_init(&arena, 64 * 1024);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), -1);
	ck_assert_int_eq(info.err, KAFKA_RECORDS_ETOOBIG);
	ck_assert_uint_eq(info.delivered, 1);
	ck_assert_int_eq(info.next_offset, 1);
	ck_assert_uint_le(arena.total, 64 * 1024);
	tb_free(&b);
}
END_TEST

START_TEST(test_record_overruns_batch)
{
	struct tbuf	 b = { NULL, 0, 0 };
	struct bopt	 o = { .base = 0 };

	enc_batch(&b, &o, simple_recs(1), 1);
	/* The record's length varint (first byte after the header). */
	ck_assert_int_eq(b.p[61], 2 * 10);
	b.p[61] = 2 * 60;
	fix_batch(&b, 0, b.len);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), -1);
	ck_assert_int_eq(info.err, KAFKA_RECORDS_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(info.errmsg, "record 0"));
	ck_assert_uint_eq(info.delivered, 0);

	/* Shorter than its fields. */
	b.p[61] = 2 * 5;
	fix_batch(&b, 0, b.len);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), -1);
	ck_assert_int_eq(info.err, KAFKA_RECORDS_ECORRUPT);
	tb_free(&b);
}
END_TEST

START_TEST(test_count_mismatch)
{
	struct tbuf	 b = { NULL, 0, 0 };
	struct bopt	 o = { .base = 0, .set_count = 1, .count = 3,
			    .set_last = 1, .last_delta = 5 };

	/* More declared than present. */
	enc_batch(&b, &o, simple_recs(2), 2);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), -1);
	ck_assert_int_eq(info.err, KAFKA_RECORDS_ECORRUPT);
	ck_assert_uint_eq(info.delivered, 0);

	/* Fewer declared than present: trailing bytes. */
	b.len = 0;
	o.count = 1;
	enc_batch(&b, &o, simple_recs(2), 2);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), -1);
	ck_assert_int_eq(info.err, KAFKA_RECORDS_ECORRUPT);
	ck_assert_uint_eq(info.delivered, 0);

	/* More records than offsets up to lastOffsetDelta. */
	b.len = 0;
	o.count = 3;
	o.last_delta = 1;
	enc_batch(&b, &o, simple_recs(3), 3);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), -1);
	ck_assert_int_eq(info.err, KAFKA_RECORDS_ECORRUPT);
	tb_free(&b);
}
END_TEST

START_TEST(test_batch_atomic)
{
	struct tbuf	 b = { NULL, 0, 0 };
	struct bopt	 o = { .base = 0 };
	struct trec	*r = simple_recs(4);

	enc_batch(&b, &o, r, 2);
	/* The last record's offset delta goes backwards. */
	r[3].odelta = 1;
	o.base = 2;
	o.set_last = 1;
	o.last_delta = 3;
	enc_batch(&b, &o, r, 4);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), -1);
	ck_assert_int_eq(info.err, KAFKA_RECORDS_ECORRUPT);
	/* Only the good batch; nothing of the bad one. */
	ck_assert_uint_eq(info.delivered, 2);
	ck_assert_int_eq(info.next_offset, 2);
	ck_assert_ptr_nonnull(strstr(info.errmsg, "offset 2"));
	tb_free(&b);
}
END_TEST

START_TEST(test_bad_framing)
{
	struct tbuf	 b = { NULL, 0, 0 };
	struct bopt	 o = { .base = 0 };
	size_t		 n;

	/* batchLength below any format's minimum. */
	n = enc_batch(&b, &o, simple_recs(1), 1);
	tb_put32(&b, 8, 13);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), -1);
	ck_assert_int_eq(info.err, KAFKA_RECORDS_ECORRUPT);
	tb_put32(&b, 8, 0xffffffffU);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), -1);
	ck_assert_int_eq(info.err, KAFKA_RECORDS_ECORRUPT);

	/* Magic 2 with a batchLength below its header. */
	tb_put32(&b, 8, 30);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), -1);
	ck_assert_int_eq(info.err, KAFKA_RECORDS_ECORRUPT);

	/* Unknown magic. */
	tb_put32(&b, 8, (uint32_t)(n - 12));
	b.p[16] = 3;
	ck_assert_int_eq(run(b.p, b.len, 0, 0), -1);
	ck_assert_int_eq(info.err, KAFKA_RECORDS_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(info.errmsg, "magic 3"));
	b.p[16] = 0xff;
	ck_assert_int_eq(run(b.p, b.len, 0, 0), -1);
	ck_assert_int_eq(info.err, KAFKA_RECORDS_ECORRUPT);
	tb_free(&b);
}
END_TEST

START_TEST(test_bad_lengths)
{
	struct tbuf	 b = { NULL, 0, 0 };
	struct bopt	 o = { .base = 0 };
	struct trec	 r = { .key = "k", .klen = 1, .val = "v", .vlen = 1 };

	/* Key length -2 (zig-zag 3) in place of 1 (zig-zag 2). */
	enc_batch(&b, &o, &r, 1);
	ck_assert_int_eq(b.p[65], 2);
	b.p[65] = 3;
	fix_batch(&b, 0, b.len);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), -1);
	ck_assert_int_eq(info.err, KAFKA_RECORDS_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(info.errmsg, "key length"));

	/* A negative header count. */
	b.len = 0;
	enc_batch(&b, &o, &r, 1);
	ck_assert_int_eq(b.p[b.len - 1], 0);
	b.p[b.len - 1] = 1;
	fix_batch(&b, 0, b.len);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), -1);
	ck_assert_int_eq(info.err, KAFKA_RECORDS_ECORRUPT);

	/* Negative baseOffset. */
	b.len = 0;
	o.base = -5;
	enc_batch(&b, &o, &r, 1);
	ck_assert_int_eq(run(b.p, b.len, 0, 0), -1);
	ck_assert_int_eq(info.err, KAFKA_RECORDS_ECORRUPT);
	tb_free(&b);
}
END_TEST

START_TEST(test_garbage)
{
	uint8_t		 buf[600];
	unsigned	 sum = 0;
	size_t		 len, i;
	int		 iter, rc;

	for (iter = 0; iter < 20000; iter++) {
		len = rng() % sizeof(buf);
		for (i = 0; i < len; i++)
			buf[i] = (uint8_t)rng();
		/* Half the time, frame it so the batch code is reached. */
		if (iter % 2 && len >= 17) {
			buf[8] = buf[9] = 0;
			buf[10] = (uint8_t)((len - 12) >> 8);
			buf[11] = (uint8_t)(len - 12);
			buf[16] = (uint8_t)(rng() % 3);
		}
		free(copy);
		copy = malloc(len ? len : 1);
		memcpy(copy, buf, len);
		rc = kafka_records_decode(copy, len, 0, &arena, touch, &sum,
		    &info);
		ck_assert(rc == 0 || rc == -1);
		ck_assert_int_eq(rc == -1, info.err != KAFKA_RECORDS_OK);
		kafka_arena_free(&arena);
	}
}
END_TEST

START_TEST(test_mutations)
{
	static const int codecs[] = { T_NONE, T_GZIP, T_SNAPPY, T_XERIAL,
	    T_LZ4, T_ZSTD, T_ZSTD_STREAM };
	static const struct kafka_aborted_txn ab[] = { { -1, 5 }, { -1, 0 },
	    { 3, 3 } };
	struct tbuf	 b = { NULL, 0, 0 }, m = { NULL, 0, 0 };
	struct bopt	 o = { .base = 3, .codec = codecs[_i] };
	struct trec	*r = simple_recs(12);
	unsigned	 sum = 0;
	size_t		 len1, end1, pos, cut;
	int		 iter, k, op;

	r[4].nhdr = 2;
	len1 = enc_batch(&b, &o, r, 12);
	/* Raw snappy keeps literals, so edits reach the inner messages. */
	enc_wrapper(&b, 1, T_SNAPPY, 0, 0);
	for (iter = 0; iter < 3000; iter++) {
		m.len = 0;
		tb_raw(&m, b.p, b.len);
		end1 = len1;
		/*
		 * Edit, then make the CRCs right again, so that the edit
		 * reaches the codecs and the record parsers.
		 */
		op = (int)(rng() % 3);
		if (op == 2) {
			/* Cut bytes out of the batch's records. */
			cut = 1 + rng() % 8;
			pos = 61 + rng() % (len1 - 61 - cut);
			memmove(m.p + pos, m.p + pos + cut, m.len - pos - cut);
			m.len -= cut;
			end1 -= cut;
		} else
			for (k = 0; k < 1 + (int)(rng() % 4); k++) {
				if (op == 0)
					pos = 21 + rng() % (len1 - 21);
				else
					pos = len1 + 17 +
					    rng() % (m.len - len1 - 17);
				m.p[pos] ^= (uint8_t)(1 + rng() % 255);
			}
		fix_batch(&m, 0, end1);
		tb_put32(&m, end1 + 12, (uint32_t)crc32(0, m.p + end1 + 16,
		    (uInt)(m.len - end1 - 16)));
		free(copy);
		copy = malloc(m.len);
		memcpy(copy, m.p, m.len);
		kafka_arena_init(&arena, 256 * 1024);
		/* Half the time read_committed, the batch's producer (-1)
		 * aborted: edits to its attributes reach the skip paths. */
		if (iter % 2)
			(void)kafka_records_decode_txn(copy, m.len, 0, ab,
			    NELEM(ab), &arena, touch, &sum, &info);
		else
			(void)kafka_records_decode(copy, m.len, 0, &arena,
			    touch, &sum, &info);
		ck_assert_uint_le(arena.total, 256 * 1024);
		kafka_arena_free(&arena);
	}
	tb_free(&b);
	tb_free(&m);
}
END_TEST

/*
 * read_committed.  A scenario is a partition's log: batches of simple
 * records or one control record each, and the aborted transactions a
 * broker knows about, each with the offset of its ABORT marker, so that a
 * simulated broker can answer a fetch from any offset as Kafka does: from
 * the batch holding that offset, at least that whole batch (KIP-74), with
 * the aborted transactions that end at or after it
 * (collectAbortedTransactions).
 */

#define MARK_ABORT	0
#define MARK_COMMIT	1
#define NOPID		(-1)

struct tbatch {
	int64_t		 base;
	int64_t		 pid;		/* NOPID: none */
	int		 attr;		/* ATTR_TXN, ATTR_CONTROL */
	int		 n;		/* records; control batches: 1 */
	int		 mark;		/* control: MARK_* */
	int		 codec;
};

struct tabort {
	int64_t		 pid;
	int64_t		 first;
	int64_t		 last;		/* offset of its ABORT marker */
};

struct scen {
	const struct tbatch	*b;
	int			 nb;
	const struct tabort	*ab;
	int			 nab;
	const int64_t		*want;		/* offsets delivered */
	int			 nwant;
	size_t			 skipped;	/* info.skipped_aborted */
	int64_t			 next;		/* final next_offset */
};

#define SCEN(b, ab, want, nwant, skipped, next)			\
	{ b, (int)NELEM(b), ab, (int)NELEM(ab), want, nwant, skipped, next }

/* Offsets after the batch. */
static int64_t
tb_end(const struct tbatch *b)
{
	return b->base + b->n;
}

/* Encode the log; starts[i] is where batch i begins, starts[nb] the end. */
static void
scen_build(const struct scen *sc, struct tbuf *buf, size_t *starts)
{
	static const struct trec abort_rec = { .key = "\0\0\0\0", .klen = 4,
			    .val = "\0\0\0\0\0\5", .vlen = 6 };
	static const struct trec commit_rec = { .key = "\0\0\0\1", .klen = 4,
			    .val = "\0\0\0\0\0\5", .vlen = 6 };
	struct bopt	 o;
	int		 i;

	buf->len = 0;
	for (i = 0; i < sc->nb; i++) {
		memset(&o, 0, sizeof(o));
		o.base = sc->b[i].base;
		o.codec = sc->b[i].codec;
		o.attr = sc->b[i].attr;
		o.set_pid = 1;
		o.pid = sc->b[i].pid;
		starts[i] = buf->len;
		if (sc->b[i].attr & ATTR_CONTROL) {
			ck_assert_int_eq(sc->b[i].n, 1);
			enc_batch(buf, &o, sc->b[i].mark == MARK_ABORT ?
			    &abort_rec : &commit_rec, 1);
		} else
			enc_batch(buf, &o, simple_recs(sc->b[i].n),
			    sc->b[i].n);
	}
	starts[sc->nb] = buf->len;
}

/* The broker's aborted list for a fetch from pos, as sent: unsorted. */
static size_t
scen_aborted(const struct scen *sc, int64_t pos, struct kafka_aborted_txn *ab)
{
	size_t		 n = 0;
	int		 i;

	for (i = sc->nab - 1; i >= 0; i--)
		if (sc->ab[i].last >= pos) {
			ab[n].producer_id = sc->ab[i].pid;
			ab[n].first_offset = sc->ab[i].first;
			n++;
		}
	return n;
}

/* The record got.r[j] is the simple record it claims to be. */
static void
scen_check_rec(const struct scen *sc, size_t j)
{
	int		 i;

	for (i = 0; i < sc->nb; i++)
		if (got.r[j].offset >= sc->b[i].base &&
		    got.r[j].offset < tb_end(&sc->b[i])) {
			ck_assert_int_eq(sc->b[i].attr & ATTR_CONTROL, 0);
			check_simple(&got.r[j], got.r[j].offset,
			    (int)(got.r[j].offset - sc->b[i].base));
			return;
		}
	ck_abort_msg("offset %lld in no batch", (long long)got.r[j].offset);
}

/* The whole log in one answer, and every prefix of it. */
static void
scen_whole(const struct scen *sc)
{
	struct tbuf		 buf = { NULL, 0, 0 };
	struct kafka_aborted_txn ab[16];
	size_t			 starts[32], cut, nab, j;
	int64_t			 done;
	int			 k, w;

	ck_assert_int_lt(sc->nb, 32);
	ck_assert_int_le(sc->nab, 16);
	scen_build(sc, &buf, starts);
	nab = scen_aborted(sc, 0, ab);
	ck_assert_int_eq(run_txn(buf.p, buf.len, 0, 0, ab, nab), 0);
	check_ok();
	ck_assert_uint_eq(got.n, (size_t)sc->nwant);
	for (j = 0; j < got.n; j++) {
		ck_assert_int_eq(got.r[j].offset, sc->want[j]);
		scen_check_rec(sc, j);
	}
	ck_assert_uint_eq(info.delivered, (size_t)sc->nwant);
	ck_assert_uint_eq(info.skipped_aborted, sc->skipped);
	ck_assert_int_eq(info.next_offset, sc->next);
	ck_assert_int_eq(info.truncated, 0);
	ck_assert_int_eq(info.stopped, 0);
	kafka_arena_free(&arena);

	/* Cut anywhere: the complete batches, next_offset after them. */
	for (cut = 0; cut < buf.len; cut++) {
		for (k = 0; k < sc->nb && starts[k + 1] <= cut; k++)
			;
		done = k > 0 ? tb_end(&sc->b[k - 1]) : 0;
		for (w = 0; w < sc->nwant && sc->want[w] < done; w++)
			;
		ck_assert_int_eq(run_txn(buf.p, cut, 0, 0, ab, nab), 0);
		check_ok();
		ck_assert_uint_eq(got.n, (size_t)w);
		for (j = 0; j < got.n; j++)
			ck_assert_int_eq(got.r[j].offset, sc->want[j]);
		ck_assert_int_eq(info.next_offset, done);
		ck_assert_int_eq(info.truncated, cut != starts[k]);
		kafka_arena_free(&arena);
	}
	tb_free(&buf);
}

/*
 * A consumer's fetch loop against the simulated broker, answers capped at
 * maxb bytes (every cap from 1 to the whole log), the callback stopping
 * after stop records (every count; 0 never): it must see exactly the
 * committed records, once each, in order, and end at sc->next.
 */
static void
scen_loop(const struct scen *sc)
{
	struct tbuf		 buf = { NULL, 0, 0 };
	struct kafka_aborted_txn ab[16];
	size_t			 starts[32], maxb, stop, nab, off, len, ngot,
				 skipped, j;
	int64_t			 pos;
	int			 i, iter;

	scen_build(sc, &buf, starts);
	for (maxb = 1; maxb <= buf.len; maxb++)
		for (stop = 0; stop <= (size_t)sc->nwant; stop++) {
			pos = 0;
			ngot = skipped = 0;
			for (iter = 0;; iter++) {
				ck_assert_int_lt(iter, 1000);
				for (i = 0; i < sc->nb &&
				    tb_end(&sc->b[i]) <= pos; i++)
					;
				if (i == sc->nb)
					break;
				off = starts[i];
				len = maxb > starts[i + 1] - off ? maxb :
				    starts[i + 1] - off;
				if (len > buf.len - off)
					len = buf.len - off;
				nab = scen_aborted(sc, pos, ab);
				ck_assert_int_eq(run_txn(buf.p + off, len, pos,
				    stop, ab, nab), 0);
				check_ok();
				for (j = 0; j < got.n; j++) {
					ck_assert_uint_lt(ngot,
					    (size_t)sc->nwant);
					ck_assert_int_eq(got.r[j].offset,
					    sc->want[ngot]);
					ngot++;
				}
				skipped += info.skipped_aborted;
				ck_assert_int_gt(info.next_offset, pos);
				pos = info.next_offset;
				kafka_arena_free(&arena);
			}
			ck_assert_uint_eq(ngot, (size_t)sc->nwant);
			ck_assert_uint_eq(skipped, sc->skipped);
			ck_assert_int_eq(pos, sc->next);
		}
	tb_free(&buf);
}

/* A committed transaction, then plain records; an unrelated abort. */
static const struct tbatch s_commit_b[] = {
	{ 0, 1, ATTR_TXN, 3, 0, T_NONE },
	{ 3, 1, ATTR_TXN | ATTR_CONTROL, 1, MARK_COMMIT, T_NONE },
	{ 4, NOPID, 0, 2, 0, T_GZIP },
};
static const struct tabort s_commit_a[] = { { 9, 0, 10 } };
static const int64_t s_commit_w[] = { 0, 1, 2, 4, 5 };

/*
 * Producer 1 aborts, producer 2 commits meanwhile, producer 1 commits a
 * second transaction and aborts a third; the broker lists the aborted
 * ones out of order.
 */
static const struct tbatch s_inter_b[] = {
	{ 0, 1, ATTR_TXN, 2, 0, T_NONE },
	{ 2, 2, ATTR_TXN, 2, 0, T_GZIP },
	{ 4, 1, ATTR_TXN, 1, 0, T_NONE },
	{ 5, 1, ATTR_TXN | ATTR_CONTROL, 1, MARK_ABORT, T_NONE },
	{ 6, 2, ATTR_TXN | ATTR_CONTROL, 1, MARK_COMMIT, T_NONE },
	{ 7, 1, ATTR_TXN, 2, 0, T_NONE },
	{ 9, 1, ATTR_TXN | ATTR_CONTROL, 1, MARK_COMMIT, T_NONE },
	{ 10, 1, ATTR_TXN, 1, 0, T_ZSTD },
	{ 11, 1, ATTR_TXN | ATTR_CONTROL, 1, MARK_ABORT, T_NONE },
};
static const struct tabort s_inter_a[] = { { 1, 0, 5 }, { 1, 10, 11 } };
static const int64_t s_inter_w[] = { 2, 3, 7, 8 };

/*
 * An aborted transaction in two batches (one compressed) around another
 * producer's idempotent, non-transactional batch.
 */
static const struct tbatch s_two_b[] = {
	{ 100, 5, ATTR_TXN, 3, 0, T_GZIP },
	{ 103, 6, 0, 1, 0, T_NONE },
	{ 104, 5, ATTR_TXN, 2, 0, T_NONE },
	{ 106, 5, ATTR_TXN | ATTR_CONTROL, 1, MARK_ABORT, T_NONE },
	{ 107, 6, ATTR_TXN, 1, 0, T_NONE },
	{ 108, 6, ATTR_TXN | ATTR_CONTROL, 1, MARK_COMMIT, T_NONE },
};
static const struct tabort s_two_a[] = { { 5, 100, 106 } };
static const int64_t s_two_w[] = { 103, 107 };

/*
 * Only markers: a commit, the abort of a transaction with no data
 * (compressed, so that it is decompressed to be read), and the abort of
 * one whose data came before.
 */
static const struct tbatch s_marks_b[] = {
	{ 20, 1, ATTR_TXN | ATTR_CONTROL, 1, MARK_COMMIT, T_NONE },
	{ 21, 2, ATTR_TXN | ATTR_CONTROL, 1, MARK_ABORT, T_GZIP },
	{ 22, 3, ATTR_TXN | ATTR_CONTROL, 1, MARK_ABORT, T_NONE },
};
static const struct tabort s_marks_a[] = { { 2, 21, 21 }, { 3, 15, 22 } };

/* Only aborted data and its marker. */
static const struct tbatch s_aonly_b[] = {
	{ 30, 4, ATTR_TXN, 4, 0, T_LZ4 },
	{ 34, 4, ATTR_TXN | ATTR_CONTROL, 1, MARK_ABORT, T_NONE },
};
static const struct tabort s_aonly_a[] = { { 4, 30, 34 } };

static const struct scen scens[] = {
	SCEN(s_commit_b, s_commit_a, s_commit_w, 5, 0, 6),
	SCEN(s_inter_b, s_inter_a, s_inter_w, 4, 4, 12),
	SCEN(s_two_b, s_two_a, s_two_w, 2, 5, 109),
	SCEN(s_marks_b, s_marks_a, NULL, 0, 0, 23),
	SCEN(s_aonly_b, s_aonly_a, NULL, 0, 4, 35),
};

START_TEST(test_txn_whole)
{
	scen_whole(&scens[_i]);
}
END_TEST

START_TEST(test_txn_loop)
{
	scen_loop(&scens[_i]);
}
END_TEST

/* READ_UNCOMMITTED sees everything but the markers. */
START_TEST(test_txn_uncommitted)
{
	static const int64_t	 all[] = { 0, 1, 2, 3, 4, 7, 8, 10 };
	struct kafka_aborted_txn one = { 1, 0 };
	struct tbuf		 buf = { NULL, 0, 0 };
	size_t			 starts[32], j;

	scen_build(&scens[1], &buf, starts);
	ck_assert_int_eq(run(buf.p, buf.len, 0, 0), 0);
	check_ok();
	ck_assert_uint_eq(got.n, NELEM(all));
	for (j = 0; j < got.n; j++)
		ck_assert_int_eq(got.r[j].offset, all[j]);
	ck_assert_uint_eq(info.skipped_aborted, 0);
	ck_assert_int_eq(info.next_offset, 12);
	/* The same with an empty list, or a NULL one. */
	ck_assert_int_eq(run_txn(buf.p, buf.len, 0, 0, &one, 0), 0);
	ck_assert_uint_eq(got.n, NELEM(all));
	ck_assert_int_eq(kafka_records_decode_txn(copy, buf.len, 0, NULL, 5,
	    &arena, collect, &got, &info), 0);
	ck_assert_uint_eq(info.delivered, NELEM(all));
	tb_free(&buf);
}
END_TEST

/*
 * The ABORT marker below min_offset still ends the aborted state: a fetch
 * from offset 7 (given the whole log and list) delivers the second,
 * committed transaction of producer 1.  Without the marker in the answer
 * the list would hold it aborted, which is why the broker leaves out the
 * transactions that ended before the fetch offset.
 */
START_TEST(test_txn_marker_below_min)
{
	struct tbuf		 buf = { NULL, 0, 0 };
	struct kafka_aborted_txn ab[16];
	size_t			 starts[32], nab;

	scen_build(&scens[1], &buf, starts);
	nab = scen_aborted(&scens[1], 0, ab);
	ck_assert_int_eq(run_txn(buf.p, buf.len, 7, 0, ab, nab), 0);
	check_ok();
	ck_assert_uint_eq(got.n, 2);
	ck_assert_int_eq(got.r[0].offset, 7);
	ck_assert_int_eq(got.r[1].offset, 8);
	/* Batches below min_offset are not counted as skipped. */
	ck_assert_uint_eq(info.skipped_aborted, 1);
	ck_assert_int_eq(info.next_offset, 12);

	/* From the middle of an aborted batch: counted whole. */
	scen_build(&scens[2], &buf, starts);
	nab = scen_aborted(&scens[2], 0, ab);
	ck_assert_int_eq(run_txn(buf.p, buf.len, 105, 0, ab, nab), 0);
	check_ok();
	ck_assert_uint_eq(got.n, 1);
	ck_assert_int_eq(got.r[0].offset, 107);
	ck_assert_uint_eq(info.skipped_aborted, 2);
	ck_assert_int_eq(info.next_offset, 109);

	/*
	 * An answer from offset 7 with an aborted transaction that ended
	 * before it (which a broker leaves out) hides the committed data,
	 * as in the Java consumer: the marker that ended it is not seen.
	 */
	scen_build(&scens[1], &buf, starts);
	nab = scen_aborted(&scens[1], 0, ab);
	ck_assert_int_eq(run_txn(buf.p + starts[5], buf.len - starts[5], 7,
	    0, ab, nab), 0);
	check_ok();
	ck_assert_uint_eq(got.n, 0);
	ck_assert_uint_eq(info.skipped_aborted, 3);
	ck_assert_int_eq(info.next_offset, 12);
	tb_free(&buf);
}
END_TEST

/* A malformed control record of an aborted producer is an error. */
START_TEST(test_txn_bad_marker)
{
	static const struct {
		const char	*key;
		int32_t		 klen;
	} bad[] = {
		{ NULL, -1 }, { "\0\0\0", 3 }, { "\xff\xff\0\0", 4 },
	};
	struct kafka_aborted_txn ab = { 7, 0 };
	struct tbuf		 b = { NULL, 0, 0 };
	struct bopt		 o = { .base = 0, .attr = ATTR_TXN,
				    .set_pid = 1, .pid = 7 };
	struct trec		 ctl = { .val = "\0\0\0\0\0\0", .vlen = 6 };
	size_t			 i;

	for (i = 0; i < NELEM(bad); i++) {
		b.len = 0;
		o.base = 0;
		o.attr = ATTR_TXN;
		enc_batch(&b, &o, simple_recs(2), 2);
		o.base = 2;
		o.attr = ATTR_TXN | ATTR_CONTROL;
		ctl.key = bad[i].key;
		ctl.klen = bad[i].klen;
		enc_batch(&b, &o, &ctl, 1);
		ck_assert_int_eq(run_txn(b.p, b.len, 0, 0, &ab, 1), -1);
		ck_assert_int_eq(info.err, KAFKA_RECORDS_ECORRUPT);
		ck_assert_msg(strstr(info.errmsg, "control record") != NULL,
		    "%s", info.errmsg);
		ck_assert_uint_eq(info.skipped_aborted, 2);
		ck_assert_int_eq(info.next_offset, 2);
		/* Not looked at when the producer is not aborted. */
		ck_assert_int_eq(run(b.p, b.len, 0, 0), 0);
		ck_assert_int_eq(info.next_offset, 3);
	}
	/* A version above 0 is read as today's layout, as Java does. */
	b.len = 0;
	o.base = 0;
	o.attr = ATTR_TXN;
	enc_batch(&b, &o, simple_recs(2), 2);
	o.base = 2;
	o.attr = ATTR_TXN | ATTR_CONTROL;
	ctl.key = "\0\1\0\0";
	ctl.klen = 4;
	enc_batch(&b, &o, &ctl, 1);
	o.base = 3;
	o.attr = ATTR_TXN;
	enc_batch(&b, &o, simple_recs(1), 1);
	ck_assert_int_eq(run_txn(b.p, b.len, 0, 0, &ab, 1), 0);
	check_ok();
	ck_assert_uint_eq(got.n, 1);
	ck_assert_int_eq(got.r[0].offset, 3);
	tb_free(&b);
}
END_TEST

/* Stop inside the committed data that follows aborted data. */
START_TEST(test_txn_stop)
{
	struct tbuf		 buf = { NULL, 0, 0 };
	struct kafka_aborted_txn ab[16];
	size_t			 starts[32], nab;

	scen_build(&scens[1], &buf, starts);
	nab = scen_aborted(&scens[1], 0, ab);
	ck_assert_int_eq(run_txn(buf.p, buf.len, 0, 1, ab, nab), 0);
	check_ok();
	ck_assert_int_eq(info.stopped, 1);
	ck_assert_uint_eq(got.n, 1);
	ck_assert_int_eq(got.r[0].offset, 2);
	ck_assert_uint_eq(info.skipped_aborted, 2);
	ck_assert_int_eq(info.next_offset, 3);
	tb_free(&buf);
}
END_TEST

/* Many aborted transactions, many producers: the list is not a cost. */
START_TEST(test_txn_many)
{
	struct tbuf		 b = { NULL, 0, 0 };
	struct kafka_aborted_txn *ab;
	struct bopt		 o = { .attr = ATTR_TXN, .set_pid = 1 };
	size_t			 n = 20000, i;

	ab = calloc(n, sizeof(*ab));
	ck_assert_ptr_nonnull(ab);
	/* Producer i aborts at offset 2i; batch at 2i+1 is producer 0's. */
	for (i = 0; i < n; i++) {
		ab[i].producer_id = (int64_t)(n - i);
		ab[i].first_offset = (int64_t)(2 * (n - i));
	}
	for (i = 1; i <= 50; i++) {
		o.base = (int64_t)(2 * i);
		o.pid = (int64_t)i;
		enc_batch(&b, &o, simple_recs(1), 1);
		o.base = (int64_t)(2 * i + 1);
		o.pid = 0;
		enc_batch(&b, &o, simple_recs(1), 1);
	}
	ck_assert_int_eq(run_txn(b.p, b.len, 0, 0, ab, n), 0);
	check_ok();
	ck_assert_uint_eq(got.n, 50);
	for (i = 0; i < got.n; i++)
		ck_assert_int_eq(got.r[i].offset, (int64_t)(2 * i + 3));
	ck_assert_uint_eq(info.skipped_aborted, 50);
	ck_assert_int_eq(info.next_offset, 102);
	free(ab);
	tb_free(&b);
}
END_TEST

static Suite *
record_suite(void)
{
	Suite	*s = suite_create("kafka_record");
	TCase	*tc;
	int	 ncodecs = (int)(sizeof(all_codecs) / sizeof(all_codecs[0]));
	int	 ncrc = (int)NELEM(crc_impls);

	tc = tcase_create("crc");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_crc_dispatch);
	tcase_add_loop_test(tc, test_crc_vectors, 0, ncrc);
	tcase_add_loop_test(tc, test_crc_every_length, 0, ncrc);
	tcase_add_loop_test(tc, test_crc_big, 0, ncrc);
	tcase_add_loop_test(tc, test_crc_split, 0, ncrc);
	tcase_add_loop_test(tc, test_crc_vs_reference, 0, ncrc);
	tcase_add_loop_test(tc, test_crc_golden, 0, ncrc);
	suite_add_tcase(s, tc);

	tc = tcase_create("plain");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_golden_v2);
	tcase_add_test(tc, test_encoder_matches_golden);
	tcase_add_test(tc, test_multi_record);
	tcase_add_test(tc, test_several_batches);
	tcase_add_test(tc, test_min_offset);
	tcase_add_test(tc, test_overlap);
	tcase_add_test(tc, test_null_and_empty);
	tcase_add_test(tc, test_binary_key_and_headers);
	tcase_add_test(tc, test_log_append_time);
	tcase_add_test(tc, test_control_batch);
	tcase_add_test(tc, test_empty_and_compacted);
	tcase_add_test(tc, test_stop);
	tcase_add_loop_test(tc, test_truncated_every_cut, 0, 4);
	tcase_add_test(tc, test_crc_mismatch);
	suite_add_tcase(s, tc);

	tc = tcase_create("txn");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_txn_whole, 0, (int)NELEM(scens));
	tcase_add_loop_test(tc, test_txn_loop, 0, (int)NELEM(scens));
	tcase_add_test(tc, test_txn_uncommitted);
	tcase_add_test(tc, test_txn_marker_below_min);
	tcase_add_test(tc, test_txn_bad_marker);
	tcase_add_test(tc, test_txn_stop);
	tcase_add_test(tc, test_txn_many);
	suite_add_tcase(s, tc);

	tc = tcase_create("codecs");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_codec_roundtrip, 0, ncodecs);
	tcase_add_loop_test(tc, test_codec_truncated_payload, 0, ncodecs);
	tcase_add_test(tc, test_codec_unknown);
	tcase_add_test(tc, test_codec_concatenated);
	suite_add_tcase(s, tc);

	tc = tcase_create("legacy");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_legacy_golden);
	tcase_add_loop_test(tc, test_legacy_plain, 0, 2);
	tcase_add_loop_test(tc, test_legacy_wrapper, 0, 8);
	tcase_add_test(tc, test_legacy_log_append_time);
	tcase_add_test(tc, test_legacy_lz4_broken_hc);
	tcase_add_test(tc, test_legacy_nested);
	tcase_add_test(tc, test_legacy_inner_errors);
	tcase_add_test(tc, test_legacy_then_v2);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_arena_cap, 0, ncodecs);
	tcase_add_test(tc, test_arena_cumulative);
	tcase_add_test(tc, test_record_overruns_batch);
	tcase_add_test(tc, test_count_mismatch);
	tcase_add_test(tc, test_batch_atomic);
	tcase_add_test(tc, test_bad_framing);
	tcase_add_test(tc, test_bad_lengths);
	tcase_add_test(tc, test_garbage);
	tcase_add_loop_test(tc, test_mutations, 0, 7);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(record_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
