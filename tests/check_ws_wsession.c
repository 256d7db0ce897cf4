/*
 * check_ws_wsession.c -- the WebSocket session state machine (ws/session.c)
 * driven with byte vectors and a fake clock: no sockets.
 *
 * Every input script is fed whole, split at every offset and one octet
 * at a time, and must give the same messages, the same output octets,
 * the same state and the same failure status each way.  The message
 * callback echoes, so the output shows the order of answers, pongs and
 * close frames.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/uio.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ws/session.h"

#define MAXOUT		(256 * 1024)
#define MAXLOG		(256 * 1024)

static struct wsess		 s;
static struct wsess_conf	 conf;

/* What the callback saw, and what it does. */
static struct {
	uint8_t		 log[MAXLOG];	/* "op len:octets|" per message */
	size_t		 loglen;
	int		 messages;
	int		 echo;		/* echo each message */
	int		 pause_at;	/* pause at this message (1-based) */
	int		 close_at;	/* wsess_close() at this message */
	double		 now;
	const uint8_t	*fed;		/* the buffer being fed */
	size_t		 fedlen;
	int		 inplace;	/* messages delivered from it */
} g;

/* The outcome of a script. */
struct result {
	uint8_t		*log;
	size_t		 loglen;
	int		 messages;
	uint8_t		*out;
	size_t		 outlen;
	enum wsess_state st;
	uint16_t	 fail;
	int		 proto;		/* WSESS_EV_PROTO returned */
};

static void
cb_message(void *arg, int op, const uint8_t *p, size_t len)
{
	char	 h[32];
	int	 n;

	ck_assert_ptr_eq(arg, &g);
	ck_assert(op == WSESS_OP_TEXT || op == WSESS_OP_BINARY);
	ck_assert_uint_le(len, conf.max_message);
	g.messages++;
	if (len > 0 && g.fed != NULL && p >= g.fed && p + len <= g.fed +
	    g.fedlen)
		g.inplace++;
	n = snprintf(h, sizeof(h), "%d %zu:", op, len);
	ck_assert_uint_lt(g.loglen + (size_t)n + len + 1, MAXLOG);
	memcpy(g.log + g.loglen, h, (size_t)n);
	g.loglen += (size_t)n;
	memcpy(g.log + g.loglen, p, len);
	g.loglen += len;
	g.log[g.loglen++] = '|';
	if (g.close_at == g.messages) {
		ck_assert_int_eq(wsess_close(&s, 1000, "as you wish", g.now),
		    0);
		ck_assert_int_eq(wsess_send(&s, op, p, len),
		    WSESS_SEND_CLOSED);
	} else if (g.echo)
		ck_assert_int_eq(wsess_send(&s, op, p, len), WSESS_SEND_OK);
	if (g.pause_at == g.messages)
		wsess_pause(&s, 1, g.now);
}

static void
session_start(void)
{
	wsess_init(&s, &conf, cb_message, &g, g.now);
}

static void
setup(void)
{
	memset(&g, 0, sizeof(g));
	g.echo = 1;
	conf.max_message = 1000;
	conf.idle_timeout = 0;
	conf.close_timeout = 2.0;
	conf.send_timeout = 0;
	session_start();
}

static void
teardown(void)
{
	wsess_free(&s);
}

