/*
 * check_kafka_conn.c -- the broker connection state machine driven with
 * scripted bytes and a fake clock: no sockets.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/conn.h"
#include "kafka/kbuf.h"
#include "kafka/kproto.h"
#include "kafka/sasl.h"

static struct kconn	 c;

struct seen {
	int		 calls;
	int		 err;
	int16_t		 version;
	uint8_t		 body[256];
	size_t		 len;
	char		 msg[200];
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

/*
 * Fail what is still pending while the test's struct seen is alive:
 * teardown() runs after the test function has returned.
 */
static void
close_conn(void)
{
	teardown();
	setup();
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

	s->calls++;
	s->err = err;
	s->version = version;
	if (msg != NULL)
		(void)snprintf(s->msg, sizeof(s->msg), "%s", msg);
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
	close_conn();
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


/* ---- SASL: a scripted broker ---- */

static const struct ksasl_conf	 plain = { "PLAIN", "alice", "alice-secret",
    NULL };
static const uint8_t		 plain_tok[] = "\0alice\0alice-secret";

/* One request frame parsed out of the connection's output. */
struct req {
	int16_t		 key;
	int16_t		 ver;
	int32_t		 corr;
	const uint8_t	*body;		/* after the request header */
	size_t		 len;
};

/* Parse the frames in buf; returns how many (at most max). */
static int
parse_reqs(const uint8_t *buf, size_t n, struct req *rq, int max)
{
	struct kreader	 r, f;
	struct kstr	 cid;
	int32_t		 size;
	int		 i = 0;

	kr_init(&r, buf, n);
	while (kr_left(&r) > 0) {
		ck_assert_int_lt(i, max);
		size = kr_i32(&r);
		ck_assert(!r.err && size >= 8);
		kr_sub(&r, (size_t)size, &f);
		ck_assert(!r.err);
		rq[i].key = kr_i16(&f);
		rq[i].ver = kr_i16(&f);
		rq[i].corr = kr_i32(&f);
		cid = kr_str(&f, 0);
		ck_assert_int_eq(cid.len, 11);		/* "test-client" */
		kr_tags(&f, kafka_api_flexible(rq[i].key, rq[i].ver));
		ck_assert(!f.err);
		rq[i].body = f.p;
		rq[i].len = kr_left(&f);
		i++;
	}
	return i;
}

/* Exactly one request must be waiting in the output: take it. */
static void
one_req(uint8_t *buf, size_t size, struct req *rq, int16_t key)
{
	size_t	 n;

	n = drain(buf, size);
	ck_assert_int_eq(parse_reqs(buf, n, rq, 1), 1);
	ck_assert_int_eq(rq->key, key);
}

/*
 * An ApiVersions v3 body (flexible, answered with header v0) listing
 * what a SASL-enabled Kafka lists; sasl_hs_max/sasl_auth_max -1 leave
 * those APIs out.
 */
static size_t
apiversions_v3_body(uint8_t *out, int16_t sasl_hs_max, int16_t sasl_auth_max)
{
	int16_t		 apis[6][3] = {
		{ 1, 4, 17 }, { 2, 1, 9 }, { 3, 0, 12 }, { 18, 0, 4 },
		{ 17, 0, sasl_hs_max }, { 36, 0, sasl_auth_max }
	};
	struct kwriter	 w;
	size_t		 i, n, cnt = 4;

	cnt += sasl_hs_max >= 0;
	cnt += sasl_auth_max >= 0;
	if (sasl_hs_max < 0) {
		memcpy(apis[4], apis[5], sizeof(apis[4]));
	}
	kw_init(&w, 4096);
	kw_i16(&w, 0);
	kw_uvarint(&w, (uint32_t)cnt + 1);
	for (i = 0; i < cnt; i++) {
		kw_i16(&w, apis[i][0]);
		kw_i16(&w, apis[i][1]);
		kw_i16(&w, apis[i][2]);
		kw_tags(&w, 1);
	}
	kw_i32(&w, 0);				/* ThrottleTimeMs */
	kw_tags(&w, 1);
	n = w.len;
	memcpy(out, w.buf, n);
	kw_free(&w);
	return n;
}

/* A SaslHandshake response frame. */
static size_t
handshake_resp(uint8_t *out, int32_t corr, int16_t error,
    const char *const *mechs, int n)
{
	struct kwriter	 w;
	size_t		 len;
	int		 i;

	kw_init(&w, 4096);
	kw_i16(&w, error);
	kw_i32(&w, n);
	for (i = 0; i < n; i++)
		kw_str(&w, 0, mechs[i], (int32_t)strlen(mechs[i]));
	len = frame(out, corr, w.buf, w.len);
	kw_free(&w);
	return len;
}

/* A SaslAuthenticate response frame at version v (header v1 from v2). */
static size_t
auth_resp(uint8_t *out, int32_t corr, int16_t v, int16_t error,
    const char *message, const void *auth, size_t authlen, int64_t lifetime)
{
	struct kwriter	 w;
	size_t		 len;
	int		 flex = v >= 2;

	kw_init(&w, 4096);
	kw_tags(&w, flex);			/* response header v1 */
	kw_i16(&w, error);
	kw_str(&w, flex, message, message ? (int32_t)strlen(message) : -1);
	kw_bytes(&w, flex, authlen ? auth : "", (int32_t)authlen);
	if (v >= 1)
		kw_i64(&w, lifetime);
	kw_tags(&w, flex);
	len = frame(out, corr, w.buf, w.len);
	kw_free(&w);
	return len;
}

/* The AuthBytes of a SaslAuthenticate request. */
static struct kstr
auth_tok(const struct req *rq)
{
	struct kreader	 r;
	struct kstr	 t;

	kr_init(&r, rq->body, rq->len);
	t = kr_bytes(&r, rq->ver >= 2);
	kr_tags(&r, rq->ver >= 2);
	ck_assert(!r.err);
	ck_assert_uint_eq(kr_left(&r), 0);
	return t;
}

/* Start with SASL: ApiVersions v3 answered, SaslHandshake v1 out. */
static void
sasl_start(const struct ksasl_conf *conf, int16_t auth_max, struct req *hs,
    uint8_t *out, size_t outsize, size_t step)
{
	uint8_t		 body[256], in[512];
	struct req	 rq;
	struct kreader	 r;
	struct kstr	 m;
	size_t		 n;

	kconn_set_sasl(&c, conf);
	kconn_start(&c, 0);
	one_req(out, outsize, &rq, KAFKA_API_VERSIONS);
	ck_assert_int_eq(rq.ver, 3);
	n = apiversions_v3_body(body, 1, auth_max);
	n = frame(in, rq.corr, body, n);
	ck_assert_int_eq(feed(in, n, step, 0), 0);
	ck_assert_int_eq(c.state, KCONN_SASL);
	ck_assert(!kconn_ready(&c));
	ck_assert_int_eq(kconn_version(&c, KAFKA_API_METADATA), -1);
	one_req(out, outsize, hs, KAFKA_API_SASL_HANDSHAKE);
	ck_assert_int_eq(hs->ver, 1);
	kr_init(&r, hs->body, hs->len);
	m = kr_str(&r, 0);
	ck_assert(!r.err && kr_left(&r) == 0);
	ck_assert_int_eq(m.len, (int32_t)strlen(conf->mechanism));
	ck_assert_mem_eq(m.p, conf->mechanism, (size_t)m.len);
}

/*
 * A whole PLAIN login at time now, responses fed in pieces of step
 * bytes; lifetime is the SessionLifetimeMs of the last answer.
 */
static void
sasl_plain_login(int16_t auth_max, size_t step, double now, int64_t lifetime)
{
	static const char *const mechs[] = { "PLAIN", "SCRAM-SHA-512" };
	uint8_t		 out[512], in[512];
	struct req	 hs, au;
	struct kstr	 t;
	size_t		 n;

	sasl_start(&plain, auth_max, &hs, out, sizeof(out), step);
	n = handshake_resp(in, hs.corr, 0, mechs, 2);
	ck_assert_int_eq(feed(in, n, step, now), 0);
	ck_assert_int_eq(c.state, KCONN_SASL);
	one_req(out, sizeof(out), &au, KAFKA_API_SASL_AUTHENTICATE);
	ck_assert_int_eq(au.ver, auth_max);
	t = auth_tok(&au);
	ck_assert_int_eq(t.len, (int32_t)sizeof(plain_tok) - 1);
	ck_assert_mem_eq(t.p, plain_tok, sizeof(plain_tok) - 1);
	n = auth_resp(in, au.corr, au.ver, 0, NULL, NULL, 0, lifetime);
	ck_assert_int_eq(feed(in, n, step, now), 0);
	ck_assert_int_eq(c.state, KCONN_READY);
	ck_assert(kconn_ready(&c));
}

START_TEST(test_sasl_plain)
{
	struct seen	 s = { 0 };
	uint8_t		 out[512];
	struct req	 rq;
	int16_t		 v;

	/* Submitted first: goes out only once authenticated. */
	ck_assert_int_eq(kconn_submit(&c, KAFKA_API_METADATA, enc_empty,
	    on_resp, &s, 0), 0);
	for (v = 0; v <= 2; v++) {
		if (v > 0) {
			teardown();
			setup();
			memset(&s, 0, sizeof(s));
			ck_assert_int_eq(kconn_submit(&c, KAFKA_API_METADATA,
			    enc_empty, on_resp, &s, 0), 0);
		}
		/* one_req() checks that nothing else was written meanwhile */
		sasl_plain_login(v, 1024, 0, 0);
		one_req(out, sizeof(out), &rq, KAFKA_API_METADATA);
		ck_assert_int_eq(rq.ver, 12);
		ck_assert_int_eq(s.calls, 0);
		ck_assert(c.reauth_at == 0);
		ck_assert(kconn_check_timeouts(&c, 1) > 0);	/* the request */
	}
	close_conn();
}
END_TEST

/* SASL_AUTHENTICATION_FAILED: the broker's message, to every request. */
START_TEST(test_sasl_failed)
{
	static const char *const mechs[] = { "PLAIN" };
	static const char	 why[] = "Authentication failed: Invalid "
	    "username or password";
	struct seen		 s = { 0 };
	uint8_t			 out[512], in[512];
	struct req		 hs, au;
	size_t			 n;

	ck_assert_int_eq(kconn_submit(&c, KAFKA_API_METADATA, enc_empty,
	    on_resp, &s, 0), 0);
	sasl_start(&plain, 2, &hs, out, sizeof(out), 1024);
	n = handshake_resp(in, hs.corr, 0, mechs, 1);
	ck_assert_int_eq(feed(in, n, n, 0), 0);
	one_req(out, sizeof(out), &au, KAFKA_API_SASL_AUTHENTICATE);
	n = auth_resp(in, au.corr, 2, KAFKA_ERR_SASL_AUTHENTICATION_FAILED,
	    why, NULL, 0, 0);
	ck_assert_int_eq(feed(in, n, n, 0), -1);
	ck_assert_int_eq(c.state, KCONN_DEAD);
	ck_assert_str_eq(c.errmsg, "SASL authentication failed: Authentication "
	    "failed: Invalid username or password");
	ck_assert_int_eq(s.calls, 1);
	ck_assert_int_eq(s.err, KCONN_EAUTH);
	ck_assert_str_eq(s.msg, c.errmsg);
	/* The broker closes next: nothing more to read or submit. */
	ck_assert_int_eq(kconn_submit(&c, KAFKA_API_METADATA, enc_empty,
	    on_resp, &s, 0), -1);
	ck_assert_uint_eq(kconn_output(&c, &hs.body), 0);
}
END_TEST

START_TEST(test_sasl_unsupported_mechanism)
{
	static const char *const mechs[] = { "SCRAM-SHA-256",
	    "SCRAM-SHA-512" };
	struct seen		 s = { 0 };
	uint8_t			 out[512], in[512];
	struct req		 hs;
	size_t			 n;

	ck_assert_int_eq(kconn_submit(&c, KAFKA_API_METADATA, enc_empty,
	    on_resp, &s, 0), 0);
	sasl_start(&plain, 2, &hs, out, sizeof(out), 1024);
	n = handshake_resp(in, hs.corr, KAFKA_ERR_UNSUPPORTED_SASL_MECHANISM,
	    mechs, 2);
	ck_assert_int_eq(feed(in, n, n, 0), -1);
	ck_assert_str_eq(c.errmsg, "SASL authentication failed: mechanism "
	    "PLAIN not enabled on the broker (enabled: SCRAM-SHA-256, "
	    "SCRAM-SHA-512)");
	ck_assert_int_eq(s.calls, 1);
	ck_assert_int_eq(s.err, KCONN_EAUTH);
}
END_TEST

/* A broker without SaslHandshake v1 or SaslAuthenticate (Kafka < 1.0). */
START_TEST(test_sasl_broker_too_old)
{
	uint8_t		 out[512], body[256], in[512];
	struct req	 rq;
	struct seen	 s = { 0 };
	size_t		 n;
	int		 i;

	for (i = 0; i < 2; i++) {
		if (i > 0) {
			teardown();
			setup();
			memset(&s, 0, sizeof(s));
		}
		ck_assert_int_eq(kconn_submit(&c, KAFKA_API_METADATA,
		    enc_empty, on_resp, &s, 0), 0);
		kconn_set_sasl(&c, &plain);
		kconn_start(&c, 0);
		one_req(out, sizeof(out), &rq, KAFKA_API_VERSIONS);
		n = i == 0 ? apiversions_v3_body(body, 0, -1) :
		    apiversions_v3_body(body, -1, 1);
		n = frame(in, rq.corr, body, n);
		ck_assert_int_eq(feed(in, n, n, 0), -1);
		ck_assert_int_eq(c.state, KCONN_DEAD);
		ck_assert_msg(strncmp(c.errmsg, "SASL authentication failed: ",
		    28) == 0, "%s", c.errmsg);
		ck_assert_ptr_nonnull(strstr(c.errmsg, "SaslHandshake v1"));
		ck_assert_int_eq(s.err, KCONN_EAUTH);
	}
}
END_TEST

/* An unknown mechanism in the configuration fails after ApiVersions. */
START_TEST(test_sasl_bad_conf)
{
	static const struct ksasl_conf	 bad = { "GSSAPI", "u", "p", NULL };
	uint8_t				 out[512], body[256], in[512];
	struct req			 rq;
	size_t				 n;

	kconn_set_sasl(&c, &bad);
	kconn_start(&c, 0);
	one_req(out, sizeof(out), &rq, KAFKA_API_VERSIONS);
	n = frame(in, rq.corr, body, apiversions_v3_body(body, 1, 2));
	ck_assert_int_eq(feed(in, n, n, 0), -1);
	ck_assert_ptr_nonnull(strstr(c.errmsg, "SASL authentication failed: "
	    "unknown SASL mechanism GSSAPI"));
}
END_TEST

/* Every SASL response split at every offset. */
START_TEST(test_sasl_split)
{
	uint8_t		 out[512];
	struct req	 rq;
	struct seen	 s;
	size_t		 step;

	for (step = 1; step <= 48; step++) {
		teardown();
		setup();
		memset(&s, 0, sizeof(s));
		ck_assert_int_eq(kconn_submit(&c, KAFKA_API_METADATA,
		    enc_empty, on_resp, &s, 0), 0);
		sasl_plain_login((int16_t)(step % 3), step, 0, 0);
		one_req(out, sizeof(out), &rq, KAFKA_API_METADATA);
	}
	close_conn();
}
END_TEST

/* A SASL request unanswered in time fails the connection. */
START_TEST(test_sasl_timeout)
{
	uint8_t		 out[512];
	struct req	 hs;

	sasl_start(&plain, 2, &hs, out, sizeof(out), 1024);
	ck_assert(kconn_check_timeouts(&c, 5) > 9.9);
	ck_assert(kconn_check_timeouts(&c, 11) < 0);
	ck_assert_int_eq(c.state, KCONN_DEAD);
}
END_TEST

/*
 * OAUTHBEARER rejected: the JSON error comes with error 0, the client
 * answers 0x01 in a second round, then the broker fails with 58.  With
 * no broker message the JSON makes the error text.
 */
START_TEST(test_sasl_oauthbearer_rejected)
{
	static const struct ksasl_conf	 oauth = { "OAUTHBEARER", NULL, NULL,
	    "tok.en" };
	static const char		 tok[] = "n,,\001auth=Bearer tok.en"
	    "\001\001";
	static const char		 json[] = "{\"status\":\"invalid_token\"}";
	static const char *const	 mechs[] = { "OAUTHBEARER" };
	uint8_t				 out[512], in[512];
	struct req			 hs, au;
	struct kstr			 t;
	size_t				 n;

	sasl_start(&oauth, 2, &hs, out, sizeof(out), 1024);
	n = handshake_resp(in, hs.corr, 0, mechs, 1);
	ck_assert_int_eq(feed(in, n, n, 0), 0);
	one_req(out, sizeof(out), &au, KAFKA_API_SASL_AUTHENTICATE);
	t = auth_tok(&au);
	ck_assert_int_eq(t.len, (int32_t)sizeof(tok) - 1);
	ck_assert_mem_eq(t.p, tok, sizeof(tok) - 1);
	n = auth_resp(in, au.corr, 2, 0, NULL, json, strlen(json), 0);
	ck_assert_int_eq(feed(in, n, n, 0), 0);
	ck_assert_int_eq(c.state, KCONN_SASL);
	one_req(out, sizeof(out), &au, KAFKA_API_SASL_AUTHENTICATE);
	t = auth_tok(&au);
	ck_assert_int_eq(t.len, 1);
	ck_assert_int_eq(t.p[0], 0x01);
	n = auth_resp(in, au.corr, 2, KAFKA_ERR_SASL_AUTHENTICATION_FAILED,
	    NULL, NULL, 0, 0);
	ck_assert_int_eq(feed(in, n, n, 0), -1);
	ck_assert_str_eq(c.errmsg, "SASL authentication failed: OAUTHBEARER "
	    "token rejected: {\"status\":\"invalid_token\"}");
}
END_TEST

/* Answer a re-authentication started at time now with PLAIN. */
static void
reauth_answer(struct req *hs, double now, int16_t error, const char *why,
    int64_t lifetime, int *rc)
{
	static const char *const mechs[] = { "PLAIN" };
	uint8_t		 out[512], in[512];
	struct req	 au;
	struct kstr	 t;
	size_t		 n;

	n = handshake_resp(in, hs->corr, 0, mechs, 1);
	ck_assert_int_eq(feed(in, n, 3, now), 0);
	ck_assert_int_eq(c.state, KCONN_REAUTH);
	one_req(out, sizeof(out), &au, KAFKA_API_SASL_AUTHENTICATE);
	t = auth_tok(&au);
	ck_assert_mem_eq(t.p, plain_tok, sizeof(plain_tok) - 1);
	n = auth_resp(in, au.corr, au.ver, error, why, NULL, 0, lifetime);
	*rc = feed(in, n, 5, now);
}

/*
 * KIP-368: SessionLifetimeMs 10000 -> re-authenticate at 85-95 % of it,
 * behind the requests in flight; new requests wait, then flow.
 */
START_TEST(test_sasl_reauth)
{
	struct seen	 a = { 0 }, b = { 0 }, d = { 0 };
	uint8_t		 out[1024], in[64], mb[2] = { 0, 0x42 };
	const uint8_t	*p;
	struct req	 rq, hs;
	double		 at;
	size_t		 n;
	int		 rc;

	sasl_plain_login(2, 1024, 100, 10000);
	at = c.reauth_at;
	ck_assert_msg(at >= 108.5 && at <= 109.5, "re-auth at %f", at);
	/* Nothing in flight: the timer is for the re-authentication. */
	ck_assert(kconn_check_timeouts(&c, 100) == at);

	/* A is in flight when the time comes. */
	ck_assert_int_eq(kconn_submit(&c, KAFKA_API_METADATA, enc_empty,
	    on_resp, &a, at - 1), 0);
	one_req(out, sizeof(out), &rq, KAFKA_API_METADATA);
	ck_assert(kconn_check_timeouts(&c, at - 0.5) == at);
	ck_assert_int_eq(c.state, KCONN_READY);
	ck_assert_uint_eq(kconn_output(&c, &p), 0);
	ck_assert(kconn_check_timeouts(&c, at) > at);
	ck_assert_int_eq(c.state, KCONN_REAUTH);
	ck_assert(kconn_ready(&c));
	ck_assert_int_eq(kconn_version(&c, KAFKA_API_METADATA), 12);
	/* Only the handshake went out, behind A. */
	one_req(out, sizeof(out), &hs, KAFKA_API_SASL_HANDSHAKE);
	ck_assert_int_gt(hs.corr, rq.corr);

	/* B waits for the re-authentication. */
	ck_assert_int_eq(kconn_submit(&c, KAFKA_API_METADATA, enc_empty,
	    on_resp, &b, at), 0);
	ck_assert_uint_eq(kconn_output(&c, &p), 0);
	/* A's answer arrives first (FIFO) and is delivered. */
	n = frame(in, rq.corr, mb, 2);
	ck_assert_int_eq(feed(in, n, n, at + 0.1), 0);
	ck_assert_int_eq(a.calls, 1);
	ck_assert_int_eq(a.err, KCONN_OK);
	ck_assert_int_eq(a.body[0], 0x42);
	ck_assert_int_eq(c.state, KCONN_REAUTH);
	ck_assert_uint_eq(kconn_output(&c, &p), 0);

	/* Re-authentication succeeds: B goes out, a new deadline is set. */
	reauth_answer(&hs, at + 0.2, 0, NULL, 10000, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(c.state, KCONN_READY);
	one_req(out, sizeof(out), &rq, KAFKA_API_METADATA);
	ck_assert_int_eq(b.calls, 0);
	ck_assert(c.reauth_at >= at + 0.2 + 8.5 &&
	    c.reauth_at <= at + 0.2 + 9.5);
	/* New requests flow directly again. */
	ck_assert_int_eq(kconn_submit(&c, KAFKA_API_METADATA, enc_empty,
	    on_resp, &d, at + 1), 0);
	one_req(out, sizeof(out), &rq, KAFKA_API_METADATA);
	close_conn();
}
END_TEST

/*
 * The broker refuses re-authenticating within a second of the last time:
 * a 1.5 s session re-authenticates after 1 s at the earliest, and a
 * session of under a second (an expiring token) just ends, closing the
 * connection so that the next request reconnects.
 */
START_TEST(test_sasl_short_sessions)
{
	struct seen	 a = { 0 };

	sasl_plain_login(2, 1024, 100, 1500);
	ck_assert_msg(c.reauth_at >= 101.0 && c.reauth_at <= 101.5,
	    "re-auth at %f", c.reauth_at);
	ck_assert(c.expire_at == 0);
	close_conn();

	sasl_plain_login(2, 1024, 100, 600);
	ck_assert(c.reauth_at == 0);
	ck_assert(c.expire_at >= 100.59 && c.expire_at <= 100.61);
	ck_assert(kconn_check_timeouts(&c, 100.1) == c.expire_at);
	ck_assert_int_eq(kconn_submit(&c, KAFKA_API_METADATA, enc_empty,
	    on_resp, &a, 100.2), 0);
	ck_assert(kconn_check_timeouts(&c, 100.61) < 0);
	ck_assert_int_eq(a.calls, 1);
	ck_assert_int_eq(a.err, KCONN_EDISCONNECT);
	ck_assert_ptr_nonnull(strstr(c.errmsg, "SASL session"));
}
END_TEST

/* A failed re-authentication fails the connection and every request. */
START_TEST(test_sasl_reauth_failed)
{
	struct seen	 a = { 0 };
	uint8_t		 out[1024];
	struct req	 hs;
	double		 at;
	int		 rc;

	sasl_plain_login(1, 1024, 0, 10000);
	at = c.reauth_at;
	ck_assert(at >= 8.5 && at <= 9.5);
	ck_assert(kconn_check_timeouts(&c, 9.6) > 0);
	ck_assert_int_eq(c.state, KCONN_REAUTH);
	one_req(out, sizeof(out), &hs, KAFKA_API_SASL_HANDSHAKE);
	ck_assert_int_eq(kconn_submit(&c, KAFKA_API_METADATA, enc_empty,
	    on_resp, &a, 9.6), 0);
	reauth_answer(&hs, 9.7, KAFKA_ERR_SASL_AUTHENTICATION_FAILED,
	    "Authentication failed: Invalid username or password", 0, &rc);
	ck_assert_int_eq(rc, -1);
	ck_assert_int_eq(c.state, KCONN_DEAD);
	ck_assert_int_eq(a.calls, 1);
	ck_assert_int_eq(a.err, KCONN_EAUTH);
	ck_assert_str_eq(a.msg, "SASL authentication failed: Authentication "
	    "failed: Invalid username or password");
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

	tc = tcase_create("sasl");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_sasl_plain);
	tcase_add_test(tc, test_sasl_failed);
	tcase_add_test(tc, test_sasl_unsupported_mechanism);
	tcase_add_test(tc, test_sasl_broker_too_old);
	tcase_add_test(tc, test_sasl_bad_conf);
	tcase_add_test(tc, test_sasl_split);
	tcase_add_test(tc, test_sasl_timeout);
	tcase_add_test(tc, test_sasl_oauthbearer_rejected);
	tcase_add_test(tc, test_sasl_reauth);
	tcase_add_test(tc, test_sasl_reauth_failed);
	tcase_add_test(tc, test_sasl_short_sessions);
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
