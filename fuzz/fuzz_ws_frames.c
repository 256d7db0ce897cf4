/*
 * fuzz_ws_frames.c -- libFuzzer target: WebSocket frames from a client,
 * after the upgrade, through the sans-I/O session (ws/session.c).
 *
 * No sockets, no event loop: the input is fed to a struct wsess in
 * pieces, its output taken in pieces, with a fake clock.
 *
 * Input: a control octet, then the client's byte stream.  Control bits:
 * 0-2 pick the piece size (whole, 1, 2, 3, 5, 8, 13 or 64 octets);
 * 3 takes the output in small writes (1, 2, 3, 7 octets... in turn)
 * instead of whole; 4 makes the message callback pause the session,
 * resumed before the next piece; 5 moves the clock 3 s per piece (idle
 * timeout 10 s, close timeout 2 s) and checks the deadlines; 6 queues
 * the echoes with wsess_send_take() instead of wsess_send(); 7 takes the
 * output only every fourth piece, so that answers pile up.
 *
 * The callback echoes every message ("close me" closes with 1000).
 * Besides the sanitizers' checks (leaks included):
 * - a message delivered is at most max_message octets; a text message is
 *   valid UTF-8; no message is delivered to a paused or closing session;
 * - the session sends only well-formed frames: unmasked, no RSV bits,
 *   known opcodes, control frames short and unfragmented; nothing after
 *   its close frame, whose status, if any, is valid;
 * - the echoed messages are, in order, the messages queued; a close
 *   frame (ours or the echo of the client's) comes after all of them;
 * - without the clock (bit 5), the messages delivered and the way the
 *   session ends do not depend on how the input is cut, on pausing or on
 *   when the output is taken: a second session fed the whole input at
 *   once, its output taken at the end, gives the same;
 * - at the end, with the output all taken, nothing is queued, the state
 *   agrees with the close frames seen and no input is kept.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/uio.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ws/session.h"

#define FUZZ_MAX_MESSAGE	1000
#define FUZZ_IOV		8

int		 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct fmsg {
	struct fmsg	*next;
	int		 opcode;
	size_t		 len;
	uint8_t		 data[];
};

/* Messages delivered, as "op len:octets" records. */
struct mlog {
	uint8_t		*b;
	size_t		 len;
	size_t		 cap;
};

static const struct wsess_conf	 conf = { FUZZ_MAX_MESSAGE, 10.0, 2.0, 30.0 };

static struct {
	struct wsess	 s;
	double		 now;
	int		 pausing;	/* control bit 4 */
	int		 take;		/* control bit 6 */
	int		 paused;
	struct mlog	 log;
	struct fmsg	*queued;	/* echoes queued, oldest first */
	struct fmsg	**qtail;

	/* The client's view of the session's output. */
	uint8_t		*in;
	size_t		 inlen;
	size_t		 incap;
	size_t		 inpos;		/* parsed up to here */
	int		 gotclose;
	uint8_t		*msg;		/* reassembly */
	size_t		 msglen;
	int		 msgop;		/* 0: none in progress */
} g;

/* The reference session: the whole input at once. */
static struct {
	struct wsess	 s;
	struct mlog	 log;
} ref;

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_ws_frames: %s\n", what);
	abort();
}