/* A masked client frame in f (len + 14 octets); returns its length. */
static size_t
cframe(uint8_t *f, int fin, int op, const void *p, size_t len)
{
	static const uint8_t	 mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
	size_t			 hl = 2, i;

	f[0] = (uint8_t)((fin ? 0x80 : 0) | op);
	if (len < 126)
		f[1] = (uint8_t)len;
	else if (len < 65536) {
		f[1] = 126;
		f[2] = (uint8_t)(len >> 8);
		f[3] = (uint8_t)len;
		hl = 4;
	} else {
		f[1] = 127;
		for (i = 0; i < 8; i++)
			f[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
		hl = 10;
	}
	f[1] |= 0x80;
	memcpy(f + hl, mask, 4);
	hl += 4;
	for (i = 0; i < len; i++)
		f[hl + i] = ((const uint8_t *)p)[i] ^ mask[i % 4];
	return hl + len;
}

/* A server frame (unmasked, FIN) in f; returns its length. */
static size_t
sframe(uint8_t *f, int op, const void *p, size_t len)
{
	size_t	 hl = 2, i;

	f[0] = (uint8_t)(0x80 | op);
	if (len < 126)
		f[1] = (uint8_t)len;
	else if (len < 65536) {
		f[1] = 126;
		f[2] = (uint8_t)(len >> 8);
		f[3] = (uint8_t)len;
		hl = 4;
	} else {
		f[1] = 127;
		for (i = 0; i < 8; i++)
			f[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
		hl = 10;
	}
	if (len > 0)
		memcpy(f + hl, p, len);
	return hl + len;
}

/* Feed octets (copied: the session unmasks in place); 1 if PROTO. */
static int
feed(const void *p, size_t len)
{
	uint8_t		*b;
	enum wsess_ev	 ev;

	b = malloc(len > 0 ? len : 1);
	ck_assert_ptr_nonnull(b);
	if (len > 0)
		memcpy(b, p, len);
	g.fed = b;
	g.fedlen = len;
	ev = wsess_recv(&s, len > 0 ? b : NULL, len, g.now);
	g.fed = NULL;
	free(b);
	ck_assert_int_ne(ev, WSESS_EV_NOMEM);
	return ev == WSESS_EV_PROTO;
}

/* Take every queued octet, step octets per wsess_sent() (0: all). */
static size_t
drain_step(uint8_t *out, size_t cap, size_t step)
{
	struct iovec	 iov[8];
	size_t		 len = 0, k, n;
	int		 niov, i;

	while ((niov = wsess_output(&s, iov, 8)) > 0) {
		n = 0;
		for (i = 0; i < niov; i++) {
			k = iov[i].iov_len;
			if (step > 0 && n + k > step)
				k = step - n;
			ck_assert_uint_le(len + k, cap);
			memcpy(out + len, iov[i].iov_base, k);
			len += k;
			n += k;
			if (step > 0 && n == step)
				break;
		}
		ck_assert_uint_gt(n, 0);
		wsess_sent(&s, n);
	}
	ck_assert(!wsess_want_write(&s));
	ck_assert_uint_eq(wsess_queued(&s), 0);
	return len;
}

static size_t
drain(uint8_t *out, size_t cap)
{
	return drain_step(out, cap, 0);
}

/* A fresh session fed in with cuts (ncuts offsets, ascending). */
static void
run_cuts(const uint8_t *in, size_t len, const size_t *cuts, size_t ncuts,
    struct result *r)
{
	size_t	 i, from = 0, to;

	wsess_free(&s);
	g.loglen = 0;
	g.messages = 0;
	session_start();
	memset(r, 0, sizeof(*r));
	for (i = 0; i <= ncuts; i++) {
		to = i < ncuts ? cuts[i] : len;
		if (to > from || (i == ncuts && from == 0))
			r->proto |= feed(in + from, to - from);
		from = to;
	}
	r->out = malloc(MAXOUT);
	ck_assert_ptr_nonnull(r->out);
	r->outlen = drain(r->out, MAXOUT);
	r->log = malloc(g.loglen + 1);
	ck_assert_ptr_nonnull(r->log);
	memcpy(r->log, g.log, g.loglen);
	r->loglen = g.loglen;
	r->messages = g.messages;
	r->st = wsess_state(&s);
	r->fail = s.fail;
	/* Nothing kept once drained and idle (or done). */
	if (!wsess_paused(&s)) {
		ck_assert_ptr_null(s.ibuf);
		if (!s.hdone && s.hdrlen == 0 && !s.frag) {
			ck_assert_ptr_null(s.msg);
			ck_assert_ptr_null(s.ctl);
		}
	}
}

static void
result_free(struct result *r)
{
	free(r->out);
	free(r->log);
}

static void
result_eq(const struct result *a, const struct result *b, const char *how)
{
	ck_assert_msg(a->messages == b->messages, "%s: %d messages, not %d",
	    how, b->messages, a->messages);
	ck_assert_msg(a->loglen == b->loglen && memcmp(a->log, b->log,
	    a->loglen) == 0, "%s: other messages", how);
	ck_assert_msg(a->outlen == b->outlen && memcmp(a->out, b->out,
	    a->outlen) == 0, "%s: other output (%zu, not %zu octets)", how,
	    b->outlen, a->outlen);
	ck_assert_msg(a->st == b->st, "%s: state %d, not %d", how, b->st,
	    a->st);
	ck_assert_msg(a->fail == b->fail, "%s: fail %u, not %u", how,
	    b->fail, a->fail);
	ck_assert_msg(a->proto == b->proto, "%s: proto %d, not %d", how,
	    b->proto, a->proto);
}

/*
 * Feed whole, split at every offset, one octet at a time: the same
 * outcome each way, which is returned (the whole feed's) in w.
 */
static void
check_splits(const uint8_t *in, size_t len, struct result *w)
{
	struct result	 r;
	size_t		*cuts, i, k;
	char		 how[64];

	cuts = calloc(len + 1, sizeof(*cuts));
	ck_assert_ptr_nonnull(cuts);
	run_cuts(in, len, cuts, 0, w);
	for (k = 1; k < len; k++) {
		cuts[0] = k;
		run_cuts(in, len, cuts, 1, &r);
		(void)snprintf(how, sizeof(how), "split at %zu", k);
		result_eq(w, &r, how);
		result_free(&r);
	}
	for (i = 0; i + 1 < len; i++)
		cuts[i] = i + 1;
	run_cuts(in, len, cuts, len > 0 ? len - 1 : 0, &r);
	result_eq(w, &r, "one octet at a time");
	result_free(&r);
	free(cuts);
}

/* Expected output: server frames appended to a buffer. */
struct expect {
	uint8_t	 b[MAXOUT];
	size_t	 len;
};

static void
ex_frame(struct expect *e, int op, const void *p, size_t len)
{
	ck_assert_uint_lt(e->len + len + 10, sizeof(e->b));
	e->len += sframe(e->b + e->len, op, p, len);
}

static void
ex_close(struct expect *e, unsigned int code, const char *reason)
{
	uint8_t	 p[125];
	size_t	 n = strlen(reason);

	p[0] = (uint8_t)(code >> 8);
	p[1] = (uint8_t)code;
	memcpy(p + 2, reason, n);
	ex_frame(e, WSESS_OP_CLOSE, p, n + 2);
}

static void
out_eq(const struct result *r, const struct expect *e)
{
	size_t	 i;

	for (i = 0; i < r->outlen && i < e->len; i++)
		if (r->out[i] != e->b[i])
			break;
	ck_assert_msg(r->outlen == e->len && i == e->len,
	    "output differs at octet %zu (%zu octets, expected %zu)", i,
	    r->outlen, e->len);
}

/* Script builder. */
struct script {
	uint8_t	 b[MAXOUT];
	size_t	 len;
};

static void
sc_frame(struct script *sc, int fin, int op, const void *p, size_t len)
{
	ck_assert_uint_lt(sc->len + len + 14, sizeof(sc->b));
	sc->len += cframe(sc->b + sc->len, fin, op, p, len);
}

static void
sc_raw(struct script *sc, const void *p, size_t len)
{
	ck_assert_uint_lt(sc->len + len, sizeof(sc->b));
	memcpy(sc->b + sc->len, p, len);
	sc->len += len;
}

/*
 * Frames.
 */
START_TEST(test_echo)
{
	static struct script	 sc;
	static struct expect	 e;
	struct result		 r;
	uint8_t			 mid[300];
	size_t			 i;

	for (i = 0; i < sizeof(mid); i++)
		mid[i] = (uint8_t)i;
	memset(&sc, 0, sizeof(sc));
	memset(&e, 0, sizeof(e));
	sc_frame(&sc, 1, 1, "hello", 5);
	sc_frame(&sc, 1, 2, "\x00\x01\x02", 3);
	sc_frame(&sc, 1, 2, "", 0);
	sc_frame(&sc, 1, 1, "", 0);
	sc_frame(&sc, 1, 2, mid, 125);
	sc_frame(&sc, 1, 2, mid, 126);
	sc_frame(&sc, 1, 2, mid, sizeof(mid));
	ex_frame(&e, 1, "hello", 5);
	ex_frame(&e, 2, "\x00\x01\x02", 3);
	ex_frame(&e, 2, "", 0);
	ex_frame(&e, 1, "", 0);
	ex_frame(&e, 2, mid, 125);
	ex_frame(&e, 2, mid, 126);
	ex_frame(&e, 2, mid, sizeof(mid));
	check_splits(sc.b, sc.len, &r);
	ck_assert_int_eq(r.messages, 7);
	ck_assert_int_eq(r.st, WSESS_OPEN);
	ck_assert_int_eq(r.proto, 0);
	out_eq(&r, &e);
	ck_assert(wsess_want_read(&s));
	result_free(&r);
}
END_TEST

/* Fragments, a ping between them: the pong goes first. */
START_TEST(test_fragmented)
{
	static struct script	 sc;
	static struct expect	 e;
	struct result		 r;

	memset(&sc, 0, sizeof(sc));
	memset(&e, 0, sizeof(e));
	sc_frame(&sc, 0, 1, "Hel", 3);
	sc_frame(&sc, 0, 0, "lo ", 3);
	sc_frame(&sc, 1, 9, "p", 1);
	sc_frame(&sc, 0, 0, "", 0);
	sc_frame(&sc, 1, 0, "you", 3);
	/* A character cut over fragments, a binary message not checked. */
	sc_frame(&sc, 0, 1, "\xf0\x9f", 2);
	sc_frame(&sc, 0, 0, "\x98", 1);
	sc_frame(&sc, 1, 0, "\x80", 1);
	sc_frame(&sc, 1, 2, "\xff\xc3", 2);
	/* Unsolicited pongs are ignored. */
	sc_frame(&sc, 1, 0xa, "x", 1);
	ex_frame(&e, 0xa, "p", 1);
	ex_frame(&e, 1, "Hello you", 9);
	ex_frame(&e, 1, "\xf0\x9f\x98\x80", 4);
	ex_frame(&e, 2, "\xff\xc3", 2);
	check_splits(sc.b, sc.len, &r);
	ck_assert_int_eq(r.messages, 3);
	out_eq(&r, &e);
	result_free(&r);
}
END_TEST

/* Pings: a pong leads the answers not started; one pong for a burst. */
START_TEST(test_ping)
{
	static struct script	 sc;
	static struct expect	 e;
	struct result		 r;
	struct iovec		 iov[4];
	uint8_t			 out[256];
	size_t			 n;

	memset(&sc, 0, sizeof(sc));
	memset(&e, 0, sizeof(e));
	sc_frame(&sc, 1, 2, "hi", 2);
	sc_frame(&sc, 1, 9, "one", 3);
	sc_frame(&sc, 1, 9, "two", 3);
	sc_frame(&sc, 1, 2, "ho", 2);
	/* RFC 6455 5.5.3: the latest ping's payload only. */
	ex_frame(&e, 0xa, "two", 3);
	ex_frame(&e, 2, "hi", 2);
	ex_frame(&e, 2, "ho", 2);
	check_splits(sc.b, sc.len, &r);
	out_eq(&r, &e);
	result_free(&r);

	/* A frame started goes on; the pong follows it. */
	memset(&sc, 0, sizeof(sc));
	sc_frame(&sc, 1, 2, "abcdef", 6);
	sc_frame(&sc, 1, 2, "gh", 2);
	(void)feed(sc.b, sc.len);
	ck_assert_int_eq(wsess_output(&s, iov, 4), 4);
	ck_assert_uint_eq(iov[0].iov_len, 2);
	ck_assert_uint_eq(iov[1].iov_len, 6);
	wsess_sent(&s, 3);
	memset(&sc, 0, sizeof(sc));
	sc_frame(&sc, 1, 9, "P", 1);
	(void)feed(sc.b, sc.len);
	memset(&e, 0, sizeof(e));
	ex_frame(&e, 2, "abcdef", 6);
	ex_frame(&e, 0xa, "P", 1);
	ex_frame(&e, 2, "gh", 2);
	memcpy(out, e.b, 3);
	n = drain(out + 3, sizeof(out) - 3);
	ck_assert_uint_eq(n + 3, e.len);
	ck_assert_int_eq(memcmp(out, e.b, e.len), 0);
}
END_TEST

/*
 * Frame header errors: each closes with 1002 after the answer to the
 * frame before it, checked on the header alone.
 */
START_TEST(test_bad_headers)
{
	static const struct {
		const char	*p;
		size_t		 len;
	} cases[] = {
		{ "\x89\xfe\x00\x7e", 4 },		/* ping of 126 */
		{ "\x09\x80\0\0\0\0", 6 },		/* fragmented ping */
		{ "\x82\xfe\x00\x05", 4 },		/* non-minimal 16 */
		{ "\x82\xff\0\0\0\0\0\0\xff\xff", 10 },	/* non-minimal 64 */
		{ "\x82\xff\x80\0\0\0\0\0\0\0", 10 },	/* 2^63 */
		{ "\x88\x81\0\0\0\0\x03", 7 },		/* close of 1 */
		{ "\xc1\x81\0\0\0\0a", 7 },		/* RSV1 */
		{ "\xa1\x81\0\0\0\0a", 7 },		/* RSV2 */
		{ "\x91\x81\0\0\0\0a", 7 },		/* RSV3 */
		{ "\x83\x80\0\0\0\0", 6 },		/* opcode 3 */
		{ "\x87\x80\0\0\0\0", 6 },		/* opcode 7 */
		{ "\x8b\x80\0\0\0\0", 6 },		/* opcode 11 */
		{ "\x8f\x80\0\0\0\0", 6 },		/* opcode 15 */
		{ "\x81\x01" "a", 3 },			/* unmasked */
		{ "\x80\x81\0\0\0\0a", 7 },		/* continuation */
		{ "\x02\x81\0\0\0\0a" "\x82\x81\0\0\0\0b", 14 }, /* new */
		{ "\x01\x81\0\0\0\0a" "\x81\x81\0\0\0\0b", 14 },
		{ "\x88\x82\0\0\0\0\x03\xed", 8 },	/* status 1005 */
	};
	static struct script	 sc;
	static struct expect	 e;
	struct result		 r;
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&sc, 0, sizeof(sc));
		memset(&e, 0, sizeof(e));
		sc_frame(&sc, 1, 1, "ok", 2);
		sc_raw(&sc, cases[i].p, cases[i].len);
		/* Ignored. */
		sc_frame(&sc, 1, 1, "after", 5);
		ex_frame(&e, 1, "ok", 2);
		ex_close(&e, 1002, "");
		check_splits(sc.b, sc.len, &r);
		ck_assert_msg(r.messages == 1, "case %zu", i);
		ck_assert_int_eq(r.fail, 1002);
		ck_assert_int_eq(r.proto, 1);
		ck_assert_int_eq(r.st, WSESS_FAILED);
		out_eq(&r, &e);
		ck_assert(!wsess_want_read(&s));
		result_free(&r);
	}
	/* Refused on the header, before the masking key or payload. */
	wsess_free(&s);
	session_start();
	ck_assert_int_eq(feed("\x82\xff\x80\0\0\0\0\0\0\0", 10), 1);
	ck_assert_int_eq(s.fail, 1002);
}
END_TEST

