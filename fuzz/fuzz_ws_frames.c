/*
 * fuzz_ws_frames.c -- libFuzzer target: WebSocket frames from a client,
 * after a valid upgrade, through a real ws_server session.
 *
 * The frame-header check (session_scan() in ws/server.c) is static and
 * works on the session's input buffer, so the target drives the whole
 * session, as tests/check_ws_session.c does: a ws_server listening on
 * 127.0.0.1 runs on a private ev_loop, and a client socket in the same
 * thread writes a valid upgrade request followed by the input, then shuts
 * down its write side once the server has nothing more to say; the loop
 * is run with EVRUN_NOWAIT until the session is gone.  No sleeps, no threads.  Each client binds its own
 * 127.x.y.z address, so that TIME_WAIT never exhausts the ports.
 *
 * Input: a control octet, then the client's byte stream after the request
 * head.  Control bits 0-2 pick how the stream is cut into writes (whole,
 * 1, 2, 3, 5, 8, 13 or 64 octets, the loop running between writes, so that
 * headers arrive in pieces); bit 3 sends the first piece with the request
 * head (a pipelined first frame); bit 4 makes the message callback pause
 * the session (ws_session_pause()), resumed before each loop iteration.
 *
 * The server echoes every message ("close me" closes with 1000).  Besides
 * the sanitizers' checks:
 * - a message delivered is at most max_message octets; a text message is
 *   valid UTF-8; no message is delivered to a paused session;
 * - the server answers 101, then sends only well-formed frames: unmasked,
 *   no RSV bits, known opcodes, control frames short and unfragmented;
 *   nothing after its close frame, whose status, if any, is valid;
 * - the echoed messages are, in order, a prefix of the messages queued;
 *   a close frame (ours or the echo of the client's) comes after all of
 *   them, since every echo is queued before the server can see a close;
 * - the session ends (EOF on both sides) and no memory is leaked.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "net/log.h"
#include "ws/ws.h"

#define FUZZ_MAX_MESSAGE	1000
#define FUZZ_DEADLINE		5.0	/* seconds for one input: a hang */

#define UPGRADE							\
	"GET /fuzz HTTP/1.1\r\n"					\
	"Host: 127.0.0.1\r\n"						\
	"Upgrade: websocket\r\n"					\
	"Connection: Upgrade\r\n"					\
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"		\
	"Sec-WebSocket-Version: 13\r\n"					\
	"\r\n"

int		 LLVMFuzzerInitialize(int *, char ***);
int		 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct fmsg {
	struct fmsg	*next;
	int		 opcode;
	size_t		 len;
	uint8_t		 data[];
};

static struct {
	struct ev_loop		*loop;
	struct ws_server	*srv;
	int			 port;
	unsigned		 addr;		/* rotates the client address */
	int			 route_tag;
	int			 opened;
	int			 closed;
	int			 pausing;	/* control bit 4 */
	int			 paused;
	struct ws_session	*sess;
	struct fmsg		*queued;	/* echoes queued, oldest first */
	struct fmsg		**qtail;

	/* The client's view of the server's output. */
	uint8_t			*in;
	size_t			 inlen;
	size_t			 incap;
	size_t			 inpos;		/* parsed up to here */
	int			 got101;
	int			 gotclose;
	int			 eof;
	uint8_t			*msg;		/* reassembly */
	size_t			 msglen;
	int			 msgop;		/* 0: none in progress */
} g;

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

/* ---- server callbacks ---- */

static void *
cb_route(void *arg, const char *path, size_t len)
{
	(void)arg;
	if (len == 5 && memcmp(path, "/fuzz", 5) == 0)
		return &g.route_tag;
	return NULL;
}

static void
cb_open(void *arg, struct ws_session *s, void *route)
{
	(void)arg;
	if (route != &g.route_tag)
		fail("open: wrong route");
	ws_session_set_data(s, &g);
	g.sess = s;
	g.opened++;
}

