/*
 * check_kafka_conn.c -- the broker connection state machine driven with
 * scripted bytes and a fake clock: no sockets.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/conn.h"
#include "kafka/kbuf.h"
#include "kafka/kproto.h"

static struct kconn	 c;

struct seen {
	int		 calls;
	int		 err;
	int16_t		 version;
	uint8_t		 body[256];
	size_t		 len;
};

static void
setup(void)
{
	kconn_init(&c, "test-client", "broker:9092", 1 << 20, 10.0);
}

static void
teardown(void)
{
	kconn_free(&c);
}

/* Take everything the connection wants to write. */
static size_t
drain(uint8_t *buf, size_t size)
{
	const uint8_t	*p;
	size_t		 n = kconn_output(&c, &p);

	ck_assert_uint_le(n, size);
	memcpy(buf, p, n);
	kconn_sent(&c, n);
	return n;
}

/* Feed bytes in pieces of at most `step`. Returns the last read_done(). */
static int
feed(const uint8_t *data, size_t len, size_t step, double now)
{
	uint8_t	*p;
	size_t	 room, n;
	int	 rc = 0;

	while (len > 0) {
		if (kconn_read_buf(&c, &p, &room) != 0)
			return -1;
		ck_assert_uint_gt(room, 0);
		n = len < room ? len : room;
		if (n > step)
			n = step;
		memcpy(p, data, n);
		data += n;
		len -= n;
		if ((rc = kconn_read_done(&c, n, now)) != 0)
			return rc;
	}
	return rc;
}

/* A response frame: size, correlation id, body. */
static size_t
frame(uint8_t *out, int32_t corr, const uint8_t *body, size_t len)
{
	struct kwriter	 w;
	size_t		 n;

	kw_init(&w, 1 << 20);
	kw_i32(&w, (int32_t)(len + 4));
	kw_i32(&w, corr);
	kw_raw(&w, body, len);
	n = w.len;
	memcpy(out, w.buf, n);
	kw_free(&w);
	return n;
}

/* The request header of a frame written by the connection. */
static void
req_header(const uint8_t *p, size_t n, int16_t *key, int16_t *ver, int32_t *corr)
{
	struct kreader	 r;
	int32_t		 size;

	kr_init(&r, p, n);
	size = kr_i32(&r);
	ck_assert_int_eq(size + 4, (int32_t)n);
	*key = kr_i16(&r);
	*ver = kr_i16(&r);
	*corr = kr_i32(&r);
	ck_assert(!r.err);
}

/* An ApiVersions v0..v2 body: error, [key min max], throttle (v1+). */
static size_t
apiversions_body(uint8_t *out, int16_t error, int v1plus)
{
	static const int16_t apis[][3] = {
		{ 1, 4, 17 }, { 2, 1, 9 }, { 3, 0, 12 }, { 18, 0, 4 }
	};
	struct kwriter	 w;
	size_t		 i, n;

	kw_init(&w, 4096);
	kw_i16(&w, error);
	kw_i32(&w, 4);
	for (i = 0; i < 4; i++) {
		kw_i16(&w, apis[i][0]);
		kw_i16(&w, apis[i][1]);
		kw_i16(&w, apis[i][2]);
	}
	if (v1plus)
		kw_i32(&w, 0);
	n = w.len;
	memcpy(out, w.buf, n);
	kw_free(&w);
	return n;
}