/* Payloads checked whole: close status and reason, text UTF-8. */
static const struct {
	struct {
		int		 fin;
		int		 op;
		const char	*p;
		size_t		 len;
	} f[3];
	int		 n;
	unsigned int	 code;
} bad_payloads[] = {
	{ { { 1, 8, "\x03\xed", 2 } }, 1, 1002 },		/* 1005 */
	{ { { 1, 8, "\x03\xee" "abc", 5 } }, 1, 1002 },		/* 1006 */
	{ { { 1, 8, "\x03\xf7", 2 } }, 1, 1002 },		/* 1015 */
	{ { { 1, 8, "\x03\xec", 2 } }, 1, 1002 },		/* 1004 */
	{ { { 1, 8, "\x03\xe7", 2 } }, 1, 1002 },		/* 999 */
	{ { { 1, 8, "\x00\x00", 2 } }, 1, 1002 },		/* 0 */
	{ { { 1, 8, "\x03\xf8", 2 } }, 1, 1002 },		/* 1016 */
	{ { { 1, 8, "\x0b\xb7", 2 } }, 1, 1002 },		/* 2999 */
	{ { { 1, 8, "\x13\x88", 2 } }, 1, 1002 },		/* 5000 */
	{ { { 1, 8, "\xff\xff", 2 } }, 1, 1002 },		/* 65535 */
	{ { { 1, 8, "\x03\xe8" "ok\xff", 5 } }, 1, 1007 },
	{ { { 1, 8, "\x03\xe8\xc0\xaf", 4 } }, 1, 1007 },
	{ { { 1, 8, "\x0f\xa0\xed\xa0\x80", 5 } }, 1, 1007 },
	{ { { 1, 8, "\x03\xe8\xe2\x82", 4 } }, 1, 1007 },
	{ { { 1, 1, "\xc3\x28", 2 } }, 1, 1007 },
	{ { { 1, 1, "ab\xff", 3 } }, 1, 1007 },
	{ { { 1, 1, "\xe0\x80\xaf", 3 } }, 1, 1007 },
	{ { { 1, 1, "\xc1\xbf", 2 } }, 1, 1007 },
	{ { { 1, 1, "\xed\xa0\x80", 3 } }, 1, 1007 },
	{ { { 1, 1, "\xf4\x90\x80\x80", 4 } }, 1, 1007 },
	{ { { 1, 1, "\xf5\x80\x80\x80", 4 } }, 1, 1007 },
	{ { { 1, 1, "a\xe2\x82", 3 } }, 1, 1007 },
	{ { { 0, 1, "ok\xe2", 3 }, { 1, 0, "\x82\x28", 2 } }, 2, 1007 },
	{ { { 0, 1, "\xf0\x9f", 2 }, { 1, 0, "\x98", 1 } }, 2, 1007 },
	{ { { 0, 1, "\xe2", 1 }, { 0, 0, "\x82", 1 }, { 1, 0, "", 0 } },
	    3, 1007 },
	{ { { 0, 1, "ok", 2 }, { 0, 0, "", 0 }, { 1, 0, "\x80", 1 } },
	    3, 1007 },
};