/* RFC 3629 UTF-8, no surrogates, no overlong forms. */
static int
utf8_valid(const uint8_t *p, size_t n)
{
	size_t		 i = 0, k, need;
	uint32_t	 c, min;

	while (i < n) {
		c = p[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			c &= 0x1f;
			min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			c &= 0x0f;
			min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			c &= 0x07;
			min = 0x10000;
		} else
			return 0;
		if (n - i <= need)
			return 0;
		for (k = 1; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (p[i + k] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		i += need + 1;
	}
	return 1;
}

static void
mlog_add(struct mlog *l, int opcode, const uint8_t *p, size_t len)
{
	uint8_t	*nb;
	char	 h[32];
	int	 n;

	n = snprintf(h, sizeof(h), "%d %zu:", opcode, len);
	if (l->cap - l->len < (size_t)n + len) {
		l->cap = l->cap * 2 + (size_t)n + len + 256;
		if ((nb = realloc(l->b, l->cap)) == NULL)
			fail("out of memory");
		l->b = nb;
	}
	memcpy(l->b + l->len, h, (size_t)n);
	l->len += (size_t)n;
	if (len > 0)
		memcpy(l->b + l->len, p, len);
	l->len += len;
}

static void
check_message(const struct wsess *s, int opcode, const uint8_t *p,
    size_t len)
{
	if (opcode != WSESS_OP_TEXT && opcode != WSESS_OP_BINARY)
		fail("message: bad opcode");
	if (len > FUZZ_MAX_MESSAGE)
		fail("message over max_message delivered");
	if (opcode == WSESS_OP_TEXT && !utf8_valid(p, len))
		fail("text message not UTF-8 delivered");
	if (wsess_state(s) != WSESS_OPEN)
		fail("message delivered to a closing session");
}

static void
ref_message(void *arg, int opcode, const uint8_t *p, size_t len)
{
	(void)arg;
	check_message(&ref.s, opcode, p, len);
	mlog_add(&ref.log, opcode, p, len);
	if (len == 8 && memcmp(p, "close me", 8) == 0)
		(void)wsess_close(&ref.s, 1000, "as you wish", 0);
}

static void
cb_message(void *arg, int opcode, const uint8_t *p, size_t len)
{
	struct fmsg	*m;
	uint8_t		*buf;
	int		 r;

	if (arg != &g)
		fail("message: lost the callback argument");
	check_message(&g.s, opcode, p, len);
	if (g.paused)
		fail("message delivered to a paused session");
	mlog_add(&g.log, opcode, p, len);
	if (g.pausing) {
		wsess_pause(&g.s, 1, g.now);
		g.paused = 1;
	}
	if (len == 8 && memcmp(p, "close me", 8) == 0) {
		if (wsess_close(&g.s, 1000, "as you wish", g.now) != 0)
			fail("out of memory");
		if (wsess_send(&g.s, opcode, p, len) != WSESS_SEND_CLOSED)
			fail("send after close succeeded");
		return;
	}
	if (g.take) {
		/* The payload at an offset inside the buffer given. */
		if ((buf = malloc(len + 3)) == NULL)
			fail("out of memory");
		if (len > 0)
			memcpy(buf + 3, p, len);
		if ((r = wsess_send_take(&g.s, opcode, buf, buf + 3, len)) !=
		    WSESS_SEND_OK)
			free(buf);
	} else
		r = wsess_send(&g.s, opcode, p, len);
	if (r != WSESS_SEND_OK)
		fail("send on an open session failed");
	if ((m = malloc(sizeof(*m) + len)) == NULL)
		fail("out of memory");
	m->next = NULL;
	m->opcode = opcode;
	m->len = len;
	if (len > 0)
		memcpy(m->data, p, len);
	*g.qtail = m;
	g.qtail = &m->next;
}

/* ---- the client side ---- */

static void
echo_check(int opcode, const uint8_t *p, size_t len)
{
	struct fmsg	*m = g.queued;

	if (m == NULL)
		fail("an echo nobody queued");
	if (m->opcode != opcode || m->len != len ||
	    (len > 0 && memcmp(m->data, p, len) != 0))
		fail("echo differs from the message queued");
	g.queued = m->next;
	if (g.queued == NULL)
		g.qtail = &g.queued;
	free(m);
}

/* What the session may send: it echoes 1012-1014 as 1000. */
static int
close_code_valid(unsigned code)
{
	return (code >= 1000 && code <= 1003) || (code >= 1007 &&
	    code <= 1011) || (code >= 3000 && code <= 4999);
}

/* Parse what the session sent so far. */
static void
parse_output(void)
{
	const uint8_t	*p;
	uint64_t	 plen;
	size_t		 hl, i, avail;
	unsigned	 op, fin;
	uint8_t		*nb;

	for (;;) {
		avail = g.inlen - g.inpos;
		p = g.in + g.inpos;
		if (avail < 2)
			return;
		if (g.gotclose)
			fail("a frame after the close frame");
		fin = p[0] & 0x80;
		op = p[0] & 0x0f;
		if ((p[0] & 0x70) != 0)
			fail("server frame with RSV bits");
		if ((p[1] & 0x80) != 0)
			fail("masked server frame");
		if ((op > 0x2 && op < 0x8) || op > 0xa)
			fail("server frame with a reserved opcode");
		plen = p[1] & 0x7f;
		hl = 2;
		if (plen == 126) {
			if (avail < 4)
				return;
			plen = (uint64_t)p[2] << 8 | p[3];
			if (plen < 126)
				fail("non-minimal length");
			hl = 4;
		} else if (plen == 127) {
			if (avail < 10)
				return;
			for (plen = 0, i = 0; i < 8; i++)
				plen = plen << 8 | p[2 + i];
			if (plen < 65536)
				fail("non-minimal length");
			hl = 10;
		}
		if ((op & 0x8) && (plen > 125 || !fin))
			fail("bad server control frame");
		if (plen > avail - hl)
			return;
		p += hl;
		g.inpos += hl + (size_t)plen;
		switch (op) {
		case 0x8:
			if (plen == 1)
				fail("one-octet close payload");
			if (plen >= 2 && !close_code_valid((unsigned)p[0] << 8 |
			    p[1]))
				fail("server sent an invalid close status");
			if (plen > 2 && !utf8_valid(p + 2, (size_t)plen - 2))
				fail("close reason not UTF-8");
			if (g.queued != NULL)
				fail("close frame before the echoes queued");
			g.gotclose = 1;
			break;
		case 0x9:
			fail("server sent a ping");
			break;
		case 0xa:
			break;
		default:
			if ((op == 0x0) != (g.msgop != 0))
				fail("bad server fragment sequence");
			if (op != 0x0)
				g.msgop = (int)op;
			if (plen > 0) {
				if ((nb = realloc(g.msg, g.msglen +
				    (size_t)plen)) == NULL)
					fail("out of memory");
				g.msg = nb;
				memcpy(g.msg + g.msglen, p, (size_t)plen);
				g.msglen += (size_t)plen;
			}
			if (fin) {
				echo_check(g.msgop, g.msg, g.msglen);
				g.msgop = 0;
				g.msglen = 0;
			}
			break;
		}
	}
}

/* Take the output: all of it, or in writes of 1, 2, 3, 7... octets. */
static void
take_output(int small)
{
	static const size_t	 sizes[] = { 1, 2, 3, 7, 64, 5 };
	static unsigned		 turn;
	struct iovec		 iov[FUZZ_IOV];
	size_t			 n, k, max;
	uint8_t			*nb;
	int			 niov, i;

	while ((niov = wsess_output(&g.s, iov, FUZZ_IOV)) > 0) {
		max = small ? sizes[turn++ % 6] : SIZE_MAX;
		for (n = 0, i = 0; i < niov && n < max; i++) {
			k = iov[i].iov_len;
			if (k == 0)
				fail("an empty iovec");
			if (k > max - n)
				k = max - n;
			if (g.incap - g.inlen < k) {
				g.incap = g.incap * 2 + k + 4096;
				if ((nb = realloc(g.in, g.incap)) == NULL)
					fail("out of memory");
				g.in = nb;
			}
			memcpy(g.in + g.inlen, iov[i].iov_base, k);
			g.inlen += k;
			n += k;
		}
		wsess_sent(&g.s, n);
		parse_output();
		if (small && turn % 3 == 0)
			break;		/* the rest later */
	}
}

/* Feed octets (copied: the session unmasks in place). */
static void
feed(struct wsess *s, const uint8_t *p, size_t n, double now)
{
	uint8_t		*b = NULL;
	enum wsess_ev	 ev;

	if (n > 0) {
		if ((b = malloc(n)) == NULL)
			fail("out of memory");
		memcpy(b, p, n);
	}
	ev = wsess_recv(s, b, n, now);
	free(b);
	if (ev == WSESS_EV_NOMEM)
		fail("out of memory");
	if (ev == WSESS_EV_PROTO && s->fail != WSESS_CLOSE_PROTOCOL &&
	    s->fail != WSESS_CLOSE_INVALID && s->fail != WSESS_CLOSE_TOO_BIG)
		fail("a failure with an unexpected status");
}

static void
resume(void)
{
	if (g.paused) {
		g.paused = 0;
		wsess_pause(&g.s, 0, g.now);
		feed(&g.s, NULL, 0, g.now);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t	 steps[] = { 0, 1, 2, 3, 5, 8, 13, 64 };
	struct fmsg		*m;
	size_t			 step, off, n;
	unsigned		 ctl, piece = 0;
	int			 small, clock, lazy, dropped = 0, guard;
	enum wsess_state	 st;

	if (size < 1)
		return 0;
	ctl = data[0];
	data++;
	size--;
	step = steps[ctl & 7];
	if (step == 0)
		step = size > 0 ? size : 1;
	small = (ctl & 0x08) != 0;
	g.pausing = (ctl & 0x10) != 0;
	clock = (ctl & 0x20) != 0;
	g.take = (ctl & 0x40) != 0;
	lazy = (ctl & 0x80) != 0;
	g.paused = 0;
	g.now = 1000.0;
	g.log.len = 0;
	g.inlen = g.inpos = 0;
	g.gotclose = 0;
	g.msglen = 0;
	g.msgop = 0;
	g.qtail = &g.queued;

	/* The reference: the whole input at once, no pause. */
	ref.log.len = 0;
	wsess_init(&ref.s, &conf, ref_message, &ref, 0);
	feed(&ref.s, data, size, 0);

	wsess_init(&g.s, &conf, cb_message, &g, g.now);
	for (off = 0; off < size && !dropped; off += n, piece++) {
		resume();
		n = size - off < step ? size - off : step;
		feed(&g.s, data + off, n, g.now);
		if (!lazy || piece % 4 == 3)
			take_output(small);
		if (clock) {
			g.now += 3.0;
			switch (wsess_timeout(&g.s, g.now)) {
			case WSESS_EV_CLOSE_TIMEOUT:
				dropped = 1;
				break;
			case WSESS_EV_NOMEM:
				fail("out of memory");
				break;
			default:
				break;
			}
		}
	}
	/* The end: resume, take everything. */
	for (guard = 0; !dropped && (g.paused || wsess_want_write(&g.s));
	    guard++) {
		if (guard > 100000)
			fail("the output never ends");
		resume();
		take_output(small);
	}
	if (!dropped) {
		if (wsess_queued(&g.s) != 0)
			fail("output queued after all of it was taken");
		if (g.queued != NULL)
			fail("an echo queued and never sent");
		if (wsess_buffered(&g.s))
			fail("input kept after the end");
		st = wsess_state(&g.s);
		if (g.gotclose != g.s.sent_close)
			fail("a close frame seen and not sent, or not seen");
		if ((st == WSESS_CLOSED || st == WSESS_FAILED) && !g.gotclose)
			fail("done without a close frame");
		if (st == WSESS_CLOSING && !g.gotclose)
			fail("closing, with the close frame not written");
		if (st == WSESS_OPEN && g.gotclose)
			fail("open after a close frame");
		if (st == WSESS_FAILED && g.s.fail == 0)
			fail("failed without a status");
		if (!clock && (g.log.len != ref.log.len ||
		    (g.log.len > 0 && memcmp(g.log.b, ref.log.b,
		    g.log.len) != 0)))
			fail("the messages depend on how the input is cut");
		if (!clock && (g.s.fail != ref.s.fail ||
		    g.s.got_close != ref.s.got_close ||
		    wsess_status_received(&g.s) !=
		    wsess_status_received(&ref.s)))
			fail("the outcome depends on how the input is cut");
	}
	wsess_free(&g.s);
	wsess_free(&ref.s);
	while ((m = g.queued) != NULL) {
		g.queued = m->next;
		free(m);
	}
	g.qtail = &g.queued;
	return 0;
}