/* Bring the connection to READY via v3 -> error 35 -> v2. */
static void
negotiate(void)
{
	uint8_t		 out[512], body[256], in[512];
	int16_t		 key, ver;
	int32_t		 corr;
	size_t		 n;

	kconn_start(&c, 0);
	ck_assert_int_eq(c.state, KCONN_APIVERSIONS);
	n = drain(out, sizeof(out));
	req_header(out, n, &key, &ver, &corr);
	ck_assert_int_eq(key, KAFKA_API_VERSIONS);
	ck_assert_int_eq(ver, 3);

	/* KIP-511: an old broker answers v0 with its own ApiVersions range. */
	{
		struct kwriter	 w;

		kw_init(&w, 64);
		kw_i16(&w, KAFKA_ERR_UNSUPPORTED_VERSION);
		kw_i32(&w, 1);
		kw_i16(&w, 18);
		kw_i16(&w, 0);
		kw_i16(&w, 2);
		n = frame(in, corr, w.buf, w.len);
		kw_free(&w);
	}
	ck_assert_int_eq(feed(in, n, n, 0), 0);
	n = drain(out, sizeof(out));
	req_header(out, n, &key, &ver, &corr);
	ck_assert_int_eq(key, KAFKA_API_VERSIONS);
	ck_assert_int_eq(ver, 2);
	ck_assert_int_eq(c.state, KCONN_APIVERSIONS);

	n = apiversions_body(body, 0, 1);
	n = frame(in, corr, body, n);
	ck_assert_int_eq(feed(in, n, n, 0), 0);
	ck_assert_int_eq(c.state, KCONN_READY);
}

static int
enc_empty(struct kwriter *w, int16_t version, int32_t corr,
    const char *client_id, void *arg)
{
	size_t	 start;

	(void)arg;
	start = kafka_req_begin(w, KAFKA_API_METADATA, version, corr, client_id);
	kw_i32(w, 0);				/* no topics */
	return kafka_req_end(w, start);
}

static void
on_resp(void *arg, int err, const char *msg, int16_t version,
    const uint8_t *body, size_t len)
{
	struct seen	*s = arg;

	(void)msg;
	s->calls++;
	s->err = err;
	s->version = version;
	if (err == KCONN_OK) {
		ck_assert_uint_le(len, sizeof(s->body));
		memcpy(s->body, body, len);
		s->len = len;
	}
}

START_TEST(test_negotiate)
{
	negotiate();
	/* min(ours, broker's) per API. */
	ck_assert_int_eq(kconn_version(&c, KAFKA_API_METADATA), 12);
	ck_assert_int_eq(kconn_version(&c, KAFKA_API_FETCH), 12);
	ck_assert_int_eq(kconn_version(&c, KAFKA_API_LIST_OFFSETS), 9);
	ck_assert_int_eq(kconn_version(&c, KAFKA_API_SASL_HANDSHAKE), -1);
}
END_TEST

START_TEST(test_requests_wait_for_versions)
{
	struct seen	 s = { 0 };
	uint8_t		 out[512];
	int16_t		 key, ver;
	int32_t		 corr;
	size_t		 n;

	/* Submitted before the connection is up: sent after negotiation. */
	ck_assert_int_eq(kconn_submit(&c, KAFKA_API_METADATA, enc_empty,
	    on_resp, &s, 0), 0);
	negotiate();
	n = drain(out, sizeof(out));
	req_header(out, n, &key, &ver, &corr);
	ck_assert_int_eq(key, KAFKA_API_METADATA);
	ck_assert_int_eq(ver, 12);
	ck_assert_int_eq(s.calls, 0);
}
END_TEST

/* A response split at every offset and one byte at a time. */
START_TEST(test_response_split)
{
	static const uint8_t body[] = { 0x00, 0x01, 0x02, 0x03, 0xff };
	uint8_t		 out[512], in[64];
	int16_t		 key, ver;
	int32_t		 corr;
	size_t		 n, step;

	negotiate();
	for (step = 1; step <= 16; step++) {
		struct seen s = { 0 };

		ck_assert_int_eq(kconn_submit(&c, KAFKA_API_METADATA, enc_empty,
		    on_resp, &s, 0), 0);
		n = drain(out, sizeof(out));
		req_header(out, n, &key, &ver, &corr);
		/* Metadata v12 is flexible: response header v1 has tags. */
		{
			uint8_t	 b[sizeof(body) + 1];

			b[0] = 0;		/* empty header TAG_BUFFER */
			memcpy(b + 1, body, sizeof(body));
			n = frame(in, corr, b, sizeof(b));
		}
		ck_assert_int_eq(feed(in, n, step, 0), 0);
		ck_assert_int_eq(s.calls, 1);
		ck_assert_int_eq(s.err, KCONN_OK);
		ck_assert_int_eq(s.version, 12);
		ck_assert_uint_eq(s.len, sizeof(body));
		ck_assert_mem_eq(s.body, body, sizeof(body));
	}
	ck_assert(kconn_idle(&c));
}
END_TEST