START_TEST(test_bad_payloads)
{
	static struct script	 sc;
	static struct expect	 e;
	struct result		 r;
	int			 j;

	memset(&sc, 0, sizeof(sc));
	memset(&e, 0, sizeof(e));
	sc_frame(&sc, 1, 2, "ok", 2);
	for (j = 0; j < bad_payloads[_i].n; j++)
		sc_frame(&sc, bad_payloads[_i].f[j].fin,
		    bad_payloads[_i].f[j].op, bad_payloads[_i].f[j].p,
		    bad_payloads[_i].f[j].len);
	sc_frame(&sc, 1, 2, "late", 4);
	ex_frame(&e, 2, "ok", 2);
	ex_close(&e, bad_payloads[_i].code, "");
	check_splits(sc.b, sc.len, &r);
	ck_assert_int_eq(r.messages, 1);
	ck_assert_uint_eq(r.fail, bad_payloads[_i].code);
	ck_assert_int_eq(r.st, WSESS_FAILED);
	out_eq(&r, &e);
	result_free(&r);
}
END_TEST

/* Every valid status is echoed with its reason (1012-1014 as 1000). */
START_TEST(test_good_close)
{
	static const struct {
		const char	*p;
		size_t		 len;
		unsigned int	 echo;
	} closes[] = {
		{ "\x03\xe8", 2, 1000 },
		{ "\x03\xeb" "bye", 5, 1003 },
		{ "\x03\xef", 2, 1007 },
		{ "\x03\xf3", 2, 1011 },
		{ "\x03\xf4" "restart", 9, 1000 },
		{ "\x03\xf5", 2, 1000 },
		{ "\x03\xf6", 2, 1000 },
		{ "\x0b\xb8" "caf\xc3\xa9", 7, 3000 },
		{ "\x13\x87" "\xf4\x8f\xbf\xbf\xf0\x90\x80\x80", 10, 4999 },
	};
	static struct script	 sc;
	static struct expect	 e;
	struct result		 r;
	char			 reason[125];
	size_t			 i;

	for (i = 0; i < sizeof(closes) / sizeof(closes[0]); i++) {
		memset(&sc, 0, sizeof(sc));
		memset(&e, 0, sizeof(e));
		sc_frame(&sc, 1, 8, closes[i].p, closes[i].len);
		memcpy(reason, closes[i].p + 2, closes[i].len - 2);
		reason[closes[i].len - 2] = '\0';
		ex_close(&e, closes[i].echo, reason);
		check_splits(sc.b, sc.len, &r);
		out_eq(&r, &e);
		ck_assert_int_eq(r.st, WSESS_CLOSED);
		ck_assert_uint_eq(wsess_status_received(&s),
		    ((unsigned int)(uint8_t)closes[i].p[0] << 8) |
		    (uint8_t)closes[i].p[1]);
		ck_assert_uint_eq(wsess_status_sent(&s), closes[i].echo);
		result_free(&r);
	}
	/* An empty close gets an empty close back. */
	memset(&sc, 0, sizeof(sc));
	memset(&e, 0, sizeof(e));
	sc_frame(&sc, 1, 8, "", 0);
	ex_frame(&e, 8, "", 0);
	check_splits(sc.b, sc.len, &r);
	out_eq(&r, &e);
	ck_assert_int_eq(r.st, WSESS_CLOSED);
	ck_assert_uint_eq(wsess_status_received(&s), 1005);
	ck_assert_uint_eq(wsess_status_sent(&s), 1005);
	result_free(&r);
}
END_TEST

/*
 * "Ask, then close when done": the answers go out before the echo; what
 * follows the close frame is ignored.
 */