static void
cb_message(void *arg, struct ws_session *s, int opcode, const uint8_t *p,
    size_t len)
{
	struct fmsg	*m;

	(void)arg;
	if (ws_session_data(s) != &g)
		fail("message: lost the session data");
	if (opcode != WS_OP_TEXT && opcode != WS_OP_BINARY)
		fail("message: bad opcode");
	if (len > FUZZ_MAX_MESSAGE)
		fail("message over max_message delivered");
	if (opcode == WS_OP_TEXT && !utf8_valid(p, len))
		fail("text message not UTF-8 delivered");
	if (g.paused)
		fail("message delivered to a paused session");
	if (g.pausing) {
		ws_session_pause(s, 1);
		g.paused = 1;
	}
	if (len == 8 && memcmp(p, "close me", 8) == 0) {
		ws_session_close(s, 1000, "as you wish");
		if (ws_session_send(s, opcode, p, len) != WS_SEND_CLOSED)
			fail("send after close succeeded");
		return;
	}
	if (ws_session_send(s, opcode, p, len) != WS_SEND_OK)
		return;
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

static void
cb_closed(void *arg, struct ws_session *s)
{
	(void)arg;
	if (ws_session_data(s) != &g)
		fail("closed: lost the session data");
	g.sess = NULL;
	g.paused = 0;
	g.closed++;
}

static const struct ws_server_cb cbs = {
	cb_route, cb_open, cb_message, cb_closed, NULL
};

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

/* What the server may send: it shows 1012-1014 to wslay as 1000. */
static int
close_code_valid(unsigned code)
{
	return (code >= 1000 && code <= 1003) || (code >= 1007 &&
	    code <= 1011) || (code >= 3000 && code <= 4999);
}

/* Parse what the server sent so far. */
static void
parse_output(void)
{
	const uint8_t	*p, *end;
	uint64_t	 plen;
	size_t		 hl, i, avail;
	unsigned	 op, fin;
	uint8_t		*nb;

	if (!g.got101) {
		end = memmem(g.in, g.inlen, "\r\n\r\n", 4);
		if (end == NULL)
			return;
		if (g.inlen < 13 || memcmp(g.in, "HTTP/1.1 101 ", 13) != 0)
			fail("no 101 answer to a valid upgrade");
		g.got101 = 1;
		g.inpos = (size_t)(end - g.in) + 4;
	}
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
			hl = 4;
		} else if (plen == 127) {
			if (avail < 10)
				return;
			for (plen = 0, i = 0; i < 8; i++)
				plen = plen << 8 | p[2 + i];
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
			if (g.queued != NULL)
				fail("close frame before the echoes queued");
			g.gotclose = 1;
			break;
		case 0x9:
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

/* Resume a session the message callback paused; then run the loop once. */
static void
run_loop(void)
{
	if (g.paused && g.sess != NULL) {
		g.paused = 0;
		ws_session_pause(g.sess, 0);
	}
	ev_run(g.loop, EVRUN_NOWAIT);
}

/* Read what is there; 1 if anything came. */
static int
client_read(int fd)
{
	ssize_t	 n;
	uint8_t	*nb;
	int	 got = 0;

	while (!g.eof) {
		if (g.incap - g.inlen < 4096) {
			if ((nb = realloc(g.in, g.incap * 2 + 8192)) == NULL)
				fail("out of memory");
			g.in = nb;
			g.incap = g.incap * 2 + 8192;
		}
		n = recv(fd, g.in + g.inlen, g.incap - g.inlen, MSG_DONTWAIT);
		if (n > 0) {
			g.inlen += (size_t)n;
			got = 1;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		/* EOF, or a reset after the server closed with input unread. */
		g.eof = 1;
		got = 1;
	}
	if (got)
		parse_output();
	return got;
}

/* Write all of p, running the loop and reading while the socket is full. */
static int
client_write(int fd, const uint8_t *p, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			run_loop();
			(void)client_read(fd);
			continue;
		}
		return -1;	/* the server is gone */
	}
	return 0;
}

static int
client_connect(void)
{
	struct sockaddr_in	 sin;
	struct pollfd		 pfd;
	unsigned		 a;
	int			 fd, e, on = 1;
	socklen_t		 elen = sizeof(e);

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		fail("socket");
	/* 127.1.0.1 - 127.1.255.254: a fresh 4-tuple each time. */
	a = g.addr++ % (256 * 254);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(0x7f010000u | (a / 254) << 8 | (a % 254 + 1));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		fail("bind a 127.1.x.y address");
	/* Each write its own segment, now: Nagle would hold the pieces. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == -1)
		fail("TCP_NODELAY");
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)g.port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		if (errno != EINPROGRESS)
			fail("connect");
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, 5000) != 1 || getsockopt(fd, SOL_SOCKET,
		    SO_ERROR, &e, &elen) == -1 || e != 0)
			fail("connect did not complete");
	}
	return fd;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct ws_server_conf	 conf;
	char			 err[256];

	(void)argc;
	(void)argv;
	log_set_level(getenv("FUZZ_LOG") != NULL ? LOG_LVL_DEBUG : LOG_LVL_ERR);
	if ((g.loop = ev_loop_new(EVFLAG_AUTO)) == NULL)
		fail("ev_loop_new");
	ws_server_conf_default(&conf);
	conf.max_message = FUZZ_MAX_MESSAGE;
	if ((g.srv = ws_server_new(g.loop, &conf, &cbs, NULL)) == NULL)
		fail("ws_server_new");
	if (ws_server_listen(g.srv, "127.0.0.1:0", err, sizeof(err)) != 0)
		fail(err);
	g.port = ws_server_port(g.srv);
	g.qtail = &g.queued;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t	 steps[] = { 0, 1, 2, 3, 5, 8, 13, 64 };
	static const char	 upgrade[] = UPGRADE;
	struct fmsg		*m;
	struct pollfd		 pfd;
	uint8_t			*first;
	size_t			 step, off = 0, n, hl = sizeof(upgrade) - 1;
	ev_tstamp		 deadline;
	int			 fd, broken = 0, idle = 0;

	if (size < 1)
		return 0;
	step = steps[data[0] & 7];
	data++;
	size--;
	if (step == 0)
		step = size > 0 ? size : 1;
	g.opened = g.closed = 0;
	g.pausing = (data[-1] & 0x10) != 0;
	g.paused = 0;
	g.sess = NULL;
	g.inlen = g.inpos = 0;
	g.got101 = g.gotclose = g.eof = 0;
	g.msglen = 0;
	g.msgop = 0;

	fd = client_connect();
	n = data[-1] & 0x08 ? (size < step ? size : step) : 0;
	if ((first = malloc(hl + n)) == NULL)
		fail("out of memory");
	memcpy(first, upgrade, hl);
	memcpy(first + hl, data, n);
	broken = client_write(fd, first, hl + n) == -1;
	free(first);
	off = n;
	/* Accept, read the head, answer 101. */
	ev_now_update(g.loop);
	deadline = ev_now(g.loop) + FUZZ_DEADLINE;
	while (!broken && (g.opened == 0 || !g.got101)) {
		run_loop();
		idle = client_read(fd) ? 0 : idle + 1;
		if (idle > 8) {
			/* Only if the kernel is slower than usual. */
			pfd.fd = fd;
			pfd.events = POLLIN;
			(void)poll(&pfd, 1, 1);
		}
		if ((g.eof && !g.got101) || ev_now(g.loop) > deadline)
			fail("no upgrade");
	}
	/* The stream, a piece per loop iteration. */
	while (!broken && off < size) {
		n = size - off < step ? size - off : step;
		broken = client_write(fd, data + off, n) == -1;
		off += n;
		run_loop();
		(void)client_read(fd);
	}
	/*
	 * Let the server answer everything before it sees EOF: on EOF it
	 * drops the session with whatever it had queued.
	 */
	for (idle = 0; !broken && !g.eof && idle < 3; ) {
		run_loop();
		idle = client_read(fd) ? 0 : idle + 1;
	}
	(void)shutdown(fd, SHUT_WR);
	/* Until the server has closed and the session is freed. */
	idle = 0;
	while (!g.eof || g.closed != g.opened) {
		run_loop();
		idle = client_read(fd) ? 0 : idle + 1;
		if (idle > 8) {
			pfd.fd = fd;
			pfd.events = POLLIN;
			(void)poll(&pfd, 1, 1);
		}
		if (ev_now(g.loop) > deadline)
			fail("the session did not end");
	}
	/* One more run: the reaper frees the session before the loop sleeps. */
	run_loop();
	if (ws_server_sessions(g.srv) != 0 || g.opened != 1 || g.closed != 1)
		fail("session count");
	close(fd);
	while ((m = g.queued) != NULL) {
		g.queued = m->next;
		free(m);
	}
	g.qtail = &g.queued;
	return 0;
}