START_TEST(test_pipelined)
{
	struct seen	 s[3];
	uint8_t		 out[2048], in[256], b[2] = { 0, 0x42 };
	int16_t		 key, ver;
	int32_t		 corr[3];
	size_t		 n, off, total = 0;
	int		 i;

	memset(s, 0, sizeof(s));
	negotiate();
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(kconn_submit(&c, KAFKA_API_METADATA, enc_empty,
		    on_resp, &s[i], 0), 0);
	n = drain(out, sizeof(out));
	for (off = 0, i = 0; i < 3; i++) {
		size_t	 len = 4 + (size_t)((out[off] << 24) | (out[off + 1] << 16) |
		    (out[off + 2] << 8) | out[off + 3]);

		req_header(out + off, len, &key, &ver, &corr[i]);
		off += len;
	}
	ck_assert_uint_eq(off, n);
	ck_assert_int_ne(corr[0], corr[1]);
	/* All three answers in one read. */
	for (i = 0; i < 3; i++) {
		b[1] = (uint8_t)i;
		total += frame(in + total, corr[i], b, 2);
	}
	ck_assert_int_eq(feed(in, total, total, 0), 0);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(s[i].calls, 1);
		ck_assert_uint_eq(s[i].len, 1);
		ck_assert_int_eq(s[i].body[0], i);
	}
}
END_TEST

START_TEST(test_wrong_correlation)
{
	struct seen	 s = { 0 };
	uint8_t		 out[512], in[64], b[1] = { 0 };
	int16_t		 key, ver;
	int32_t		 corr;
	size_t		 n;

	negotiate();
	ck_assert_int_eq(kconn_submit(&c, KAFKA_API_METADATA, enc_empty,
	    on_resp, &s, 0), 0);
	n = drain(out, sizeof(out));
	req_header(out, n, &key, &ver, &corr);
	n = frame(in, corr + 7, b, 1);
	ck_assert_int_eq(feed(in, n, n, 0), -1);
	ck_assert_int_eq(c.state, KCONN_DEAD);
	ck_assert_int_eq(s.calls, 1);
	ck_assert_int_eq(s.err, KCONN_EPROTO);
	ck_assert_ptr_nonnull(strstr(c.errmsg, "correlation"));
	/* A dead connection takes nothing more. */
	ck_assert_int_eq(kconn_submit(&c, KAFKA_API_METADATA, enc_empty,
	    on_resp, &s, 0), -1);
}
END_TEST

/* A size prefix over the limit (e.g. TLS bytes) fails before allocating. */
START_TEST(test_oversize)
{
	struct seen	 s = { 0 };
	static const uint8_t tls[] = { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28 };

	negotiate();
	ck_assert_int_eq(kconn_submit(&c, KAFKA_API_METADATA, enc_empty,
	    on_resp, &s, 0), 0);
	ck_assert_int_eq(feed(tls, sizeof(tls), 1, 0), -1);
	ck_assert_int_eq(s.err, KCONN_EPROTO);
	ck_assert_ptr_nonnull(strstr(c.errmsg, "limit"));
}
END_TEST