START_TEST(test_request_close)
{
	static struct script	 sc;
	static struct expect	 e;
	struct result		 r;
	uint8_t			 big[900];
	size_t			 i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 13);
	memset(&sc, 0, sizeof(sc));
	memset(&e, 0, sizeof(e));
	sc_frame(&sc, 1, 2, big, sizeof(big));
	sc_frame(&sc, 1, 9, "p", 1);
	sc_frame(&sc, 1, 2, "ask", 3);
	sc_frame(&sc, 1, 8, "\x0f\xa0" "done", 6);
	sc_frame(&sc, 1, 2, "late", 4);
	sc_frame(&sc, 1, 8, "\x03\xe9", 2);
	sc_raw(&sc, "\xff\xff\xff", 3);		/* not even a frame */
	ex_frame(&e, 0xa, "p", 1);
	ex_frame(&e, 2, big, sizeof(big));
	ex_frame(&e, 2, "ask", 3);
	ex_close(&e, 4000, "done");
	check_splits(sc.b, sc.len, &r);
	ck_assert_int_eq(r.messages, 2);
	ck_assert_int_eq(r.proto, 0);
	ck_assert_int_eq(r.st, WSESS_CLOSED);
	out_eq(&r, &e);
	result_free(&r);
}
END_TEST

START_TEST(test_too_big)
{
	static struct script	 sc;
	static struct expect	 e;
	struct result		 r;
	uint8_t			 buf[1001];

	memset(buf, 'x', sizeof(buf));
	memset(&sc, 0, sizeof(sc));
	memset(&e, 0, sizeof(e));
	sc_frame(&sc, 1, 2, buf, 1000);
	sc_frame(&sc, 1, 2, buf, 1001);
	ex_frame(&e, 2, buf, 1000);
	ex_close(&e, 1009, "");
	check_splits(sc.b, sc.len, &r);
	ck_assert_int_eq(r.messages, 1);
	ck_assert_int_eq(r.fail, 1009);
	out_eq(&r, &e);
	result_free(&r);

	/* Reassembled: the limit is on the message. */
	memset(&sc, 0, sizeof(sc));
	memset(&e, 0, sizeof(e));
	sc_frame(&sc, 0, 2, buf, 600);
	sc_frame(&sc, 1, 9, "", 0);
	sc_frame(&sc, 1, 0, buf, 401);
	ex_frame(&e, 0xa, "", 0);
	ex_close(&e, 1009, "");
	check_splits(sc.b, sc.len, &r);
	ck_assert_int_eq(r.messages, 0);
	ck_assert_int_eq(r.fail, 1009);
	out_eq(&r, &e);
	result_free(&r);

	/* On the header alone, before the masking key. */
	wsess_free(&s);
	session_start();
	ck_assert_int_eq(feed("\x82\xfe\x03\xe9", 4), 1);
	ck_assert_int_eq(s.fail, 1009);
}
END_TEST

/*
 * Memory: nothing held between whole frames; a cut frame holds its
 * header in the struct, a cut control frame 125 octets, a cut message
 * what arrived (doubling), never the size it announces.
 */
START_TEST(test_memory)
{
	uint8_t	 f[1100], big[1000];
	size_t	 n;

	conf.max_message = 100000;
	memset(big, 'b', sizeof(big));
	/* A whole message in the input is delivered from there. */
	n = cframe(f, 1, 2, "hi", 2);
	(void)feed(f, n);
	ck_assert_int_eq(g.inplace, 1);
	ck_assert_ptr_null(s.ibuf);
	ck_assert_ptr_null(s.msg);
	ck_assert_ptr_null(s.ctl);
	/* A header cut short: no allocation. */
	n = cframe(f, 1, 2, big, 1000);
	(void)feed(f, 3);
	ck_assert_ptr_null(s.ibuf);
	ck_assert_ptr_null(s.msg);
	ck_assert_uint_eq(s.hdrlen, 3);
	/* Some payload: what came, rounded up. */
	(void)feed(f + 3, 10);
	ck_assert_ptr_nonnull(s.msg);
	ck_assert_uint_le(s.mcap, 256);
	(void)feed(f + 13, n - 13);
	ck_assert_ptr_null(s.msg);
	ck_assert_int_eq(g.messages, 2);
	ck_assert_int_eq(g.inplace, 1);
	/* Never more than the message announced. */
	n = cframe(f, 1, 2, big, 300);
	(void)feed(f, 100);
	ck_assert_uint_eq(s.mcap, 256);
	(void)feed(f + 100, 200);
	ck_assert_uint_eq(s.mcap, 300);
	(void)feed(f + 300, n - 300);
	ck_assert_int_eq(g.messages, 3);
	/* A control frame cut in its payload. */
	n = cframe(f, 1, 9, "ping!", 5);
	(void)feed(f, 8);
	ck_assert_ptr_nonnull(s.ctl);
	(void)feed(f + 8, n - 8);
	ck_assert_ptr_null(s.ctl);
	/* A header announcing 60000 octets and one of them. */
	f[0] = 0x82;
	f[1] = 0x80 | 126;
	f[2] = 60000 >> 8;
	f[3] = 60000 & 0xff;
	memset(f + 4, 0, 5);
	(void)feed(f, 9);
	ck_assert_uint_le(s.mcap, 256);
	ck_assert_ptr_null(s.ibuf);
}
END_TEST

/*
 * Close handshake.
 */