START_TEST(test_timeout)
{
	struct seen	 s = { 0 };
	double		 next;

	negotiate();
	ck_assert_int_eq(kconn_submit(&c, KAFKA_API_METADATA, enc_empty,
	    on_resp, &s, 100), 0);
	next = kconn_check_timeouts(&c, 100);
	ck_assert(next >= 109.9 && next <= 110.1);
	ck_assert_int_eq(s.calls, 0);
	ck_assert(kconn_check_timeouts(&c, 111) < 0);
	ck_assert_int_eq(s.calls, 1);
	ck_assert_int_eq(s.err, KCONN_ETIMEOUT);
}
END_TEST

START_TEST(test_no_common_version)
{
	struct seen	 s = { 0 };

	negotiate();
	/*
	 * The broker above lists no SaslHandshake: refused at once, without a
	 * callback from inside kconn_submit() (a caller retrying from its
	 * callback would recurse).
	 */
	ck_assert_int_eq(kconn_submit(&c, KAFKA_API_SASL_HANDSHAKE, enc_empty,
	    on_resp, &s, 0), -1);
	ck_assert_int_eq(s.calls, 0);
	ck_assert_ptr_nonnull(strstr(c.errmsg, "no version"));
	ck_assert_int_eq(c.state, KCONN_READY);
}
END_TEST

START_TEST(test_disconnect_fails_all)
{
	struct seen	 s[2];

	memset(s, 0, sizeof(s));
	ck_assert_int_eq(kconn_submit(&c, KAFKA_API_METADATA, enc_empty,
	    on_resp, &s[0], 0), 0);
	negotiate();
	ck_assert_int_eq(kconn_submit(&c, KAFKA_API_METADATA, enc_empty,
	    on_resp, &s[1], 0), 0);
	kconn_fail(&c, KCONN_EDISCONNECT, "peer closed");
	ck_assert_int_eq(s[0].calls, 1);
	ck_assert_int_eq(s[0].err, KCONN_EDISCONNECT);
	ck_assert_int_eq(s[1].calls, 1);
	ck_assert_str_eq(c.errmsg, "peer closed");
}
END_TEST

/* A callback that submits again while the connection is failing. */
static int	resubmits;

static void
on_resp_resubmit(void *arg, int err, const char *msg, int16_t version,
    const uint8_t *body, size_t len)
{
	on_resp(arg, err, msg, version, body, len);
	if (err != KCONN_OK && resubmits++ < 100)
		ck_assert_int_eq(kconn_submit(&c, KAFKA_API_METADATA, enc_empty,
		    on_resp_resubmit, arg, 0), -1);
}

START_TEST(test_fail_reentrant)
{
	struct seen	 s[3];
	int		 i;

	memset(s, 0, sizeof(s));
	resubmits = 0;
	negotiate();
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(kconn_submit(&c, KAFKA_API_METADATA, enc_empty,
		    on_resp_resubmit, &s[i], 0), 0);
	kconn_fail(&c, KCONN_ETIMEOUT, "slow");
	/* Each failed once; their resubmits were refused; no loop. */
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(s[i].calls, 1);
		ck_assert_int_eq(s[i].err, KCONN_ETIMEOUT);
	}
	ck_assert_int_eq(resubmits, 3);
	ck_assert(kconn_idle(&c));
}
END_TEST

static Suite *
conn_suite(void)
{
	Suite	*s = suite_create("kafka_conn");
	TCase	*tc;

	tc = tcase_create("states");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_negotiate);
	tcase_add_test(tc, test_requests_wait_for_versions);
	tcase_add_test(tc, test_no_common_version);
	tcase_add_test(tc, test_disconnect_fails_all);
	tcase_add_test(tc, test_fail_reentrant);
	suite_add_tcase(s, tc);

	tc = tcase_create("framing");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_response_split);
	tcase_add_test(tc, test_pipelined);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_wrong_correlation);
	tcase_add_test(tc, test_oversize);
	tcase_add_test(tc, test_timeout);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(conn_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