START_TEST(test_our_close)
{
	uint8_t		 f[64], out[512];
	struct expect	 e;
	size_t		 n;
	char		 reason[200];

	/* After the answers queued before it; then nothing more. */
	ck_assert_int_eq(wsess_send(&s, 2, (const uint8_t *)"a1", 2),
	    WSESS_SEND_OK);
	ck_assert_int_eq(wsess_close(&s, 1001, "going", 5.0), 0);
	ck_assert_int_eq(wsess_state(&s), WSESS_CLOSING);
	ck_assert_int_eq(wsess_send(&s, 2, (const uint8_t *)"a2", 2),
	    WSESS_SEND_CLOSED);
	ck_assert_int_eq(wsess_close(&s, 1000, "again", 5.0), 0);
	ck_assert(wsess_want_read(&s));
	ck_assert_uint_eq(wsess_status_sent(&s), 1006);
	/* Data still checked, not delivered; a ping still answered. */
	n = cframe(f, 1, 2, "x", 1);
	n += cframe(f + n, 1, 9, "p", 1);
	(void)feed(f, n);
	ck_assert_int_eq(g.messages, 0);
	memset(&e, 0, sizeof(e));
	ex_frame(&e, 0xa, "p", 1);
	ex_frame(&e, 2, "a1", 2);
	ex_close(&e, 1001, "going");
	n = drain(out, sizeof(out));
	ck_assert_uint_eq(n, e.len);
	ck_assert_int_eq(memcmp(out, e.b, n), 0);
	ck_assert_uint_eq(wsess_status_sent(&s), 1001);
	ck_assert_int_eq(wsess_state(&s), WSESS_CLOSING);
	/* Our close is out: no pong any more. */
	n = cframe(f, 1, 9, "q", 1);
	(void)feed(f, n);
	ck_assert(!wsess_want_write(&s));
	/* The peer's close: done, no echo. */
	n = cframe(f, 1, 8, "\x03\xe9", 2);
	(void)feed(f, n);
	ck_assert_int_eq(wsess_state(&s), WSESS_CLOSED);
	ck_assert(!wsess_want_write(&s));
	ck_assert(!wsess_want_read(&s));
	ck_assert_uint_eq(wsess_status_received(&s), 1001);

	/* The peer's close before ours is written: no echo either. */
	wsess_free(&s);
	session_start();
	ck_assert_int_eq(wsess_close(&s, 4000, NULL, 0), 0);
	n = cframe(f, 1, 8, "\x03\xe8", 2);
	(void)feed(f, n);
	ck_assert_int_eq(wsess_state(&s), WSESS_CLOSING);
	memset(&e, 0, sizeof(e));
	ex_close(&e, 4000, "");
	n = drain(out, sizeof(out));
	ck_assert_uint_eq(n, e.len);
	ck_assert_int_eq(memcmp(out, e.b, n), 0);
	ck_assert_int_eq(wsess_state(&s), WSESS_CLOSED);

	/* A bad frame after our close: failed, lingering. */
	wsess_free(&s);
	session_start();
	ck_assert_int_eq(wsess_close(&s, 1000, "", 0), 0);
	(void)drain(out, sizeof(out));
	ck_assert_int_eq(feed("\x81\x01" "a", 3), 1);
	ck_assert_int_eq(wsess_state(&s), WSESS_FAILED);
	ck_assert(!wsess_want_write(&s));

	/* The reason is cut at 123 octets, on a character boundary. */
	wsess_free(&s);
	session_start();
	memset(reason, 'r', sizeof(reason));
	memcpy(reason + 121, "\xc3\xa9", 2);
	reason[150] = '\0';
	ck_assert_int_eq(wsess_close(&s, 1000, reason, 0), 0);
	n = drain(out, sizeof(out));
	ck_assert_uint_eq(n, 2 + 2 + 123);
	ck_assert_uint_eq(out[1], 125);
	memcpy(reason + 122, "\xc3\xa9", 2);
	wsess_free(&s);
	session_start();
	ck_assert_int_eq(wsess_close(&s, 1000, reason, 0), 0);
	n = drain(out, sizeof(out));
	ck_assert_uint_eq(n, 2 + 2 + 122);

	/* Code 0: a close frame without a status. */
	wsess_free(&s);
	session_start();
	ck_assert_int_eq(wsess_close(&s, 0, "ignored", 0), 0);
	n = drain(out, sizeof(out));
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(memcmp(out, "\x88\x00", 2), 0);
	ck_assert_uint_eq(wsess_status_sent(&s), 1005);
}
END_TEST

/* wsess_close() from the message callback: the rest is not delivered. */
START_TEST(test_close_in_callback)
{
	static struct script	 sc;
	static struct expect	 e;
	struct result		 r;

	g.close_at = 2;
	memset(&sc, 0, sizeof(sc));
	memset(&e, 0, sizeof(e));
	sc_frame(&sc, 1, 1, "first", 5);
	sc_frame(&sc, 1, 1, "close me", 8);
	sc_frame(&sc, 1, 1, "dropped", 7);
	sc_frame(&sc, 1, 8, "\x03\xe8", 2);
	ex_frame(&e, 1, "first", 5);
	ex_close(&e, 1000, "as you wish");
	check_splits(sc.b, sc.len, &r);
	ck_assert_int_eq(r.messages, 2);
	ck_assert_int_eq(r.st, WSESS_CLOSED);
	out_eq(&r, &e);
	result_free(&r);
}
END_TEST

/*
 * Pause.
 */

/* Paused from the callback: no other callback, the rest kept, in order. */
START_TEST(test_pause_callback)
{
	static struct script	 sc;
	static struct expect	 e;
	uint8_t			 out[1024];
	size_t			 i, n, cut;
	char			 m[8];

	memset(&sc, 0, sizeof(sc));
	memset(&e, 0, sizeof(e));
	/* Nothing written yet: the pong goes ahead of every answer. */
	ex_frame(&e, 0xa, "", 0);
	for (i = 0; i < 5; i++) {
		(void)snprintf(m, sizeof(m), "m%zu", i);
		sc_frame(&sc, 1, 2, m, 2);
		ex_frame(&e, 2, m, 2);
		if (i == 1)
			sc_frame(&sc, 1, 9, "", 0);
	}
	/* The same for every cut of the input into two feeds. */
	for (cut = 0; cut <= sc.len; cut++) {
		wsess_free(&s);
		g.messages = 0;
		g.pause_at = 1;
		session_start();
		(void)feed(sc.b, cut);
		ck_assert_int_le(g.messages, 1);
		/* Input while paused is kept, not processed. */
		(void)feed(sc.b + cut, sc.len - cut);
		ck_assert_int_eq(g.messages, 1);
		ck_assert(wsess_paused(&s));
		ck_assert(!wsess_want_read(&s));
		ck_assert(wsess_buffered(&s));
		wsess_pause(&s, 1, 0);		/* twice is once */
		g.pause_at = 0;
		wsess_pause(&s, 0, 0);
		/* Nothing from inside the resume. */
		ck_assert_int_eq(g.messages, 1);
		(void)feed(NULL, 0);
		ck_assert_int_eq(g.messages, 5);
		ck_assert(!wsess_buffered(&s));
		ck_assert_ptr_null(s.ibuf);
		n = drain(out, sizeof(out));
		ck_assert_uint_eq(n, e.len);
		ck_assert_msg(memcmp(out, e.b, n) == 0, "cut %zu", cut);
	}
}
END_TEST

/* Paused outside a callback, in the middle of a frame. */
START_TEST(test_pause_partial)
{
	uint8_t	 f[64];
	size_t	 n;

	n = cframe(f, 1, 2, "abcdefgh", 8);
	(void)feed(f, 3);
	wsess_pause(&s, 1, 1.0);
	(void)feed(f + 3, 5);
	(void)feed(f + 8, n - 8);
	ck_assert_int_eq(g.messages, 0);
	ck_assert(wsess_buffered(&s));
	/* Resumed and paused again before processing: still paused. */
	wsess_pause(&s, 0, 1.0);
	wsess_pause(&s, 1, 1.0);
	(void)feed(NULL, 0);
	ck_assert_int_eq(g.messages, 0);
	wsess_pause(&s, 0, 1.0);
	(void)feed(NULL, 0);
	ck_assert_int_eq(g.messages, 1);
	ck_assert_ptr_null(s.ibuf);
}
END_TEST

/* Closing while paused: input is read again, delivered to nobody. */
START_TEST(test_pause_close)
{
	uint8_t	 f[64], out[256];
	size_t	 n;

	g.pause_at = 1;
	n = cframe(f, 1, 2, "one", 3);
	n += cframe(f + n, 1, 2, "two", 3);
	n += cframe(f + n, 1, 8, "\x03\xe8" "bye", 5);
	(void)feed(f, n);
	ck_assert_int_eq(g.messages, 1);
	ck_assert_int_eq(wsess_state(&s), WSESS_OPEN);
	ck_assert_int_eq(wsess_close(&s, 1001, "going", 0), 0);
	ck_assert(!wsess_paused(&s));
	ck_assert(wsess_want_read(&s));
	(void)feed(NULL, 0);
	ck_assert_int_eq(g.messages, 1);
	ck_assert_uint_eq(wsess_status_received(&s), 1000);
	n = drain(out, sizeof(out));
	ck_assert_int_eq(wsess_state(&s), WSESS_CLOSED);
	/* The echo of "one", then our close; no echo of the peer's. */
	ck_assert_uint_eq(n, 5 + 2 + 2 + 5);
	ck_assert_int_eq(memcmp(out + 5, "\x88\x07\x03\xe9going", 9), 0);
}
END_TEST

/*
 * Deadlines, with a fake clock.
 */
START_TEST(test_idle)
{
	uint8_t	 f[64], out[64];
	size_t	 n;

	wsess_free(&s);
	conf.idle_timeout = 10;
	g.now = 100;
	session_start();
	ck_assert_double_eq(wsess_next_deadline(&s), 110);
	ck_assert_int_eq(wsess_timeout(&s, 109.9), WSESS_EV_NONE);
	/* Input moves it. */
	g.now = 105;
	n = cframe(f, 1, 9, "", 0);
	(void)feed(f, n);
	(void)drain(out, sizeof(out));
	ck_assert_double_eq(wsess_next_deadline(&s), 115);
	ck_assert_int_eq(wsess_timeout(&s, 110), WSESS_EV_NONE);
	/* Paused time does not count. */
	wsess_pause(&s, 1, 107);
	ck_assert_double_eq(wsess_next_deadline(&s), 0);
	ck_assert_int_eq(wsess_timeout(&s, 200), WSESS_EV_NONE);
	wsess_pause(&s, 0, 130);
	ck_assert_double_eq(wsess_next_deadline(&s), 138);
	/* Idle: close 1001, then the close timeout. */
	ck_assert_int_eq(wsess_timeout(&s, 138), WSESS_EV_IDLE);
	ck_assert_int_eq(wsess_state(&s), WSESS_CLOSING);
	n = drain(out, sizeof(out));
	ck_assert_int_eq(memcmp(out, "\x88\x0e\x03\xe9idle timeout", n), 0);
	ck_assert_double_eq(wsess_next_deadline(&s), 140);
	ck_assert_int_eq(wsess_timeout(&s, 139), WSESS_EV_NONE);
	ck_assert_int_eq(wsess_timeout(&s, 140), WSESS_EV_CLOSE_TIMEOUT);
}
END_TEST

START_TEST(test_close_timeout)
{
	uint8_t	 f[64], out[64];
	size_t	 n;

	/* No idle timeout: no deadline until closing. */
	ck_assert_double_eq(wsess_next_deadline(&s), 0);
	g.now = 50;
	n = cframe(f, 1, 8, "\x03\xe8", 2);
	(void)feed(f, n);
	ck_assert_double_eq(wsess_next_deadline(&s), 52);
	ck_assert_int_eq(wsess_timeout(&s, 51.9), WSESS_EV_NONE);
	ck_assert_int_eq(wsess_timeout(&s, 52), WSESS_EV_CLOSE_TIMEOUT);
	/* Done: no deadline. */
	(void)drain(out, sizeof(out));
	ck_assert_int_eq(wsess_state(&s), WSESS_CLOSED);
	ck_assert_double_eq(wsess_next_deadline(&s), 0);

	/* Ours, and a bad frame: from the first close. */
	wsess_free(&s);
	session_start();
	ck_assert_int_eq(wsess_close(&s, 1000, NULL, 10), 0);
	g.now = 11;
	ck_assert_int_eq(feed("\x81\x01" "a", 3), 1);
	ck_assert_double_eq(wsess_next_deadline(&s), 12);
}
END_TEST

/* Output the peer takes none of: dropped after send_timeout. */
START_TEST(test_send_timeout)
{
	uint8_t		 out[64];
	struct iovec	 iov[4];

	wsess_free(&s);
	conf.send_timeout = 30;
	conf.idle_timeout = 100;
	g.now = 100;
	session_start();
	ck_assert_double_eq(wsess_next_deadline(&s), 200);
	/* Blocked at 110: the earlier deadline wins. */
	ck_assert_int_eq(wsess_send(&s, WSESS_OP_TEXT,
	    (const uint8_t *)"hello", 5), WSESS_SEND_OK);
	wsess_blocked(&s, 1, 110);
	ck_assert_double_eq(wsess_next_deadline(&s), 140);
	/* Still blocked later: the first time stands. */
	wsess_blocked(&s, 1, 120);
	ck_assert_double_eq(wsess_next_deadline(&s), 140);
	/* Progress moves it; blocked again from then. */
	ck_assert_int_gt(wsess_output(&s, iov, 4), 0);
	wsess_sent(&s, 3);
	wsess_blocked(&s, 0, 130);
	ck_assert_double_eq(wsess_next_deadline(&s), 200);
	wsess_blocked(&s, 1, 130);
	ck_assert_double_eq(wsess_next_deadline(&s), 160);
	ck_assert_int_eq(wsess_timeout(&s, 159.9), WSESS_EV_NONE);
	/* Paused (not idle) or closing: still dropped. */
	wsess_pause(&s, 1, 150);
	ck_assert_double_eq(wsess_next_deadline(&s), 160);
	ck_assert_int_eq(wsess_timeout(&s, 160), WSESS_EV_STALLED);

	/* Closing: the close timeout or the send timeout, the earlier. */
	wsess_free(&s);
	session_start();
	ck_assert_int_eq(wsess_close(&s, 1000, NULL, 10), 0);
	wsess_blocked(&s, 1, 10);
	ck_assert_double_eq(wsess_next_deadline(&s), 12);
	ck_assert_int_eq(wsess_timeout(&s, 12), WSESS_EV_CLOSE_TIMEOUT);
	(void)drain(out, sizeof(out));

	/* 0: never. */
	wsess_free(&s);
	conf.send_timeout = 0;
	conf.idle_timeout = 0;
	session_start();
	ck_assert_int_eq(wsess_send(&s, WSESS_OP_TEXT,
	    (const uint8_t *)"x", 1), WSESS_SEND_OK);
	wsess_blocked(&s, 1, 5);
	ck_assert_double_eq(wsess_next_deadline(&s), 0);
	ck_assert_int_eq(wsess_timeout(&s, 1e9), WSESS_EV_NONE);
}
END_TEST

/* Credentials that expire: close 1008 at that time, even while paused. */
START_TEST(test_expire)
{
	uint8_t	 out[64];
	size_t	 n;

	wsess_free(&s);
	conf.idle_timeout = 100;
	g.now = 10;
	session_start();
	wsess_expire(&s, 50);
	ck_assert_double_eq(wsess_next_deadline(&s), 50);
	wsess_pause(&s, 1, 20);
	ck_assert_double_eq(wsess_next_deadline(&s), 50);
	ck_assert_int_eq(wsess_timeout(&s, 49.9), WSESS_EV_NONE);
	ck_assert_int_eq(wsess_timeout(&s, 50), WSESS_EV_EXPIRED);
	ck_assert_int_eq(wsess_state(&s), WSESS_CLOSING);
	n = drain(out, sizeof(out));
	ck_assert_int_eq(memcmp(out, "\x88\x15\x03\xf0" "credentials expired",
	    n), 0);
	/* Then only the close timeout. */
	ck_assert_double_eq(wsess_next_deadline(&s), 52);
	ck_assert_int_eq(wsess_timeout(&s, 52), WSESS_EV_CLOSE_TIMEOUT);
}
END_TEST

/*
 * Output.
 */
START_TEST(test_output)
{
	static uint8_t	 big[70000], out[2 * 70000 + 100];
	struct iovec	 iov[16];
	struct expect	*e;
	size_t		 i, n, step;
	uint8_t		*owned;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i >> 3);
	e = calloc(1, sizeof(*e));
	ck_assert_ptr_nonnull(e);
	/* Header encodings at the limits. */
	ex_frame(e, 2, big, 125);
	ex_frame(e, 2, big, 126);
	ex_frame(e, 2, big, 65535);
	ex_frame(e, 2, big, 65536);
	ex_frame(e, 1, "", 0);
	for (step = 1; step < 8; step += 3) {
		wsess_free(&s);
		session_start();
		ck_assert_int_eq(wsess_send(&s, 2, big, 125), 0);
		ck_assert_int_eq(wsess_send(&s, 2, big, 126), 0);
		ck_assert_int_eq(wsess_send(&s, 2, big, 65535), 0);
		owned = malloc(65536 + 10);
		ck_assert_ptr_nonnull(owned);
		memcpy(owned + 10, big, 65536);
		ck_assert_int_eq(wsess_send_take(&s, 2, owned, owned + 10,
		    65536), 0);
		ck_assert_int_eq(wsess_send(&s, 1, NULL, 0), 0);
		ck_assert_uint_eq(wsess_queued(&s), 125 + 126 + 65535 + 65536);
		/* Two iovecs a frame, as many frames as fit. */
		ck_assert_int_eq(wsess_output(&s, iov, 16), 9);
		ck_assert_int_eq(wsess_output(&s, iov, 3), 3);
		ck_assert_uint_eq(iov[0].iov_len, 2);
		ck_assert_uint_eq(iov[1].iov_len, 125);
		ck_assert_uint_eq(iov[2].iov_len, 4);
		n = drain_step(out, sizeof(out), step == 1 ? 1 : step * 1000);
		ck_assert_uint_eq(n, e->len);
		ck_assert_int_eq(memcmp(out, e->b, n), 0);
	}
	/* Counted until written whole. */
	ck_assert_int_eq(wsess_send(&s, 2, big, 100), 0);
	wsess_sent(&s, 50);
	ck_assert_uint_eq(wsess_queued(&s), 100);
	ck_assert_int_eq(wsess_output(&s, iov, 16), 1);
	ck_assert_uint_eq(iov[0].iov_len, 52);
	wsess_sent(&s, 52);
	ck_assert_uint_eq(wsess_queued(&s), 0);
	/* Bad opcodes. */
	ck_assert_int_eq(wsess_send(&s, 0, big, 1), WSESS_SEND_CLOSED);
	ck_assert_int_eq(wsess_send(&s, 9, big, 1), WSESS_SEND_CLOSED);
	ck_assert_int_eq(wsess_send_take(&s, 8, big, big, 1),
	    WSESS_SEND_CLOSED);
	/* Freed with the session, written or not. */
	owned = malloc(16);
	ck_assert_ptr_nonnull(owned);
	ck_assert_int_eq(wsess_send_take(&s, 2, owned, owned, 16), 0);
	free(e);
}
END_TEST

static Suite *
wsession_suite(void)
{
	Suite	*su = suite_create("ws_wsession");
	TCase	*tc;

	tc = tcase_create("frames");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_echo);
	tcase_add_test(tc, test_fragmented);
	tcase_add_test(tc, test_ping);
	tcase_add_test(tc, test_bad_headers);
	tcase_add_loop_test(tc, test_bad_payloads, 0,
	    sizeof(bad_payloads) / sizeof(bad_payloads[0]));
	tcase_add_test(tc, test_good_close);
	tcase_add_test(tc, test_request_close);
	tcase_add_test(tc, test_too_big);
	tcase_add_test(tc, test_memory);
	suite_add_tcase(su, tc);

	tc = tcase_create("close");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_our_close);
	tcase_add_test(tc, test_close_in_callback);
	suite_add_tcase(su, tc);

	tc = tcase_create("pause");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_pause_callback);
	tcase_add_test(tc, test_pause_partial);
	tcase_add_test(tc, test_pause_close);
	suite_add_tcase(su, tc);

	tc = tcase_create("deadlines");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_idle);
	tcase_add_test(tc, test_close_timeout);
	tcase_add_test(tc, test_send_timeout);
	tcase_add_test(tc, test_expire);
	suite_add_tcase(su, tc);

	tc = tcase_create("output");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_output);
	suite_add_tcase(su, tc);
	return su;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(wsession_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
