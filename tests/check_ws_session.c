/*
 * check_ws_session.c -- a real ws_server on an ev_loop against a raw TCP
 * client in the same process.
 *
 * The client socket is blocking for writes (small ones fit the kernel
 * buffer) and read with MSG_DONTWAIT; every wait runs the server's loop
 * with EVRUN_NOWAIT in between, so the test is single threaded and each
 * wait is bounded by a timeout.
 *
 * wss: the same helpers drive a TLS client (net/tls.h, trusting the test
 * CA in tests/data/tls, found through $srcdir) on a non-blocking socket:
 * a descriptor with an entry in g.tls goes through ntls.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "net/log.h"
#include "net/tls.h"
#include "ws/ws.h"

#define TIMEOUT		3.0
#define MAXFD		1024
#define KEY		"dGhlIHNhbXBsZSBub25jZQ=="
#define ACCEPT		"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

#define UPGRADE(path)						\
	"GET " path " HTTP/1.1\r\n"				\
	"Host: 127.0.0.1\r\n"					\
	"Upgrade: websocket\r\n"				\
	"Connection: Upgrade\r\n"				\
	"Sec-WebSocket-Key: " KEY "\r\n"			\
	"Sec-WebSocket-Version: 13\r\n"				\
	"\r\n"

static struct {
	struct ev_loop		*loop;
	struct ws_server	*srv;
	struct ws_server_conf	 conf;
	int			 port;
	int			 opened;
	int			 closed;
	int			 messages;
	int			 drained;
	int			 echo;		/* message callback echoes */
	int			 pause_after;	/* pause at this message */
	size_t			 answer;	/* if > 0: answer this many octets */
	struct ws_session	*last;
	int			 route_tag;
	struct ntls_config	*ccfg;		/* TLS client: trusts ca.pem */
	struct ntls		*tls[MAXFD];	/* TLS client connections */
	int			 rcvbuf;	/* client SO_RCVBUF if > 0 */
	FILE			*log;		/* log_capture() */
	int			 saved_stderr;
} g;

/*
 * Server callbacks.
 */
static void *
cb_route(void *arg, const char *path, size_t len)
{
	(void)arg;
	if (len == 9 && memcmp(path, "/shutdown", 9) == 0) {
		/* Shutting down from inside a callback is allowed. */
		ws_server_shutdown(g.srv, 1001, "bye");
		return &g.route_tag;
	}
	if ((len == 5 && memcmp(path, "/echo", 5) == 0) ||
	    (len == 6 && memcmp(path, "/kafka", 6) == 0))
		return &g.route_tag;
	return NULL;
}

static void
cb_open(void *arg, struct ws_session *s, void *route)
{
	(void)arg;
	ck_assert_ptr_eq(route, &g.route_tag);
	ck_assert_ptr_null(ws_session_data(s));
	ws_session_set_data(s, &g);
	ck_assert_ptr_eq(ws_session_data(s), &g);
	ck_assert_ptr_nonnull(strstr(ws_session_peer(s), "127.0.0."));
	g.opened++;
	g.last = s;
}

static void
cb_message(void *arg, struct ws_session *s, int opcode, const uint8_t *p,
    size_t len)
{
	(void)arg;
	g.messages++;
	if (len == 8 && memcmp(p, "close me", 8) == 0) {
		ws_session_close(s, 1000, "as you wish");
		/* Closing: sending fails. */
		ck_assert_int_eq(ws_session_send(s, opcode, p, len),
		    WS_SEND_CLOSED);
		return;
	}
	if (g.answer > 0) {
		uint8_t	*a;

		a = malloc(g.answer);
		ck_assert_ptr_nonnull(a);
		memset(a, 'a', g.answer);
		ck_assert_int_eq(ws_session_send(s, WS_OP_BINARY, a,
		    g.answer), WS_SEND_OK);
		free(a);
	} else if (g.echo)
		ck_assert_int_eq(ws_session_send(s, opcode, p, len),
		    WS_SEND_OK);
	if (g.pause_after > 0 && g.messages == g.pause_after) {
		ws_session_pause(s, 1);
		g.last = s;
	}
}

static void
cb_closed(void *arg, struct ws_session *s)
{
	(void)arg;
	ck_assert_ptr_eq(ws_session_data(s), &g);
	g.closed++;
	if (g.last == s)
		g.last = NULL;
}

static void
cb_drained(void *arg, struct ws_session *s)
{
	(void)arg;
	(void)s;
	g.drained++;
}

static const struct ws_server_cb cbs = {
	cb_route, cb_open, cb_message, cb_closed, cb_drained, NULL
};

static void
server_start(void)
{
	char	 err[256];

	g.srv = ws_server_new(g.loop, &g.conf, &cbs, NULL);
	ck_assert_ptr_nonnull(g.srv);
	ck_assert_msg(ws_server_listen(g.srv, "127.0.0.1:0", err,
	    sizeof(err)) == 0, "%s", err);
	g.port = ws_server_port(g.srv);
	ck_assert_int_gt(g.port, 0);
}

static void
setup(void)
{
	memset(&g, 0, sizeof(g));
	log_set_level(LOG_LVL_DEBUG);
	/* Log lines checked must not depend on the tests before (CK_FORK=no). */
	log_client_limit(1e6, 1e6);
	g.loop = ev_loop_new(EVFLAG_AUTO);
	ck_assert_ptr_nonnull(g.loop);
	ws_server_conf_default(&g.conf);
	g.echo = 1;
}

static void
teardown(void)
{
	int	 i;

	for (i = 0; i < MAXFD; i++) {
		if (g.tls[i] == NULL)
			continue;
		ntls_free(g.tls[i]);
		g.tls[i] = NULL;
		close(i);
	}
	ws_server_free(g.srv);
	ntls_config_unref(g.ccfg);
	ev_loop_destroy(g.loop);
}

/*
 * Client helpers.
 */
static void
pump_for(double secs)
{
	ev_tstamp	 end;

	ev_now_update(g.loop);
	end = ev_now(g.loop) + secs;
	while (ev_now(g.loop) < end) {
		ev_run(g.loop, EVRUN_NOWAIT);
		(void)usleep(1000);
		ev_now_update(g.loop);
	}
}

static int
pump_until(const int *v, int want, double secs)
{
	ev_tstamp	 end;

	ev_now_update(g.loop);
	end = ev_now(g.loop) + secs;
	while (*v != want && ev_now(g.loop) < end) {
		ev_run(g.loop, EVRUN_NOWAIT);
		(void)usleep(1000);
		ev_now_update(g.loop);
	}
	return *v == want;
}

static int
client_connect(void)
{
	struct sockaddr_in	 sin;
	int			 fd, on = 1;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (g.rcvbuf > 0)
		ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF,
		    &g.rcvbuf, sizeof(g.rcvbuf)), 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)g.port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* Run the server's loop once, then wait up to 1 ms for fd. */
static void
cpoll(int fd, short events)
{
	struct pollfd	 pfd;

	ev_run(g.loop, EVRUN_NOWAIT);
	pfd.fd = fd;
	pfd.events = events;
	(void)poll(&pfd, 1, 1);
}

static void
cwrite(int fd, const void *p, size_t len)
{
	ev_tstamp	 end;
	size_t		 off = 0;
	ssize_t		 r;

	if (g.tls[fd] == NULL) {
		ck_assert_int_eq(send(fd, p, len, MSG_NOSIGNAL), (ssize_t)len);
		return;
	}
	ev_now_update(g.loop);
	end = ev_now(g.loop) + TIMEOUT;
	while (off < len) {
		/* After NTLS_WANT_*: the same octets again. */
		r = ntls_write(g.tls[fd], (const char *)p + off, len - off);
		if (r > 0) {
			off += (size_t)r;
			continue;
		}
		ck_assert_msg(r == NTLS_WANT_READ || r == NTLS_WANT_WRITE,
		    "ntls_write: %s", ntls_error(g.tls[fd]));
		ev_now_update(g.loop);
		ck_assert_msg(ev_now(g.loop) < end, "TLS write timed out");
		cpoll(fd, r == NTLS_WANT_READ ? POLLIN : POLLOUT);
	}
}

/* Like recv(MSG_DONTWAIT); over TLS, -1 with EAGAIN covers NTLS_WANT_*. */
static ssize_t
crecv(int fd, void *buf, size_t n, short *events)
{
	ssize_t	 r;

	*events = POLLIN;
	if (g.tls[fd] == NULL)
		return recv(fd, buf, n, MSG_DONTWAIT);
	r = ntls_read(g.tls[fd], buf, n);
	if (r >= 0)
		return r;
	if (r == NTLS_WANT_READ || r == NTLS_WANT_WRITE) {
		if (r == NTLS_WANT_WRITE)
			*events = POLLOUT;
		errno = EAGAIN;
	} else
		errno = ECONNRESET;
	return -1;
}

static void
cclose(int fd)
{
	if (g.tls[fd] != NULL) {
		ntls_free(g.tls[fd]);
		g.tls[fd] = NULL;
	}
	close(fd);
}

/* Read exactly n octets (fewer on EOF or timeout) while pumping. */
static size_t
cread(int fd, void *buf, size_t n, double secs)
{
	ev_tstamp	 end;
	size_t		 got = 0;
	ssize_t		 r;
	short		 events;

	ev_now_update(g.loop);
	end = ev_now(g.loop) + secs;
	while (got < n) {
		r = crecv(fd, (char *)buf + got, n - got, &events);
		if (r > 0) {
			got += (size_t)r;
			continue;
		}
		if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			break;
		ev_now_update(g.loop);
		if (ev_now(g.loop) >= end)
			break;
		cpoll(fd, events);
	}
	return got;
}

/* 1 if the server closed the connection (EOF or reset) in time. */
static int
cwait_eof(int fd, double secs)
{
	char		 c;
	ev_tstamp	 end;
	ssize_t		 r;
	short		 events;

	ev_now_update(g.loop);
	end = ev_now(g.loop) + secs;
	for (;;) {
		r = crecv(fd, &c, 1, &events);
		if (r == 0 || (r == -1 && errno != EAGAIN &&
		    errno != EWOULDBLOCK))
			return 1;
		ck_assert_msg(r == -1, "unexpected data 0x%02x",
		    (unsigned char)c);
		ev_now_update(g.loop);
		if (ev_now(g.loop) >= end)
			return 0;
		cpoll(fd, events);
	}
}

/* Like cwait_eof(), discarding whatever comes first; octets read or -1. */
static ssize_t
cdrain_eof(int fd, double secs)
{
	char		 buf[4096];
	ev_tstamp	 end;
	ssize_t		 r, got = 0;
	short		 events;

	ev_now_update(g.loop);
	end = ev_now(g.loop) + secs;
	for (;;) {
		r = crecv(fd, buf, sizeof(buf), &events);
		if (r > 0) {
			got += r;
			continue;
		}
		if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			return got;
		ev_now_update(g.loop);
		if (ev_now(g.loop) >= end)
			return -1;
		cpoll(fd, events);
	}
}

/* Read an HTTP response head and body into buf (NUL-terminated). */
static int
cread_http(int fd, char *buf, size_t cap)
{
	size_t	 len = 0, clen;
	char	*end, *cl;

	for (;;) {
		ck_assert_uint_lt(len, cap - 1);
		ck_assert_uint_eq(cread(fd, buf + len, 1, TIMEOUT), 1);
		len++;
		buf[len] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL)
			break;
	}
	clen = 0;
	if ((cl = strstr(buf, "Content-Length: ")) != NULL)
		clen = strtoul(cl + 16, NULL, 10);
	ck_assert_uint_lt(len + clen, cap);
	ck_assert_uint_eq(cread(fd, buf + len, clen, TIMEOUT), clen);
	buf[len + clen] = '\0';
	return atoi(buf + 9);
}

/* A client frame in f (len + 14 octets); returns its length. */
static size_t
build_frame(uint8_t *f, int fin, int op, const void *p, size_t len,
    int masked)
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
	if (masked) {
		f[1] |= 0x80;
		memcpy(f + hl, mask, 4);
		hl += 4;
	}
	for (i = 0; i < len; i++)
		f[hl + i] = ((const uint8_t *)p)[i] ^
		    (masked ? mask[i % 4] : 0);
	return hl + len;
}

static void
send_frame(int fd, int fin, int op, const void *p, size_t len, int masked)
{
	uint8_t	*f;

	f = malloc(len + 14);
	ck_assert_ptr_nonnull(f);
	cwrite(fd, f, build_frame(f, fin, op, p, len, masked));
	free(f);
}

/* 1 if nothing (not even EOF) has come from the server for secs. */
static int
cquiet(int fd, double secs)
{
	char	 c;
	ssize_t	 r;
	short	 events;

	pump_for(secs);
	r = crecv(fd, &c, 1, &events);
	return r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* Read one server frame; returns the payload (malloc'd). */
static uint8_t *
read_frame(int fd, int *fin, int *op, size_t *lenp)
{
	uint8_t		 h[10], *p;
	uint64_t	 len;
	size_t		 i;

	ck_assert_uint_eq(cread(fd, h, 2, TIMEOUT), 2);
	ck_assert_msg((h[1] & 0x80) == 0, "server frame masked");
	ck_assert_msg((h[0] & 0x70) == 0, "RSV bits set");
	*fin = (h[0] & 0x80) != 0;
	*op = h[0] & 0x0f;
	len = h[1] & 0x7f;
	if (len == 126) {
		ck_assert_uint_eq(cread(fd, h + 2, 2, TIMEOUT), 2);
		len = ((uint64_t)h[2] << 8) | h[3];
	} else if (len == 127) {
		ck_assert_uint_eq(cread(fd, h + 2, 8, TIMEOUT), 8);
		for (len = 0, i = 0; i < 8; i++)
			len = (len << 8) | h[2 + i];
	}
	ck_assert_uint_lt(len, 64 * 1024 * 1024);
	p = malloc(len + 1);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(cread(fd, p, len, TIMEOUT), len);
	p[len] = '\0';
	*lenp = len;
	return p;
}

static void
expect_message(int fd, int want_op, const void *want, size_t wantlen)
{
	uint8_t	*p;
	size_t	 len;
	int	 fin, op;

	p = read_frame(fd, &fin, &op, &len);
	ck_assert_int_eq(fin, 1);
	ck_assert_int_eq(op, want_op);
	ck_assert_uint_eq(len, wantlen);
	ck_assert_int_eq(memcmp(p, want, len), 0);
	free(p);
}

/* Expect a close frame with this status; returns the reason (malloc'd). */
static char *
expect_close(int fd, unsigned int code)
{
	uint8_t	*p;
	size_t	 len;
	int	 fin, op;

	p = read_frame(fd, &fin, &op, &len);
	ck_assert_int_eq(op, 0x8);
	ck_assert_int_eq(fin, 1);
	ck_assert_uint_ge(len, 2);
	ck_assert_uint_eq(((unsigned int)p[0] << 8) | p[1], code);
	memmove(p, p + 2, len - 2);
	p[len - 2] = '\0';
	return (char *)p;
}

static int
client_upgrade(void)
{
	char	 buf[1024];
	int	 fd;

	fd = client_connect();
	cwrite(fd, UPGRADE("/echo"), strlen(UPGRADE("/echo")));
	ck_assert_int_eq(cread_http(fd, buf, sizeof(buf)), 101);
	ck_assert_ptr_nonnull(strstr(buf, "Sec-WebSocket-Accept: " ACCEPT
	    "\r\n"));
	return fd;
}

/* Close handshake from the client side, and the server's disconnect. */
static void
client_close(int fd)
{
	char	*reason;

	send_frame(fd, 1, 0x8, "\x03\xe8" "bye", 5, 1);
	reason = expect_close(fd, 1000);
	ck_assert_str_eq(reason, "bye");
	free(reason);
	ck_assert(cwait_eof(fd, TIMEOUT));
	cclose(fd);
}

/*
 * TLS helpers.
 */
static const char *
tls_data(const char *name)
{
	static char	 buf[8][1024];
	static int	 i;
	const char	*srcdir;

	if ((srcdir = getenv("srcdir")) == NULL)
		srcdir = ".";
	i = (i + 1) % 8;
	(void)snprintf(buf[i], sizeof(buf[i]), "%s/tests/data/tls/%s",
	    srcdir, name);
	return buf[i];
}

static struct ntls_config *
tls_server_config(const char *cert, const char *key)
{
	struct ntls_opts	 o;
	struct ntls_config	*c;
	char			 err[512];

	memset(&o, 0, sizeof(o));
	o.server = 1;
	o.cert_file = tls_data(cert);
	o.key_file = tls_data(key);
	c = ntls_config_new(&o, err, sizeof(err));
	ck_assert_msg(c != NULL, "server config: %s", err);
	return c;
}

/* A wss server with this certificate, and a client trusting the CA. */
static void
tls_server_start(const char *cert, const char *key)
{
	struct ntls_config	*c;
	struct ntls_opts	 o;
	char			 err[512];

	server_start();
	c = tls_server_config(cert, key);
	ws_server_set_tls(g.srv, c);
	ntls_config_unref(c);		/* the server holds its reference */
	memset(&o, 0, sizeof(o));
	o.ca_file = tls_data("ca.pem");
	o.verify = 1;
	g.ccfg = ntls_config_new(&o, err, sizeof(err));
	ck_assert_msg(g.ccfg != NULL, "client config: %s", err);
}

/* Connect and do the TLS handshake; -1 and the reason in err if it fails. */
static int
tls_try_connect(char *err, size_t errlen)
{
	struct ntls	*t;
	ev_tstamp	 end;
	int		 fd, r;

	fd = client_connect();
	ck_assert_int_lt(fd, MAXFD);
	ck_assert_int_eq(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK),
	    0);
	t = ntls_new(g.ccfg, fd, "localhost", err, errlen);
	ck_assert_msg(t != NULL, "ntls_new: %s", err);
	g.tls[fd] = t;
	ev_now_update(g.loop);
	end = ev_now(g.loop) + TIMEOUT;
	while ((r = ntls_handshake(t)) != NTLS_OK) {
		if (r == NTLS_ERR) {
			(void)snprintf(err, errlen, "%s", ntls_error(t));
			cclose(fd);
			return -1;
		}
		ev_now_update(g.loop);
		ck_assert_msg(ev_now(g.loop) < end, "TLS handshake timed out");
		cpoll(fd, r == NTLS_WANT_READ ? POLLIN : POLLOUT);
	}
	return fd;
}

static int
tls_connect(void)
{
	char	 err[512];
	int	 fd;

	fd = tls_try_connect(err, sizeof(err));
	ck_assert_msg(fd != -1, "TLS handshake: %s", err);
	return fd;
}

static int
tls_upgrade(void)
{
	char	 buf[1024];
	int	 fd;

	fd = tls_connect();
	cwrite(fd, UPGRADE("/echo"), strlen(UPGRADE("/echo")));
	ck_assert_int_eq(cread_http(fd, buf, sizeof(buf)), 101);
	ck_assert_ptr_nonnull(strstr(buf, "Sec-WebSocket-Accept: " ACCEPT
	    "\r\n"));
	return fd;
}

/* Send stderr (the log) to a file until log_release(). */
static void
log_capture(void)
{
	g.log = tmpfile();
	ck_assert_ptr_nonnull(g.log);
	fflush(stderr);
	g.saved_stderr = dup(2);
	ck_assert_int_ge(g.saved_stderr, 0);
	ck_assert_int_eq(dup2(fileno(g.log), 2), 2);
}

/* Restore stderr, copy the log there and into buf. */
static void
log_release(char *buf, size_t len)
{
	ssize_t	 n;

	fflush(stderr);
	ck_assert_int_eq(dup2(g.saved_stderr, 2), 2);
	close(g.saved_stderr);
	n = pread(fileno(g.log), buf, len - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	fclose(g.log);
	g.log = NULL;
	fputs(buf, stderr);
}

/*
 * Tests.
 */
START_TEST(test_ws_session_echo)
{
	uint8_t	 big[70000];
	size_t	 i;
	int	 fd;

	server_start();
	fd = client_upgrade();
	ck_assert(pump_until(&g.opened, 1, TIMEOUT));
	ck_assert_int_eq(ws_server_sessions(g.srv), 1);
	send_frame(fd, 1, 0x1, "hello", 5, 1);
	expect_message(fd, 0x1, "hello", 5);
	send_frame(fd, 1, 0x2, "\x00\x01\x02", 3, 1);
	expect_message(fd, 0x2, "\x00\x01\x02", 3);
	send_frame(fd, 1, 0x2, "", 0, 1);
	expect_message(fd, 0x2, "", 0);
	for (i = 0; i < 60000; i++)
		big[i] = (uint8_t)i;
	send_frame(fd, 1, 0x2, big, 60000, 1);
	expect_message(fd, 0x2, big, 60000);
	ck_assert_int_eq(g.messages, 4);
	client_close(fd);
	ck_assert(pump_until(&g.closed, 1, TIMEOUT));
	ck_assert_int_eq(ws_server_sessions(g.srv), 0);
	pump_for(0.05);
	ck_assert_int_eq(g.closed, 1);
}
END_TEST

START_TEST(test_ws_session_ping)
{
	int	 fd;

	server_start();
	fd = client_upgrade();
	send_frame(fd, 1, 0x9, "abc", 3, 1);
	expect_message(fd, 0xa, "abc", 3);
	send_frame(fd, 1, 0x9, "", 0, 1);
	expect_message(fd, 0xa, "", 0);
	/* Unsolicited pongs are ignored. */
	send_frame(fd, 1, 0xa, "x", 1, 1);
	send_frame(fd, 1, 0x1, "after", 5, 1);
	expect_message(fd, 0x1, "after", 5);
	ck_assert_int_eq(g.messages, 1);
	client_close(fd);
}
END_TEST

START_TEST(test_ws_session_close_echo)
{
	char	*reason;
	int	 fd;

	server_start();
	fd = client_upgrade();
	send_frame(fd, 1, 0x8, "\x03\xe8", 2, 1);
	reason = expect_close(fd, 1000);
	ck_assert_str_eq(reason, "");
	free(reason);
	ck_assert(cwait_eof(fd, TIMEOUT));
	close(fd);
	ck_assert(pump_until(&g.closed, 1, TIMEOUT));

	/* Another status is echoed as is. */
	fd = client_upgrade();
	send_frame(fd, 1, 0x8, "\x0f\xa0" "app", 5, 1);
	free(expect_close(fd, 4000));
	ck_assert(cwait_eof(fd, TIMEOUT));
	close(fd);

	/* An empty close gets an empty close back. */
	fd = client_upgrade();
	send_frame(fd, 1, 0x8, "", 0, 1);
	{
		uint8_t	*p;
		size_t	 len;
		int	 fin, op;

		p = read_frame(fd, &fin, &op, &len);
		ck_assert_int_eq(op, 0x8);
		ck_assert_uint_eq(len, 0);
		free(p);
	}
	ck_assert(cwait_eof(fd, TIMEOUT));
	close(fd);
	ck_assert(pump_until(&g.closed, 3, TIMEOUT));
}
END_TEST

START_TEST(test_ws_session_fragmented)
{
	int	 fd;

	server_start();
	fd = client_upgrade();
	send_frame(fd, 0, 0x1, "Hel", 3, 1);
	send_frame(fd, 0, 0x0, "lo ", 3, 1);
	/* A control frame may come between fragments. */
	send_frame(fd, 1, 0x9, "p", 1, 1);
	send_frame(fd, 1, 0x0, "you", 3, 1);
	expect_message(fd, 0xa, "p", 1);
	expect_message(fd, 0x1, "Hello you", 9);
	ck_assert_int_eq(g.messages, 1);
	client_close(fd);
}
END_TEST

START_TEST(test_ws_session_fragment_errors)
{
	int	 fd;

	server_start();
	/* A continuation with no message started. */
	fd = client_upgrade();
	send_frame(fd, 1, 0x0, "x", 1, 1);
	free(expect_close(fd, 1002));
	ck_assert(cwait_eof(fd, TIMEOUT));
	close(fd);
	/* A new data frame in the middle of a fragmented message. */
	fd = client_upgrade();
	send_frame(fd, 0, 0x2, "x", 1, 1);
	send_frame(fd, 1, 0x2, "y", 1, 1);
	free(expect_close(fd, 1002));
	ck_assert(cwait_eof(fd, TIMEOUT));
	close(fd);
	ck_assert_int_eq(g.messages, 0);
	ck_assert(pump_until(&g.closed, 2, TIMEOUT));
}
END_TEST

START_TEST(test_ws_session_unmasked)
{
	int	 fd;

	server_start();
	fd = client_upgrade();
	send_frame(fd, 1, 0x1, "hello", 5, 0);
	free(expect_close(fd, 1002));
	ck_assert(cwait_eof(fd, TIMEOUT));
	close(fd);
	ck_assert_int_eq(g.messages, 0);
	ck_assert(pump_until(&g.closed, 1, TIMEOUT));
}
END_TEST

/*
 * Frame header errors: each closes with 1002 after the replies to the
 * frames before it (ws/session.c checks every header; wslay, used
 * before, sent its close frame first and dropped queued replies).
 */
START_TEST(test_ws_session_bad_headers)
{
	static const uint8_t	 ping126[] = { 0x89, 0xfe, 0x00, 0x7e };
	static const uint8_t	 frag_ping[] = { 0x09, 0x80, 0, 0, 0, 0 };
	static const uint8_t	 nonminimal[] = { 0x82, 0xfe, 0x00, 0x05 };
	static const uint8_t	 huge[] = { 0x82, 0xff, 0x80, 0, 0, 0, 0, 0,
	    0, 0 };
	static const uint8_t	 close1[] = { 0x88, 0x81, 0, 0, 0, 0, 0x03 };
	static const uint8_t	 rsv[] = { 0xc1, 0x81, 0, 0, 0, 0, 'a' };
	static const uint8_t	 opcode3[] = { 0x83, 0x80, 0, 0, 0, 0 };
	static const uint8_t	 opcode11[] = { 0x8b, 0x80, 0, 0, 0, 0 };
	static const uint8_t	 unmasked[] = { 0x81, 0x01, 'a' };
	static const uint8_t	 cont[] = { 0x80, 0x81, 0, 0, 0, 0, 'a' };
	static const uint8_t	 badcode[] = { 0x88, 0x82, 0, 0, 0, 0, 0x03,
	    0xed };
	static const struct {
		const uint8_t	*p;
		size_t		 len;
		int		 echo;
	} cases[] = {
		{ ping126, sizeof(ping126), 1 },
		{ frag_ping, sizeof(frag_ping), 1 },
		{ nonminimal, sizeof(nonminimal), 1 },
		{ huge, sizeof(huge), 1 },
		{ close1, sizeof(close1), 1 },
		{ rsv, sizeof(rsv), 1 },
		{ opcode3, sizeof(opcode3), 1 },
		{ opcode11, sizeof(opcode11), 1 },
		{ unmasked, sizeof(unmasked), 1 },
		{ cont, sizeof(cont), 1 },
		/* Status 1005 in a close frame: see bad_payloads too. */
		{ badcode, sizeof(badcode), 1 },
	};
	size_t	 i;
	int	 fd;

	server_start();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fd = client_upgrade();
		/* Frames before the bad one are still handled. */
		send_frame(fd, 1, 0x1, "ok", 2, 1);
		cwrite(fd, cases[i].p, cases[i].len);
		if (cases[i].echo)
			expect_message(fd, 0x1, "ok", 2);
		free(expect_close(fd, 1002));
		ck_assert_msg(cwait_eof(fd, TIMEOUT), "case %zu", i);
		close(fd);
	}
	ck_assert(pump_until(&g.closed, (int)i, TIMEOUT));
	ck_assert_int_eq(g.messages, (int)i);
}
END_TEST

START_TEST(test_ws_session_invalid_utf8)
{
	int	 fd;

	server_start();
	fd = client_upgrade();
	send_frame(fd, 1, 0x1, "\xc3\x28", 2, 1);
	free(expect_close(fd, 1007));
	ck_assert(cwait_eof(fd, TIMEOUT));
	close(fd);
	ck_assert_int_eq(g.messages, 0);
}
END_TEST

START_TEST(test_ws_session_too_big)
{
	uint8_t	 buf[2000];
	int	 fd;

	memset(buf, 'x', sizeof(buf));
	g.conf.max_message = 1000;
	server_start();
	fd = client_upgrade();
	send_frame(fd, 1, 0x2, buf, 1000, 1);
	expect_message(fd, 0x2, buf, 1000);
	send_frame(fd, 1, 0x2, buf, 1001, 1);
	free(expect_close(fd, 1009));
	ck_assert(cwait_eof(fd, TIMEOUT));
	close(fd);

	/* Refused on the header, before any payload. */
	fd = client_upgrade();
	cwrite(fd, "\x82\xff\x00\x00\x00\x01\x00\x00\x00\x00", 10);
	free(expect_close(fd, 1009));
	ck_assert(cwait_eof(fd, TIMEOUT));
	close(fd);

	/* The limit applies to the reassembled message. */
	fd = client_upgrade();
	send_frame(fd, 0, 0x2, buf, 600, 1);
	send_frame(fd, 1, 0x0, buf, 600, 1);
	free(expect_close(fd, 1009));
	ck_assert(cwait_eof(fd, TIMEOUT));
	close(fd);
	ck_assert_int_eq(g.messages, 1);
	ck_assert(pump_until(&g.closed, 3, TIMEOUT));
}
END_TEST

START_TEST(test_ws_session_plain_get)
{
	char	 buf[2048], logbuf[4096];
	FILE	*log;
	ssize_t	 n;
	int	 fd, saved;

	/* Capture the log. */
	log = tmpfile();
	ck_assert_ptr_nonnull(log);
	fflush(stderr);
	saved = dup(2);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(dup2(fileno(log), 2), 2);

	server_start();
	fd = client_connect();
	cwrite(fd, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n", 31);
	ck_assert_int_eq(cread_http(fd, buf, sizeof(buf)), 400);
	ck_assert(cwait_eof(fd, TIMEOUT));
	close(fd);

	fflush(stderr);
	ck_assert_int_eq(dup2(saved, 2), 2);
	close(saved);
	n = pread(fileno(log), logbuf, sizeof(logbuf) - 1, 0);
	ck_assert_int_gt(n, 0);
	logbuf[n] = '\0';
	fclose(log);
	fputs(logbuf, stderr);

	ck_assert_ptr_nonnull(strstr(buf, "HTTP/1.1 400 Bad Request\r\n"));
	ck_assert_ptr_nonnull(strstr(buf, "Connection: close\r\n"));
	ck_assert_ptr_nonnull(strstr(buf,
	    "\r\n\r\nbad \"upgrade\" request header: nil\n"));
	ck_assert_ptr_nonnull(strstr(logbuf, "info: ws: 127.0.0.1:"));
	ck_assert_ptr_nonnull(strstr(logbuf, "failed to initialize pubsub "
	    "module, err: bad \"upgrade\" request header: nil\n"));
	ck_assert_int_eq(g.opened, 0);
}
END_TEST

START_TEST(test_ws_session_bad_versions)
{
	char	 buf[2048];
	int	 fd;

	server_start();
	fd = client_connect();
	cwrite(fd, "GET /kafka HTTP/1.0\r\n\r\n", 23);
	ck_assert_int_eq(cread_http(fd, buf, sizeof(buf)), 400);
	ck_assert_ptr_nonnull(strstr(buf, "\r\n\r\nbad http version\n"));
	ck_assert(cwait_eof(fd, TIMEOUT));
	close(fd);

	fd = client_connect();
#define V8	"GET /kafka HTTP/1.1\r\nHost: h\r\n"			\
	"Upgrade: websocket\r\n"					\
	"Connection: Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"		\
	"Sec-WebSocket-Version: 8\r\n\r\n"
	cwrite(fd, V8, strlen(V8));
	ck_assert_int_eq(cread_http(fd, buf, sizeof(buf)), 400);
	ck_assert_ptr_nonnull(strstr(buf, "\r\nSec-WebSocket-Version: 13\r\n"));
	ck_assert_ptr_nonnull(strstr(buf,
	    "bad \"sec-websocket-version\" request header\n"));
	ck_assert(cwait_eof(fd, TIMEOUT));
	close(fd);

	/* Garbage: 400 at once. */
	fd = client_connect();
	cwrite(fd, "\x16\x03\x01\x02\x00\x01", 6);
	ck_assert_int_eq(cread_http(fd, buf, sizeof(buf)), 400);
	ck_assert(cwait_eof(fd, TIMEOUT));
	close(fd);
}
END_TEST

START_TEST(test_ws_session_unknown_path)
{
	char	 buf[2048];
	int	 fd;

	server_start();
	fd = client_connect();
	/* 404 comes before the handshake checks. */
	cwrite(fd, "GET /nope?x HTTP/1.0\r\n\r\n", 24);
	ck_assert_int_eq(cread_http(fd, buf, sizeof(buf)), 404);
	ck_assert(cwait_eof(fd, TIMEOUT));
	close(fd);
	fd = client_connect();
	cwrite(fd, UPGRADE("/echo/"), strlen(UPGRADE("/echo/")));
	ck_assert_int_eq(cread_http(fd, buf, sizeof(buf)), 404);
	ck_assert(cwait_eof(fd, TIMEOUT));
	close(fd);
	/* The query string is not part of the route. */
	fd = client_connect();
	cwrite(fd, UPGRADE("/echo?a=b"), strlen(UPGRADE("/echo?a=b")));
	ck_assert_int_eq(cread_http(fd, buf, sizeof(buf)), 101);
	close(fd);
	ck_assert(pump_until(&g.closed, 1, TIMEOUT));
}
END_TEST

START_TEST(test_ws_session_oversize)
{
	char	 buf[2048], *req;
	size_t	 len = 20000;
	int	 fd;

	req = malloc(len);
	ck_assert_ptr_nonnull(req);
	memcpy(req, "GET /echo HTTP/1.1\r\nX-Pad: ", 27);
	memset(req + 27, 'a', len - 27 - 4);
	memcpy(req + len - 4, "\r\n\r\n", 4);
	server_start();
	fd = client_connect();
	cwrite(fd, req, len);
	ck_assert_int_eq(cread_http(fd, buf, sizeof(buf)), 431);
	ck_assert(cwait_eof(fd, TIMEOUT));
	close(fd);
	free(req);
}
END_TEST

START_TEST(test_ws_session_pipelined)
{
	static const char	 req[] = UPGRADE("/echo");
	uint8_t			 buf[sizeof(req) + 64], big[2000];
	size_t			 len = sizeof(req) - 1, i;
	char			 resp[1024];
	int			 fd;

	/* Request, a masked "hi" and a ping, in one write. */
	memcpy(buf, req, len);
	memcpy(buf + len, "\x81\x82\x01\x02\x03\x04", 6);
	buf[len + 6] = 'h' ^ 0x01;
	buf[len + 7] = 'i' ^ 0x02;
	memcpy(buf + len + 8, "\x89\x80\x00\x00\x00\x00", 6);
	server_start();
	fd = client_connect();
	cwrite(fd, buf, len + 14);
	ck_assert_int_eq(cread_http(fd, resp, sizeof(resp)), 101);
	/* A pong goes ahead of answers not yet started. */
	expect_message(fd, 0xa, "", 0);
	expect_message(fd, 0x1, "hi", 2);
	client_close(fd);

	/* More pipelined octets than the session's usual input buffer. */
	memset(big, 'b', sizeof(big));
	fd = client_connect();
	cwrite(fd, req, len);
	for (i = 0; i < 3; i++)
		send_frame(fd, 1, 0x2, big, sizeof(big), 1);
	ck_assert_int_eq(cread_http(fd, resp, sizeof(resp)), 101);
	for (i = 0; i < 3; i++)
		expect_message(fd, 0x2, big, sizeof(big));
	client_close(fd);
}
END_TEST

START_TEST(test_ws_session_outbound_limit)
{
	uint8_t			 msg[600];
	struct ws_session	*s;
	int			 fd;

	memset(msg, 'm', sizeof(msg));
	g.conf.max_outbound = 1000;
	server_start();
	fd = client_upgrade();
	ck_assert(pump_until(&g.opened, 1, TIMEOUT));
	s = g.last;
	ck_assert_uint_eq(ws_session_queued(s), 0);
	ck_assert_int_eq(ws_session_send(s, 2, msg, 1001), WS_SEND_FULL);
	ck_assert_int_eq(ws_session_send(s, 2, msg, 600), WS_SEND_OK);
	ck_assert_uint_eq(ws_session_queued(s), 600);
	ck_assert_int_eq(ws_session_send(s, 2, msg, 600), WS_SEND_FULL);
	ck_assert_int_eq(ws_session_send(s, 2, msg, 400), WS_SEND_OK);
	ck_assert_uint_eq(ws_session_queued(s), 1000);
	ck_assert_int_eq(ws_session_send(s, 2, msg, 1), WS_SEND_FULL);
	ck_assert_int_eq(ws_session_send(s, 9, msg, 1), WS_SEND_CLOSED);
	ck_assert_int_eq(g.drained, 0);
	expect_message(fd, 0x2, msg, 600);
	expect_message(fd, 0x2, msg, 400);
	ck_assert_uint_eq(ws_session_queued(s), 0);
	ck_assert_int_eq(g.drained, 1);
	ck_assert_int_eq(ws_session_send(s, 2, msg, 600), WS_SEND_OK);
	expect_message(fd, 0x2, msg, 600);
	/* Closing: nothing more is taken. */
	ws_session_close(s, 1000, "done");
	ck_assert_int_eq(ws_session_send(s, 2, msg, 1), WS_SEND_CLOSED);
	ck_assert_int_eq(ws_session_send(s, 1, msg, 0), WS_SEND_CLOSED);
	free(expect_close(fd, 1000));
	send_frame(fd, 1, 0x8, "\x03\xe8", 2, 1);
	ck_assert(cwait_eof(fd, TIMEOUT));
	close(fd);
	ck_assert(pump_until(&g.closed, 1, TIMEOUT));
}
END_TEST

START_TEST(test_ws_session_shutdown)
{
	char	*reason;
	int	 fd1, fd2, fd3;

	server_start();
	fd1 = client_upgrade();
	fd2 = client_upgrade();
	fd3 = client_connect();		/* still in the handshake */
	ck_assert(pump_until(&g.opened, 2, TIMEOUT));
	ck_assert_int_eq(ws_server_sessions(g.srv), 2);
	ws_server_shutdown(g.srv, 1001, "server shutdown");
	ck_assert_int_eq(ws_server_port(g.srv), -1);
	reason = expect_close(fd1, 1001);
	ck_assert_str_eq(reason, "server shutdown");
	free(reason);
	free(expect_close(fd2, 1001));
	ck_assert(cwait_eof(fd3, TIMEOUT));
	/* Sessions wait for the close reply. */
	send_frame(fd1, 0, 0x1, "ignored", 7, 1);
	send_frame(fd1, 1, 0x8, "\x03\xe9", 2, 1);
	ck_assert(cwait_eof(fd1, TIMEOUT));
	ck_assert(pump_until(&g.closed, 1, TIMEOUT));
	ck_assert_int_eq(ws_server_sessions(g.srv), 1);
	/* A client that does not answer is dropped after 2 s. */
	ck_assert(cwait_eof(fd2, 2.5));
	ck_assert(pump_until(&g.closed, 2, TIMEOUT));
	ck_assert_int_eq(ws_server_sessions(g.srv), 0);
	ck_assert_int_eq(g.messages, 0);
	close(fd1);
	close(fd2);
	close(fd3);
}
END_TEST

START_TEST(test_ws_session_one_byte)
{
	static const char	 req[] = UPGRADE("/echo");
	uint8_t			 frame[64];
	char			 resp[1024];
	size_t			 i, n;
	int			 fd;

	server_start();
	fd = client_connect();
	for (i = 0; i < sizeof(req) - 1; i++) {
		cwrite(fd, req + i, 1);
		pump_for(0.0005);
	}
	ck_assert_int_eq(cread_http(fd, resp, sizeof(resp)), 101);
	/* A fragmented masked text message and a ping, octet by octet. */
	n = 0;
	memcpy(frame + n, "\x01\x83\x11\x22\x33\x44", 6);
	frame[n + 6] = 'a' ^ 0x11;
	frame[n + 7] = 'b' ^ 0x22;
	frame[n + 8] = 'c' ^ 0x33;
	n += 9;
	memcpy(frame + n, "\x89\x81\x00\x00\x00\x00P", 7);
	n += 7;
	memcpy(frame + n, "\x80\x81\x01\x01\x01\x01", 6);
	frame[n + 6] = 'd' ^ 0x01;
	n += 7;
	for (i = 0; i < n; i++) {
		cwrite(fd, frame + i, 1);
		pump_for(0.0005);
	}
	expect_message(fd, 0xa, "P", 1);
	expect_message(fd, 0x1, "abcd", 4);
	client_close(fd);
}
END_TEST

START_TEST(test_ws_session_abrupt)
{
	int	 fd;

	server_start();
	fd = client_upgrade();
	ck_assert(pump_until(&g.opened, 1, TIMEOUT));
	close(fd);
	ck_assert(pump_until(&g.closed, 1, TIMEOUT));
	/* In the middle of a frame. */
	fd = client_upgrade();
	send_frame(fd, 1, 0x1, "hello", 5, 1);
	cwrite(fd, "\x81\x85\x00", 3);
	expect_message(fd, 0x1, "hello", 5);
	close(fd);
	ck_assert(pump_until(&g.closed, 2, TIMEOUT));
	/* During the handshake: no callbacks. */
	fd = client_connect();
	cwrite(fd, "GET /echo HTTP/1.1\r\n", 20);
	pump_for(0.02);
	close(fd);
	pump_for(0.05);
	ck_assert_int_eq(g.opened, 2);
	ck_assert_int_eq(g.closed, 2);
	ck_assert_int_eq(ws_server_sessions(g.srv), 0);
}
END_TEST

START_TEST(test_ws_session_server_close)
{
	char	*reason;
	int	 fd;

	server_start();
	fd = client_upgrade();
	send_frame(fd, 1, 0x1, "close me", 8, 1);
	send_frame(fd, 1, 0x1, "dropped", 7, 1);
	reason = expect_close(fd, 1000);
	ck_assert_str_eq(reason, "as you wish");
	free(reason);
	ck_assert(pump_until(&g.messages, 1, TIMEOUT));
	send_frame(fd, 1, 0x8, "\x03\xe8", 2, 1);
	ck_assert(cwait_eof(fd, TIMEOUT));
	close(fd);
	ck_assert(pump_until(&g.closed, 1, TIMEOUT));
	ck_assert_int_eq(g.messages, 1);
}
END_TEST

START_TEST(test_ws_session_timeouts)
{
	char	*reason;
	int	 fd;

	g.conf.idle_timeout = 0.3;
	g.conf.handshake_timeout = 0.2;
	server_start();
	fd = client_connect();
	ck_assert(cwait_eof(fd, 1.0));
	close(fd);

	fd = client_upgrade();
	pump_for(0.2);
	send_frame(fd, 1, 0x1, "keep", 4, 1);
	expect_message(fd, 0x1, "keep", 4);
	pump_for(0.2);
	ck_assert_int_eq(g.closed, 0);
	reason = expect_close(fd, 1001);
	ck_assert_str_eq(reason, "idle timeout");
	free(reason);
	send_frame(fd, 1, 0x8, "\x03\xe9", 2, 1);
	ck_assert(cwait_eof(fd, TIMEOUT));
	close(fd);
	ck_assert(pump_until(&g.closed, 1, TIMEOUT));
}
END_TEST

START_TEST(test_ws_session_max_sessions)
{
	char	 buf[1024];
	int	 fd1, fd2;

	g.conf.max_sessions = 1;
	server_start();
	fd1 = client_upgrade();
	fd2 = client_connect();
	cwrite(fd2, UPGRADE("/echo"), strlen(UPGRADE("/echo")));
	ck_assert_int_eq(cread_http(fd2, buf, sizeof(buf)), 503);
	ck_assert(cwait_eof(fd2, TIMEOUT));
	close(fd2);
	client_close(fd1);
	ck_assert(pump_until(&g.closed, 1, TIMEOUT));
	fd2 = client_upgrade();
	client_close(fd2);
}
END_TEST

START_TEST(test_ws_session_listen_errors)
{
	char	 err[256];

	g.srv = ws_server_new(g.loop, NULL, &cbs, NULL);
	ck_assert_ptr_nonnull(g.srv);
	ck_assert_int_eq(ws_server_port(g.srv), -1);
	ck_assert_int_eq(ws_server_listen(g.srv, "nocolon", err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "nocolon"));
	ck_assert_int_eq(ws_server_listen(g.srv, "1.2.3.4:99999", err,
	    sizeof(err)), -1);
	ck_assert_int_eq(ws_server_listen(g.srv, "::1:80", err, sizeof(err)),
	    -1);
	ck_assert_int_eq(ws_server_listen(g.srv, "[::1:80", err, sizeof(err)),
	    -1);
	ck_assert_int_eq(ws_server_listen(g.srv, "127.0.0.1:", err,
	    sizeof(err)), -1);
	ck_assert_int_eq(ws_server_listen(g.srv, "192.0.2.1:0", err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "bind"));
	ck_assert_int_eq(ws_server_listen(g.srv, ":0", err, sizeof(err)), 0);
	ck_assert_int_gt(ws_server_port(g.srv), 0);
	g.port = ws_server_port(g.srv);
	/* The all-addresses listener takes IPv4 clients. */
	client_close(client_upgrade());
}
END_TEST

START_TEST(test_ws_session_shutdown_in_callback)
{
	int	 fd1, fd2;

	server_start();
	fd1 = client_upgrade();
	fd2 = client_connect();
	cwrite(fd2, UPGRADE("/shutdown"), strlen(UPGRADE("/shutdown")));
	/* The requesting connection is dropped, the session closed. */
	ck_assert(cwait_eof(fd2, TIMEOUT));
	free(expect_close(fd1, 1001));
	send_frame(fd1, 1, 0x8, "\x03\xe9", 2, 1);
	ck_assert(cwait_eof(fd1, TIMEOUT));
	ck_assert(pump_until(&g.closed, 1, TIMEOUT));
	ck_assert_int_eq(g.opened, 1);
	close(fd1);
	close(fd2);
}
END_TEST

/* Random octets after the upgrade: never a crash, always cleaned up. */
START_TEST(test_ws_session_garbage)
{
	uint8_t		 buf[3000], c;
	unsigned int	 seed = 1;
	size_t		 j, len;
	int		 fd, i, n = 40;

	server_start();
	for (i = 0; i < n; i++) {
		fd = client_upgrade();
		len = (size_t)(rand_r(&seed) % (int)sizeof(buf));
		for (j = 0; j < len; j++)
			buf[j] = (uint8_t)rand_r(&seed);
		/* Sometimes a plausible masked header first. */
		if (i % 2 == 0 && len > 2) {
			buf[0] = (uint8_t)(0x80 | (buf[0] & 0x0f));
			buf[1] |= 0x80;
		}
		(void)send(fd, buf, len, MSG_NOSIGNAL);
		pump_for(0.01);
		/* Whatever came back, the server must not hang on to us. */
		while (recv(fd, &c, 1, MSG_DONTWAIT) > 0)
			;
		close(fd);
	}
	ck_assert(pump_until(&g.closed, n, TIMEOUT));
	ck_assert_int_eq(ws_server_sessions(g.srv), 0);
}
END_TEST

/*
 * Bad payloads (invalid close status, close reason or text not UTF-8),
 * each right after a request in the same write: the reply goes out
 * first, then our close with the right status.
 */
struct tframe {
	int		 fin;
	int		 op;
	const char	*p;
	size_t		 len;
};

static const struct {
	struct tframe	 f[3];
	int		 n;
	unsigned int	 code;
} bad_payloads[] = {
	{ { { 1, 0x8, "\x03\xed", 2 } }, 1, 1002 },		/* 1005 */
	{ { { 1, 0x8, "\x03\xee" "abc", 5 } }, 1, 1002 },	/* 1006 */
	{ { { 1, 0x8, "\x03\xf7", 2 } }, 1, 1002 },		/* 1015 */
	{ { { 1, 0x8, "\x03\xec", 2 } }, 1, 1002 },		/* 1004 */
	{ { { 1, 0x8, "\x03\xe7", 2 } }, 1, 1002 },		/* 999 */
	{ { { 1, 0x8, "\x00\x00", 2 } }, 1, 1002 },		/* 0 */
	{ { { 1, 0x8, "\x03\xf8", 2 } }, 1, 1002 },		/* 1016 */
	{ { { 1, 0x8, "\x0b\xb7", 2 } }, 1, 1002 },		/* 2999 */
	{ { { 1, 0x8, "\x13\x88", 2 } }, 1, 1002 },		/* 5000 */
	{ { { 1, 0x8, "\xff\xff", 2 } }, 1, 1002 },		/* 65535 */
	/* The reason: bad octet, overlong, surrogate, cut short. */
	{ { { 1, 0x8, "\x03\xe8" "ok\xff", 5 } }, 1, 1007 },
	{ { { 1, 0x8, "\x03\xe8\xc0\xaf", 4 } }, 1, 1007 },
	{ { { 1, 0x8, "\x0f\xa0\xed\xa0\x80", 5 } }, 1, 1007 },
	{ { { 1, 0x8, "\x03\xe8\xe2\x82", 4 } }, 1, 1007 },
	/* Text: bad octet, overlong, surrogate, > U+10FFFF, cut short. */
	{ { { 1, 0x1, "\xc3\x28", 2 } }, 1, 1007 },
	{ { { 1, 0x1, "ab\xff", 3 } }, 1, 1007 },
	{ { { 1, 0x1, "\xe0\x80\xaf", 3 } }, 1, 1007 },
	{ { { 1, 0x1, "\xc1\xbf", 2 } }, 1, 1007 },
	{ { { 1, 0x1, "\xed\xa0\x80", 3 } }, 1, 1007 },
	{ { { 1, 0x1, "\xf4\x90\x80\x80", 4 } }, 1, 1007 },
	{ { { 1, 0x1, "\xf5\x80\x80\x80", 4 } }, 1, 1007 },
	{ { { 1, 0x1, "a\xe2\x82", 3 } }, 1, 1007 },
	/* Across fragments. */
	{ { { 0, 0x1, "ok\xe2", 3 }, { 1, 0x0, "\x82\x28", 2 } }, 2, 1007 },
	{ { { 0, 0x1, "\xf0\x9f", 2 }, { 1, 0x0, "\x98", 1 } }, 2, 1007 },
	{ { { 0, 0x1, "\xe2", 1 }, { 0, 0x0, "\x82", 1 },
	    { 1, 0x0, "", 0 } }, 3, 1007 },
	{ { { 0, 0x1, "ok", 2 }, { 0, 0x0, "", 0 },
	    { 1, 0x0, "\x80", 1 } }, 3, 1007 },
};

START_TEST(test_ws_session_bad_payloads)
{
	uint8_t	 buf[512];
	size_t	 off;
	int	 fd, j;
	char	*reason;

	server_start();
	fd = client_upgrade();
	off = build_frame(buf, 1, 0x2, "ok", 2, 1);
	for (j = 0; j < bad_payloads[_i].n; j++)
		off += build_frame(buf + off, bad_payloads[_i].f[j].fin,
		    bad_payloads[_i].f[j].op, bad_payloads[_i].f[j].p,
		    bad_payloads[_i].f[j].len, 1);
	cwrite(fd, buf, off);
	expect_message(fd, 0x2, "ok", 2);
	reason = expect_close(fd, bad_payloads[_i].code);
	free(reason);
	ck_assert(cwait_eof(fd, TIMEOUT));
	close(fd);
	ck_assert(pump_until(&g.closed, 1, TIMEOUT));
	ck_assert_int_eq(g.messages, 1);
}
END_TEST

/*
 * A request and a valid close frame in one write ("ask, then close when
 * done"): the answer goes out before the close echo, which carries the
 * peer's status.  Frames after the close frame are ignored: no message
 * is delivered for them.
 */
static void
request_close(int tls)
{
	static const struct {
		size_t		 reqlen;	/* the request: reqlen octets */
		int		 ping;		/* a ping after it */
		const char	*close;
		size_t		 closelen;
		unsigned int	 code;
		const char	*reason;
		int		 late;		/* a request after the close */
	} cases[] = {
		{ 3, 0, "\x03\xe8", 2, 1000, "", 0 },
		{ 3, 0, "\x0f\xa0" "done", 6, 4000, "done", 0 },
		{ 3, 1, "\x0f\xa0" "done", 6, 4000, "done", 1 },
		{ 60000, 0, "\x03\xe8" "bye", 5, 1000, "bye", 1 },
		/* 1012-1014 are echoed as 1000 (see ws/session.c). */
		{ 3, 0, "\x03\xf4", 2, 1000, "", 0 },
	};
	uint8_t	*req, *buf;
	size_t	 i, j, off;
	char	*reason;
	int	 fd;

	if (tls)
		tls_server_start("server.pem", "server.key");
	else
		server_start();
	req = malloc(60000);
	buf = malloc(2 * 60000 + 256);
	ck_assert_ptr_nonnull(req);
	ck_assert_ptr_nonnull(buf);
	for (i = 0; i < 60000; i++)
		req[i] = (uint8_t)(i * 13 + (i >> 9));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fd = tls ? tls_upgrade() : client_upgrade();
		off = build_frame(buf, 1, 0x2, req, cases[i].reqlen, 1);
		if (cases[i].ping)
			off += build_frame(buf + off, 1, 0x9, "p", 1, 1);
		off += build_frame(buf + off, 1, 0x8, cases[i].close,
		    cases[i].closelen, 1);
		if (cases[i].late) {
			off += build_frame(buf + off, 1, 0x2, req,
			    cases[i].reqlen, 1);
			off += build_frame(buf + off, 1, 0x8, "\x03\xe9", 2, 1);
		}
		cwrite(fd, buf, off);
		/* A pong goes ahead of answers not started: it leads. */
		if (cases[i].ping)
			expect_message(fd, 0xa, "p", 1);
		expect_message(fd, 0x2, req, cases[i].reqlen);
		reason = expect_close(fd, cases[i].code);
		ck_assert_str_eq(reason, cases[i].reason);
		free(reason);
		ck_assert(cwait_eof(fd, TIMEOUT));
		cclose(fd);
		ck_assert(pump_until(&g.closed, (int)i + 1, TIMEOUT));
		ck_assert_int_eq(g.messages, (int)i + 1);
	}
	/* The same, the close frame in pieces after the request. */
	fd = tls ? tls_upgrade() : client_upgrade();
	off = build_frame(buf, 1, 0x2, req, 3, 1);
	off += build_frame(buf + off, 1, 0x8, "\x0f\xa1" "x", 3, 1);
	for (j = 0; j < off; j += 2) {
		cwrite(fd, buf + j, off - j < 2 ? off - j : 2);
		pump_for(0.002);
	}
	expect_message(fd, 0x2, req, 3);
	reason = expect_close(fd, 4001);
	ck_assert_str_eq(reason, "x");
	free(reason);
	ck_assert(cwait_eof(fd, TIMEOUT));
	cclose(fd);
	ck_assert(pump_until(&g.closed, (int)i + 1, TIMEOUT));
	ck_assert_int_eq(g.messages, (int)i + 1);
	free(buf);
	free(req);
}

START_TEST(test_ws_session_request_close)
{
	request_close(0);
}
END_TEST

/*
 * Request and close, and the peer does not read: the answer, larger than
 * the socket buffers, cannot all be written.  The close timeout still
 * ends the session; what the peer got is the answer, not the close.
 */
START_TEST(test_ws_session_request_close_unread)
{
	static char	 logbuf[65536];
	uint8_t		 buf[64];
	size_t		 off;
	int		 fd;

	g.answer = 8 * 1024 * 1024;
	g.conf.max_outbound = 4 * g.answer;
	g.rcvbuf = 8192;
	log_capture();
	server_start();
	fd = client_upgrade();
	off = build_frame(buf, 1, 0x2, "ask", 3, 1);
	off += build_frame(buf + off, 1, 0x8, "\x03\xe8", 2, 1);
	cwrite(fd, buf, off);
	/* The close timeout is 2 s. */
	ck_assert(pump_until(&g.closed, 1, 2.0 + 1.5));
	log_release(logbuf, sizeof(logbuf));
	ck_assert_int_eq(g.messages, 1);
	ck_assert_ptr_nonnull(strstr(logbuf, "closed (close handshake "
	    "timeout), status sent 1006, received 1000\n"));
	ck_assert_uint_eq(cread(fd, buf, 2, TIMEOUT), 2);
	ck_assert_uint_eq(buf[0], 0x82);
	ck_assert_uint_eq(buf[1], 127);
	close(fd);
}
END_TEST

/* What must pass: every valid status, UTF-8 across fragments. */
START_TEST(test_ws_session_good_payloads)
{
	static const struct {
		const char	*p;
		size_t		 len;
		unsigned int	 echo;	/* the status sent back */
	} closes[] = {
		{ "\x03\xe8", 2, 1000 },
		{ "\x03\xeb" "bye", 5, 1003 },
		{ "\x03\xef", 2, 1007 },
		{ "\x03\xf3", 2, 1011 },
		/* IANA registry: valid; echoed as 1000. */
		{ "\x03\xf4" "restart", 9, 1000 },
		{ "\x03\xf5", 2, 1000 },
		{ "\x03\xf6", 2, 1000 },
		{ "\x0b\xb8" "caf\xc3\xa9", 7, 3000 },
		{ "\x13\x87" "\xf4\x8f\xbf\xbf\xf0\x90\x80\x80", 10, 4999 },
	};
	static const char	 smile[] = "\xf0\x9f\x98\x80";
	static const char	 edges[] = "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80"
	    "\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf";
	uint8_t			 buf[256];
	char			*reason;
	size_t			 i, off;
	int			 fd;

	server_start();
	for (i = 0; i < sizeof(closes) / sizeof(closes[0]); i++) {
		fd = client_upgrade();
		send_frame(fd, 1, 0x8, closes[i].p, closes[i].len, 1);
		reason = expect_close(fd, closes[i].echo);
		ck_assert_uint_eq(strlen(reason), closes[i].len - 2);
		ck_assert_int_eq(memcmp(reason, closes[i].p + 2,
		    closes[i].len - 2), 0);
		free(reason);
		ck_assert_msg(cwait_eof(fd, TIMEOUT), "case %zu", i);
		close(fd);
	}
	/* A character cut over four fragments, with a ping between. */
	fd = client_upgrade();
	off = 0;
	for (i = 0; i < 4; i++) {
		off += build_frame(buf + off, i == 3, i == 0 ? 0x1 : 0x0,
		    smile + i, 1, 1);
		if (i == 1)
			off += build_frame(buf + off, 1, 0x9, "", 0, 1);
	}
	cwrite(fd, buf, off);
	expect_message(fd, 0xa, "", 0);
	expect_message(fd, 0x1, smile, 4);
	send_frame(fd, 1, 0x1, edges, sizeof(edges) - 1, 1);
	expect_message(fd, 0x1, edges, sizeof(edges) - 1);
	/* Empty fragments, and a binary message is not checked. */
	off = build_frame(buf, 0, 0x1, "\xc3", 1, 1);
	off += build_frame(buf + off, 0, 0x0, "", 0, 1);
	off += build_frame(buf + off, 1, 0x0, "\xa9", 1, 1);
	off += build_frame(buf + off, 1, 0x2, "\xff\xc3", 2, 1);
	cwrite(fd, buf, off);
	expect_message(fd, 0x1, "\xc3\xa9", 2);
	expect_message(fd, 0x2, "\xff\xc3", 2);
	client_close(fd);
	ck_assert_int_eq(g.messages, 4);
}
END_TEST

/* Message i of n octets for the pause tests: "NNN" then a letter. */
static void
numbered(char *p, size_t i, size_t n)
{
	char	 num[16];

	ck_assert_uint_ge(n, 3);
	memset(p, (int)('a' + i % 26), n);
	(void)snprintf(num, sizeof(num), "%03zu", i % 1000);
	memcpy(p, num, 3);
}

static size_t
numbered_frame(uint8_t *f, size_t i, size_t n)
{
	char	 p[256];

	ck_assert_uint_le(n, sizeof(p));
	numbered(p, i, n);
	return build_frame(f, 1, 0x2, p, n, 1);
}

static void
expect_numbered(int fd, size_t i, size_t n)
{
	char	 p[256];

	ck_assert_uint_le(n, sizeof(p));
	numbered(p, i, n);
	expect_message(fd, 0x2, p, n);
}

/*
 * Paused from the message callback: not another callback, though the
 * other frames came in the same segment (kept by the session)
 * until resumed; then the rest in order, without new input.
 */
static void
pause_batch(int tls, size_t n, size_t size)
{
	uint8_t	*buf;
	size_t	 i, off;
	int	 fd;

	g.pause_after = 1;
	if (tls) {
		tls_server_start("server.pem", "server.key");
		fd = tls_upgrade();
	} else {
		server_start();
		fd = client_upgrade();
	}
	buf = malloc(n * (size + 14));
	ck_assert_ptr_nonnull(buf);
	for (i = 0, off = 0; i < n; i++)
		off += numbered_frame(buf + off, i, size);
	cwrite(fd, buf, off);
	free(buf);
	expect_numbered(fd, 0, size);
	ck_assert(cquiet(fd, 0.2));
	ck_assert_int_eq(g.messages, 1);
	g.pause_after = 0;
	ws_session_pause(g.last, 0);
	/* Not from inside the call. */
	ck_assert_int_eq(g.messages, 1);
	for (i = 1; i < n; i++)
		expect_numbered(fd, i, size);
	ck_assert_int_eq(g.messages, (int)n);
	client_close(fd);
}

START_TEST(test_ws_session_pause_batch)
{
	pause_batch(0, 100, 4);
}
END_TEST

/* Pausing from outside a callback, across partial frames. */
START_TEST(test_ws_session_pause_partial)
{
	struct ws_session	*s;
	uint8_t			 a[64], b[64], c[64];
	size_t			 na, nb, nc;
	int			 fd;

	server_start();
	fd = client_upgrade();
	ck_assert(pump_until(&g.opened, 1, TIMEOUT));
	s = g.last;
	na = numbered_frame(a, 1, 20);
	nb = numbered_frame(b, 2, 5);
	nc = numbered_frame(c, 3, 30);
	/* Half a header, paused, the rest and another frame. */
	cwrite(fd, a, 3);
	pump_for(0.02);
	ws_session_pause(s, 1);
	ws_session_pause(s, 1);
	cwrite(fd, a + 3, na - 3);
	cwrite(fd, b, nb);
	ck_assert(cquiet(fd, 0.1));
	ck_assert_int_eq(g.messages, 0);
	ws_session_pause(s, 0);
	ck_assert_int_eq(g.messages, 0);
	expect_numbered(fd, 1, 20);
	expect_numbered(fd, 2, 5);
	/* Paused in the middle of a payload. */
	cwrite(fd, c, 12);
	pump_for(0.02);
	ws_session_pause(s, 1);
	cwrite(fd, c + 12, nc - 12);
	ck_assert(cquiet(fd, 0.1));
	ck_assert_int_eq(g.messages, 2);
	/* Resumed and paused again before the loop runs: still paused. */
	ws_session_pause(s, 0);
	ws_session_pause(s, 1);
	ck_assert(cquiet(fd, 0.1));
	ck_assert_int_eq(g.messages, 2);
	ws_session_pause(s, 0);
	expect_numbered(fd, 3, 30);
	ck_assert_int_eq(g.messages, 3);
	client_close(fd);
}
END_TEST

/* The close handshake goes on while paused, either side starting it. */
START_TEST(test_ws_session_pause_close)
{
	struct ws_session	*s;
	uint8_t			 buf[256];
	size_t			 i, off;
	char			*reason;
	int			 fd;

	/* The peer closes after messages the paused session holds. */
	g.echo = 0;
	g.pause_after = 1;
	server_start();
	fd = client_upgrade();
	for (i = 0, off = 0; i < 3; i++)
		off += numbered_frame(buf + off, i, 10);
	off += build_frame(buf + off, 1, 0x8, "\x03\xe8" "bye", 5, 1);
	cwrite(fd, buf, off);
	ck_assert(cquiet(fd, 0.2));
	ck_assert_int_eq(g.messages, 1);
	ck_assert_int_eq(g.closed, 0);
	g.pause_after = 0;
	ws_session_pause(g.last, 0);
	reason = expect_close(fd, 1000);
	ck_assert_str_eq(reason, "bye");
	free(reason);
	ck_assert(cwait_eof(fd, TIMEOUT));
	close(fd);
	ck_assert(pump_until(&g.closed, 1, TIMEOUT));
	ck_assert_int_eq(g.messages, 3);

	/* We close while paused: input is read again, not delivered. */
	fd = client_upgrade();
	ck_assert(pump_until(&g.opened, 2, TIMEOUT));
	s = g.last;
	ws_session_pause(s, 1);
	send_frame(fd, 1, 0x2, "late", 4, 1);
	ck_assert(cquiet(fd, 0.05));
	ws_session_close(s, 1001, "going");
	reason = expect_close(fd, 1001);
	ck_assert_str_eq(reason, "going");
	free(reason);
	send_frame(fd, 1, 0x8, "\x03\xe9", 2, 1);
	ck_assert(cwait_eof(fd, TIMEOUT));
	close(fd);
	ck_assert(pump_until(&g.closed, 2, TIMEOUT));
	ck_assert_int_eq(g.messages, 3);

	/* The peer goes away while paused: seen once resumed. */
	fd = client_upgrade();
	ck_assert(pump_until(&g.opened, 3, TIMEOUT));
	s = g.last;
	ws_session_pause(s, 1);
	close(fd);
	pump_for(0.05);
	ck_assert_int_eq(g.closed, 2);
	ws_session_pause(s, 0);
	ck_assert(pump_until(&g.closed, 3, TIMEOUT));
	ck_assert_int_eq(ws_server_sessions(g.srv), 0);
}
END_TEST

/* Paused time is not idle time; output goes on. */
START_TEST(test_ws_session_pause_idle)
{
	ev_tstamp	 t0;
	char		*reason;
	int		 fd;

	g.conf.idle_timeout = 0.3;
	server_start();
	fd = client_upgrade();
	ck_assert(pump_until(&g.opened, 1, TIMEOUT));
	ws_session_pause(g.last, 1);
	ck_assert_int_eq(ws_session_send(g.last, 2, (const uint8_t *)"out",
	    3), WS_SEND_OK);
	expect_message(fd, 0x2, "out", 3);
	ck_assert(cquiet(fd, 0.6));
	ck_assert_int_eq(g.closed, 0);
	ev_now_update(g.loop);
	t0 = ev_now(g.loop);
	ws_session_pause(g.last, 0);
	reason = expect_close(fd, 1001);
	ck_assert_str_eq(reason, "idle timeout");
	free(reason);
	ev_now_update(g.loop);
	ck_assert_double_ge(ev_now(g.loop) - t0, 0.2);
	send_frame(fd, 1, 0x8, "\x03\xe9", 2, 1);
	ck_assert(cwait_eof(fd, TIMEOUT));
	close(fd);
	ck_assert(pump_until(&g.closed, 1, TIMEOUT));
}
END_TEST

/* Connect from a given 127.x.y.z address. */
static int
client_connect_from(const char *src)
{
	struct sockaddr_in	 sin;
	int			 fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, src, &sin.sin_addr), 1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	sin.sin_port = htons((uint16_t)g.port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

static void
upgrade_fd(int fd)
{
	char	 buf[1024];

	cwrite(fd, UPGRADE("/echo"), strlen(UPGRADE("/echo")));
	ck_assert_int_eq(cread_http(fd, buf, sizeof(buf)), 101);
}

/* max_handshakes: TLS or HTTP stage; over it, closed at accept. */
START_TEST(test_ws_session_max_handshakes)
{
	static char	 logbuf[65536];
	char		 buf[1024];
	int		 fd1, fd2, fd3, fd4, fd5, fd6, fd7;

	log_capture();
	g.conf.max_handshakes = 2;
	server_start();
	fd1 = client_connect();
	fd2 = client_connect();
	pump_for(0.02);
	fd3 = client_connect();
	ck_assert(cwait_eof(fd3, TIMEOUT));
	close(fd3);
	/* Upgraded, or answered: out of the handshake. */
	upgrade_fd(fd1);
	cwrite(fd2, "GET /nope HTTP/1.0\r\n\r\n", 22);
	ck_assert_int_eq(cread_http(fd2, buf, sizeof(buf)), 404);
	fd4 = client_connect();
	fd5 = client_connect();
	pump_for(0.02);
	fd6 = client_connect();
	ck_assert(cwait_eof(fd6, TIMEOUT));
	close(fd6);
	/* A connection that goes away leaves the count too. */
	close(fd5);
	pump_for(0.05);
	fd7 = client_connect();
	upgrade_fd(fd7);
	upgrade_fd(fd4);
	ck_assert_int_eq(g.opened, 3);
	client_close(fd1);
	client_close(fd4);
	client_close(fd7);
	close(fd2);
	log_release(logbuf, sizeof(logbuf));
	ck_assert_ptr_nonnull(strstr(logbuf, "info: ws: 127.0.0.1:"));
	ck_assert_ptr_nonnull(strstr(logbuf, ": refused: 2 connections in "
	    "the handshake (--max-handshakes)\n"));
}
END_TEST

/* max_per_addr: any state, per source address. */
START_TEST(test_ws_session_max_per_addr)
{
	static char	 logbuf[65536];
	int		 fd1, fd2, fd3, fd4, fd5, fd6;

	log_capture();
	g.conf.max_per_addr = 2;
	server_start();
	fd1 = client_upgrade();
	fd2 = client_connect();
	pump_for(0.02);
	fd3 = client_connect();
	ck_assert(cwait_eof(fd3, TIMEOUT));
	close(fd3);
	/* Another address has its own count. */
	fd4 = client_connect_from("127.0.0.2");
	upgrade_fd(fd4);
	fd5 = client_connect_from("127.0.0.2");
	fd6 = client_connect_from("127.0.0.2");
	ck_assert(cwait_eof(fd6, TIMEOUT));
	close(fd6);
	/* One leaves: room for one more. */
	client_close(fd1);
	ck_assert(pump_until(&g.closed, 1, TIMEOUT));
	fd1 = client_upgrade();
	fd3 = client_connect();
	ck_assert(cwait_eof(fd3, TIMEOUT));
	close(fd3);
	client_close(fd1);
	client_close(fd4);
	close(fd2);
	close(fd5);
	pump_for(0.05);
	ck_assert_int_eq(ws_server_sessions(g.srv), 0);
	/* Every count went back to zero. */
	fd1 = client_upgrade();
	fd2 = client_upgrade();
	client_close(fd1);
	client_close(fd2);
	log_release(logbuf, sizeof(logbuf));
	ck_assert_ptr_nonnull(strstr(logbuf, "info: ws: 127.0.0.2:"));
	ck_assert_ptr_nonnull(strstr(logbuf, ": refused: 2 connections from "
	    "this address (--max-per-addr)\n"));
}
END_TEST

/* An IPv4 client on a dual-stack listener counts as the same IPv4 address. */
START_TEST(test_ws_session_max_per_addr_mapped)
{
	struct sockaddr_in6	 sin6;
	socklen_t		 len = sizeof(sin6);
	char			 err[256], addr[32];
	int			 fd, fd1, fd2, p1, p2;

	g.conf.max_per_addr = 1;
	server_start();
	p1 = g.port;
	/* A free port for the dual-stack listener. */
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd == -1)
		return;		/* no IPv6 here */
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin6, &len), 0);
	p2 = ntohs(sin6.sin6_port);
	close(fd);
	(void)snprintf(addr, sizeof(addr), ":%d", p2);
	ck_assert_msg(ws_server_listen(g.srv, addr, err, sizeof(err)) == 0,
	    "%s", err);
	fd1 = client_upgrade();		/* 127.0.0.1 to the IPv4 listener */
	g.port = p2;			/* ::ffff:127.0.0.1 there */
	fd2 = client_connect();
	ck_assert(cwait_eof(fd2, TIMEOUT));
	close(fd2);
	client_close(fd1);
	ck_assert(pump_until(&g.closed, 1, TIMEOUT));
	client_close(client_upgrade());
	g.port = p1;
	client_close(client_upgrade());
}
END_TEST

/* SO_REUSEPORT only when asked: else a port in use is an error. */
START_TEST(test_ws_session_reuse_port)
{
	struct ws_server_conf	 conf;
	struct ws_server	*s2, *s3;
	char			 err[256], addr[32], want[128];

	server_start();
	(void)snprintf(addr, sizeof(addr), "127.0.0.1:%d", g.port);
	ws_server_conf_default(&conf);
	s2 = ws_server_new(g.loop, &conf, &cbs, NULL);
	ck_assert_ptr_nonnull(s2);
	ck_assert_int_eq(ws_server_listen(s2, addr, err, sizeof(err)), -1);
	(void)snprintf(want, sizeof(want), "%s: bind: %s", addr,
	    strerror(EADDRINUSE));
	ck_assert_str_eq(err, want);
	/* Asking on one side only is not enough. */
	conf.reuse_port = 1;
	s3 = ws_server_new(g.loop, &conf, &cbs, NULL);
	ck_assert_ptr_nonnull(s3);
	ck_assert_int_eq(ws_server_listen(s3, addr, err, sizeof(err)), -1);
	ws_server_free(s2);
	ws_server_free(g.srv);
	/* Both sides: the port is shared. */
	g.conf.reuse_port = 1;
	server_start();
	(void)snprintf(addr, sizeof(addr), "127.0.0.1:%d", g.port);
	ck_assert_msg(ws_server_listen(s3, addr, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert_int_eq(ws_server_port(s3), g.port);
	ws_server_free(s3);
	client_close(client_upgrade());
}
END_TEST

/* RFC 9112 3.2: no Host, or two, is a 400. */
START_TEST(test_ws_session_host)
{
	static const char	 nohost[] = "GET /echo HTTP/1.1\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n";
	static const char	 twohosts[] = "GET /echo HTTP/1.1\r\n"
	    "Host: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: " KEY "\r\nHost: b\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n";
	char			 buf[2048];
	int			 fd;

	server_start();
	fd = client_connect();
	cwrite(fd, nohost, strlen(nohost));
	ck_assert_int_eq(cread_http(fd, buf, sizeof(buf)), 400);
	ck_assert_ptr_nonnull(strstr(buf, "\r\n\r\nno Host header\n"));
	ck_assert(cwait_eof(fd, TIMEOUT));
	close(fd);
	fd = client_connect();
	cwrite(fd, twohosts, strlen(twohosts));
	ck_assert_int_eq(cread_http(fd, buf, sizeof(buf)), 400);
	ck_assert_ptr_nonnull(strstr(buf, "\r\n\r\nmore than one Host "
	    "header\n"));
	ck_assert(cwait_eof(fd, TIMEOUT));
	close(fd);
	ck_assert_int_eq(g.opened, 0);
}
END_TEST

/* Client bytes are escaped in the log, and client lines rate-limited. */
START_TEST(test_ws_session_log_client)
{
	static const char	 badup[] = "GET /echo HTTP/1.1\r\nHost: h\r\n"
	    "Upgrade: caf\xc3\xa9\t\\!\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n";
	static const char	 noroute[] = "GET /no\\route?secret HTTP/1.1\r\n"
	    "Host: h\r\n\r\n";
	static char		 logbuf[65536];
	char			 buf[2048];
	unsigned long long	 before;
	int			 fd, i;

	log_capture();
	server_start();
	fd = client_connect();
	cwrite(fd, noroute, strlen(noroute));
	ck_assert_int_eq(cread_http(fd, buf, sizeof(buf)), 404);
	close(fd);
	fd = client_connect();
	cwrite(fd, badup, strlen(badup));
	ck_assert_int_eq(cread_http(fd, buf, sizeof(buf)), 400);
	close(fd);
	/* One line a second at most, after the first two. */
	log_client_limit(1, 2);
	before = log_client_suppressed();
	for (i = 0; i < 6; i++) {
		fd = client_connect();
		cwrite(fd, "GET / HTTP/1.1\r\n\r\n", 18);
		ck_assert_int_eq(cread_http(fd, buf, sizeof(buf)), 400);
		close(fd);
	}
	ck_assert_uint_ge(log_client_suppressed() - before, 4);
	log_client_limit(1e6, 1e6);
	client_close(client_upgrade());
	log_release(logbuf, sizeof(logbuf));

	ck_assert_ptr_nonnull(strstr(logbuf, ": GET /no\\\\route: no route\n"));
	ck_assert_ptr_null(strstr(logbuf, "secret"));
	ck_assert_ptr_nonnull(strstr(logbuf, "err: bad \"upgrade\" request "
	    "header: caf\\xc3\\xa9\\t\\\\!\n"));
	ck_assert_ptr_null(strstr(logbuf, "caf\xc3"));
	ck_assert_ptr_nonnull(strstr(logbuf, "bad request head (no Host "
	    "header), answering 400\n"));
	ck_assert_ptr_nonnull(strstr(logbuf, "client messages suppressed"));
}
END_TEST

/* Out of descriptors: accepting pauses, then resumes. */
START_TEST(test_ws_session_emfile)
{
	struct rlimit	 rl, low;
	char		 buf[1024];
	int		 fd, probe;

	/* valgrind virtualises RLIMIT_NOFILE. */
	if (getenv("LD_PRELOAD") != NULL &&
	    strstr(getenv("LD_PRELOAD"), "vgpreload") != NULL)
		return;
	server_start();
	fd = client_connect();
	cwrite(fd, UPGRADE("/echo"), strlen(UPGRADE("/echo")));
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	/* The lowest free descriptor is the limit: nothing more opens. */
	probe = dup(0);
	ck_assert_int_ge(probe, 0);
	close(probe);
	low = rl;
	low.rlim_cur = (rlim_t)probe;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	pump_for(0.2);
	ck_assert_int_eq(g.opened, 0);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	/* Accepting resumes after the pause. */
	ck_assert_int_eq(cread_http(fd, buf, sizeof(buf)), 101);
	ck_assert(pump_until(&g.opened, 1, TIMEOUT));
	client_close(fd);
}
END_TEST

/*
 * wss.
 */
START_TEST(test_wss_echo)
{
	static char	 logbuf[65536];
	char		 buf[1024];
	int		 fd;

	log_capture();
	tls_server_start("server.pem", "server.key");
	fd = tls_upgrade();
	ck_assert(pump_until(&g.opened, 1, TIMEOUT));
	ck_assert_int_eq(ws_server_sessions(g.srv), 1);
	send_frame(fd, 1, 0x2, "\x00\x01\x02", 3, 1);
	expect_message(fd, 0x2, "\x00\x01\x02", 3);
	send_frame(fd, 1, 0x1, "hello", 5, 1);
	expect_message(fd, 0x1, "hello", 5);
	send_frame(fd, 1, 0x9, "abc", 3, 1);
	expect_message(fd, 0xa, "abc", 3);
	send_frame(fd, 0, 0x1, "Hel", 3, 1);
	send_frame(fd, 1, 0x9, "", 0, 1);
	send_frame(fd, 1, 0x0, "lo", 2, 1);
	expect_message(fd, 0xa, "", 0);
	expect_message(fd, 0x1, "Hello", 5);
	ck_assert_int_eq(g.messages, 3);
	client_close(fd);
	ck_assert(pump_until(&g.closed, 1, TIMEOUT));
	ck_assert_int_eq(ws_server_sessions(g.srv), 0);

	/* No route: a 404 over TLS, then close_notify. */
	fd = tls_connect();
	cwrite(fd, UPGRADE("/nope"), strlen(UPGRADE("/nope")));
	ck_assert_int_eq(cread_http(fd, buf, sizeof(buf)), 404);
	ck_assert(cwait_eof(fd, TIMEOUT));
	cclose(fd);
	pump_for(0.02);
	log_release(logbuf, sizeof(logbuf));

	ck_assert_ptr_nonnull(strstr(logbuf, "connected (TLS)"));
	ck_assert_ptr_nonnull(strstr(logbuf, "TLS handshake done: TLSv1."));
	ck_assert_ptr_nonnull(strstr(logbuf, "upgraded /echo (TLS)"));
	ck_assert_int_eq(g.opened, 1);
}
END_TEST

/* The client writes one octet per TLS record. */
START_TEST(test_wss_one_byte)
{
	static const char	 req[] = UPGRADE("/echo");
	static const uint8_t	 cframe[] = { 0x88, 0x82, 0, 0, 0, 0, 0x03,
	    0xe8 };
	uint8_t			 frame[64];
	char			 resp[1024];
	size_t			 i, n;
	int			 fd;

	tls_server_start("server.pem", "server.key");
	fd = tls_connect();
	for (i = 0; i < sizeof(req) - 1; i++) {
		cwrite(fd, req + i, 1);
		pump_for(0.0005);
	}
	ck_assert_int_eq(cread_http(fd, resp, sizeof(resp)), 101);
	n = 0;
	memcpy(frame + n, "\x82\x83\x11\x22\x33\x44", 6);
	frame[n + 6] = 'a' ^ 0x11;
	frame[n + 7] = 'b' ^ 0x22;
	frame[n + 8] = 'c' ^ 0x33;
	n += 9;
	memcpy(frame + n, "\x89\x81\x00\x00\x00\x00P", 7);
	n += 7;
	for (i = 0; i < n; i++) {
		cwrite(fd, frame + i, 1);
		pump_for(0.0005);
	}
	expect_message(fd, 0x2, "abc", 3);
	expect_message(fd, 0xa, "P", 1);
	/* The close frame too. */
	for (i = 0; i < sizeof(cframe); i++) {
		cwrite(fd, cframe + i, 1);
		pump_for(0.0005);
	}
	free(expect_close(fd, 1000));
	ck_assert(cwait_eof(fd, TIMEOUT));
	cclose(fd);
	ck_assert(pump_until(&g.closed, 1, TIMEOUT));
}
END_TEST

/* http:// or ws:// to the wss port: a plain-text 400, then close. */
START_TEST(test_wss_plain_http)
{
	static char	 logbuf[65536];
	char		 buf[2048];
	ev_tstamp	 t0;
	int		 fd;

	log_capture();
	tls_server_start("server.pem", "server.key");
	ev_now_update(g.loop);
	t0 = ev_now(g.loop);
	fd = client_connect();
	cwrite(fd, UPGRADE("/echo"), strlen(UPGRADE("/echo")));
	ck_assert_int_eq(cread_http(fd, buf, sizeof(buf)), 400);
	ck_assert(cwait_eof(fd, TIMEOUT));
	ev_now_update(g.loop);
	ck_assert_double_lt(ev_now(g.loop) - t0, 1.0);
	close(fd);
	/* The server goes on serving TLS clients. */
	client_close(tls_upgrade());
	log_release(logbuf, sizeof(logbuf));

	/* Nothing (no TLS alert) before the status line. */
	ck_assert_int_eq(strncmp(buf, "HTTP/1.1 400 Bad Request\r\n", 26), 0);
	ck_assert_ptr_nonnull(strstr(buf, "Connection: close\r\n"));
	ck_assert_ptr_nonnull(strstr(buf, "Content-Type: text/plain"));
	ck_assert_ptr_nonnull(strstr(buf, "\r\n\r\nthis port speaks TLS: use "
	    "wss://"));
	ck_assert_ptr_nonnull(strstr(logbuf, "info: ws: 127.0.0.1:"));
	ck_assert_ptr_nonnull(strstr(logbuf, "does not speak TLS (it sent "
	    "\"GET ...\""));
	ck_assert_ptr_null(strstr(logbuf, "GET /echo"));
	ck_assert_ptr_nonnull(strstr(logbuf, "answering 400"));
	ck_assert_int_eq(g.opened, 1);
	ck_assert(pump_until(&g.closed, 1, TIMEOUT));
}
END_TEST

/* The handshake timeout runs from accept to the upgrade. */
START_TEST(test_wss_handshake_timeout)
{
	ev_tstamp	 t0;
	int		 fd1, fd2, fd3;

	/* Long enough for two handshakes under valgrind. */
	g.conf.handshake_timeout = 1.0;
	tls_server_start("server.pem", "server.key");
	ev_now_update(g.loop);
	t0 = ev_now(g.loop);
	fd1 = client_connect();		/* never starts TLS */
	fd2 = tls_connect();		/* TLS, then no request */
	fd3 = tls_connect();		/* half a request */
	cwrite(fd3, "GET /echo HTTP/1.1\r\n", 20);
	ck_assert(cwait_eof(fd1, 2.0));
	ev_now_update(g.loop);
	ck_assert_double_ge(ev_now(g.loop) - t0, 0.95);
	ck_assert(cwait_eof(fd2, 1.0));
	ck_assert(cwait_eof(fd3, 1.0));
	ev_now_update(g.loop);
	ck_assert_double_lt(ev_now(g.loop) - t0, 3.0);
	close(fd1);
	cclose(fd2);
	cclose(fd3);
	ck_assert_int_eq(g.opened, 0);
	pump_for(0.02);
	ck_assert_int_eq(ws_server_sessions(g.srv), 0);
}
END_TEST

/* Neither TLS nor HTTP: closed, never a crash or a hang. */
START_TEST(test_wss_garbage)
{
	static const uint8_t	 junk[] = { 0x00, 0x01, 0x02, 0xff, 0xfe };
	/* A handshake record with a broken ClientHello. */
	static const uint8_t	 badhello[] = { 0x16, 0x03, 0x01, 0x00, 0x08,
	    0x01, 0x00, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef };
	/* A record header announcing 65535 octets. */
	static const uint8_t	 huge[] = { 0x16, 0x03, 0x03, 0xff, 0xff,
	    0x01, 0x02 };
	/* An alert record, then EOF. */
	static const uint8_t	 alert[] = { 0x15, 0x03, 0x03, 0x00, 0x02,
	    0x02, 0x28 };
	static const struct {
		const uint8_t	*p;
		size_t		 len;
	} cases[] = {
		{ junk, sizeof(junk) },
		{ badhello, sizeof(badhello) },
		{ huge, sizeof(huge) },
		{ alert, sizeof(alert) },
	};
	uint8_t		 buf[3000];
	unsigned int	 seed = 7;
	size_t		 i, j, len;
	int		 fd;

	tls_server_start("server.pem", "server.key");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fd = client_connect();
		cwrite(fd, cases[i].p, cases[i].len);
		ck_assert_msg(cdrain_eof(fd, TIMEOUT) >= 0, "case %zu", i);
		close(fd);
	}
	/* Random octets, sometimes after a plausible record header. */
	for (i = 0; i < 30; i++) {
		len = 1 + (size_t)(rand_r(&seed) % (int)(sizeof(buf) - 1));
		for (j = 0; j < len; j++)
			buf[j] = (uint8_t)rand_r(&seed);
		if (i % 2 == 0 && len > 5) {
			buf[0] = 0x16;
			buf[1] = 0x03;
			buf[2] = (uint8_t)(i % 4);
		}
		fd = client_connect();
		(void)send(fd, buf, len, MSG_NOSIGNAL);
		if (i % 3 == 0) {
			/* Leave at once. */
			close(fd);
			continue;
		}
		ck_assert_msg(cdrain_eof(fd, TIMEOUT) >= 0, "random %zu", i);
		close(fd);
	}
	pump_for(0.05);
	ck_assert_int_eq(ws_server_sessions(g.srv), 0);
	/* Still serving. */
	fd = tls_upgrade();
	send_frame(fd, 1, 0x2, "ok", 2, 1);
	expect_message(fd, 0x2, "ok", 2);
	client_close(fd);
	ck_assert_int_eq(g.opened, 1);
}
END_TEST

/* A new configuration (SIGHUP) is for new connections only. */
START_TEST(test_wss_reload)
{
	struct ntls_config	*c;
	char			 err[512];
	int			 fd1, fd2, fd3;

	tls_server_start("server.pem", "server.key");
	fd1 = tls_upgrade();
	send_frame(fd1, 1, 0x2, "one", 3, 1);
	expect_message(fd1, 0x2, "one", 3);

	/* A certificate the client does not trust: new handshakes fail. */
	c = tls_server_config("selfsigned.pem", "selfsigned.key");
	ws_server_set_tls(g.srv, c);
	ntls_config_unref(c);
	ck_assert_int_eq(tls_try_connect(err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "self-signed") != NULL, "%s", err);
	/* The open session keeps its configuration. */
	send_frame(fd1, 1, 0x2, "two", 3, 1);
	expect_message(fd1, 0x2, "two", 3);

	/* A chain file. */
	c = tls_server_config("server-chain.pem", "server.key");
	ws_server_set_tls(g.srv, c);
	ntls_config_unref(c);
	fd2 = tls_upgrade();
	send_frame(fd2, 1, 0x2, "three", 5, 1);
	expect_message(fd2, 0x2, "three", 5);
	send_frame(fd1, 1, 0x2, "four", 4, 1);
	expect_message(fd1, 0x2, "four", 4);

	/* Back to plain ws: TLS sessions go on. */
	ws_server_set_tls(g.srv, NULL);
	fd3 = client_upgrade();
	send_frame(fd3, 1, 0x2, "five", 4, 1);
	expect_message(fd3, 0x2, "five", 4);
	send_frame(fd2, 1, 0x2, "six", 3, 1);
	expect_message(fd2, 0x2, "six", 3);
	client_close(fd1);
	client_close(fd2);
	client_close(fd3);
	ck_assert(pump_until(&g.closed, 3, TIMEOUT));
	ck_assert_int_eq(g.opened, 3);
}
END_TEST

/* A 6 MiB message, and many frames at once. */
START_TEST(test_wss_big)
{
	const size_t	 big = 6 * 1024 * 1024, nsmall = 600, small = 1000;
	uint8_t		*p, *burst, *f;
	size_t		 i, j, off;
	int		 fd;

	g.conf.max_message = big;
	/*
	 * More than the server's socket buffer (at most 4 MiB by default)
	 * and a small window: its TLS writes block (NTLS_WANT_WRITE).
	 */
	g.rcvbuf = 8192;
	tls_server_start("server.pem", "server.key");
	p = malloc(big);
	ck_assert_ptr_nonnull(p);
	for (i = 0; i < big; i++)
		p[i] = (uint8_t)(i * 7 + (i >> 11));
	fd = tls_upgrade();
	send_frame(fd, 1, 0x2, p, big, 1);
	expect_message(fd, 0x2, p, big);

	/* 600 masked 1000-octet frames in one go. */
	burst = malloc(nsmall * (small + 8));
	ck_assert_ptr_nonnull(burst);
	for (i = 0, off = 0; i < nsmall; i++) {
		f = burst + off;
		f[0] = 0x82;
		f[1] = 0x80 | 126;
		f[2] = (uint8_t)(small >> 8);
		f[3] = (uint8_t)small;
		memset(f + 4, 0, 4);	/* zero mask */
		for (j = 0; j < small; j++)
			f[8 + j] = (uint8_t)(i + j);
		off += small + 8;
	}
	cwrite(fd, burst, off);
	for (i = 0; i < nsmall; i++)
		expect_message(fd, 0x2, burst + i * (small + 8) + 8, small);
	ck_assert_int_eq(g.messages, (int)nsmall + 1);

	client_close(fd);
	free(burst);
	free(p);
}
END_TEST

/*
 * A session that spent its read budget in the middle of a TLS record
 * must come back by itself for the rest, which waits in mbedTLS, not in
 * the socket.  No replies, so no write event helps.
 */
START_TEST(test_wss_read_budget)
{
	uint8_t	 frames[40 * 1008], *f;
	size_t	 i, n = 40;
	int	 fd;

	g.conf.read_budget = 3000;
	g.echo = 0;
	tls_server_start("server.pem", "server.key");
	fd = tls_upgrade();
	for (i = 0; i < n; i++) {
		f = frames + i * 1008;
		f[0] = 0x82;
		f[1] = 0x80 | 126;
		f[2] = 1000 >> 8;
		f[3] = 1000 & 0xff;
		memset(f + 4, 0, 4);
		memset(f + 8, (int)i, 1000);
	}
	/* Two TLS records (16 KiB and the rest) in one go. */
	cwrite(fd, frames, sizeof(frames));
	ck_assert(pump_until(&g.messages, (int)n, TIMEOUT));
	send_frame(fd, 1, 0x9, "", 0, 1);
	expect_message(fd, 0xa, "", 0);
	client_close(fd);
}
END_TEST

/* Request and close in one TLS record; the 60000-octet answer is staged. */
START_TEST(test_wss_request_close)
{
	request_close(1);
}
END_TEST

/* Paused with decrypted input left in mbedTLS (more than ibuf holds). */
START_TEST(test_wss_pause)
{
	pause_batch(1, 100, 100);
}
END_TEST

START_TEST(test_wss_shutdown)
{
	char	*reason;
	int	 fd1, fd2, fd3, fd4;

	tls_server_start("server-chain.pem", "server.key");
	fd1 = tls_upgrade();
	fd2 = tls_upgrade();
	fd3 = client_connect();		/* before the TLS handshake */
	fd4 = tls_connect();		/* before the request */
	ck_assert(pump_until(&g.opened, 2, TIMEOUT));
	ws_server_shutdown(g.srv, 1001, "server shutdown");
	reason = expect_close(fd1, 1001);
	ck_assert_str_eq(reason, "server shutdown");
	free(reason);
	free(expect_close(fd2, 1001));
	ck_assert(cwait_eof(fd3, TIMEOUT));
	ck_assert(cwait_eof(fd4, TIMEOUT));
	send_frame(fd1, 1, 0x8, "\x03\xe9", 2, 1);
	ck_assert(cwait_eof(fd1, TIMEOUT));
	ck_assert(pump_until(&g.closed, 1, TIMEOUT));
	/* A client that does not answer is dropped after 2 s. */
	ck_assert(cwait_eof(fd2, 2.5));
	ck_assert(pump_until(&g.closed, 2, TIMEOUT));
	ck_assert_int_eq(ws_server_sessions(g.srv), 0);
	cclose(fd1);
	cclose(fd2);
	close(fd3);
	cclose(fd4);
}
END_TEST

static Suite *
ws_session_suite(void)
{
	Suite	*s = suite_create("ws_session");
	TCase	*tc;

	tc = tcase_create("session");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_ws_session_echo);
	tcase_add_test(tc, test_ws_session_ping);
	tcase_add_test(tc, test_ws_session_close_echo);
	tcase_add_test(tc, test_ws_session_fragmented);
	tcase_add_test(tc, test_ws_session_fragment_errors);
	tcase_add_test(tc, test_ws_session_unmasked);
	tcase_add_test(tc, test_ws_session_bad_headers);
	tcase_add_loop_test(tc, test_ws_session_bad_payloads, 0,
	    sizeof(bad_payloads) / sizeof(bad_payloads[0]));
	tcase_add_test(tc, test_ws_session_good_payloads);
	tcase_add_test(tc, test_ws_session_request_close);
	tcase_add_test(tc, test_ws_session_request_close_unread);
	tcase_add_test(tc, test_ws_session_invalid_utf8);
	tcase_add_test(tc, test_ws_session_too_big);
	tcase_add_test(tc, test_ws_session_plain_get);
	tcase_add_test(tc, test_ws_session_bad_versions);
	tcase_add_test(tc, test_ws_session_unknown_path);
	tcase_add_test(tc, test_ws_session_oversize);
	tcase_add_test(tc, test_ws_session_pipelined);
	tcase_add_test(tc, test_ws_session_outbound_limit);
	tcase_add_test(tc, test_ws_session_shutdown);
	tcase_add_test(tc, test_ws_session_one_byte);
	tcase_add_test(tc, test_ws_session_abrupt);
	tcase_add_test(tc, test_ws_session_server_close);
	tcase_add_test(tc, test_ws_session_timeouts);
	tcase_add_test(tc, test_ws_session_max_sessions);
	tcase_add_test(tc, test_ws_session_listen_errors);
	tcase_add_test(tc, test_ws_session_emfile);
	tcase_add_test(tc, test_ws_session_garbage);
	tcase_add_test(tc, test_ws_session_shutdown_in_callback);
	tcase_add_test(tc, test_ws_session_pause_batch);
	tcase_add_test(tc, test_ws_session_pause_partial);
	tcase_add_test(tc, test_ws_session_pause_close);
	tcase_add_test(tc, test_ws_session_pause_idle);
	tcase_add_test(tc, test_ws_session_max_handshakes);
	tcase_add_test(tc, test_ws_session_max_per_addr);
	tcase_add_test(tc, test_ws_session_max_per_addr_mapped);
	tcase_add_test(tc, test_ws_session_reuse_port);
	tcase_add_test(tc, test_ws_session_host);
	tcase_add_test(tc, test_ws_session_log_client);
	suite_add_tcase(s, tc);

	tc = tcase_create("wss");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_wss_echo);
	tcase_add_test(tc, test_wss_one_byte);
	tcase_add_test(tc, test_wss_plain_http);
	tcase_add_test(tc, test_wss_handshake_timeout);
	tcase_add_test(tc, test_wss_garbage);
	tcase_add_test(tc, test_wss_reload);
	tcase_add_test(tc, test_wss_big);
	tcase_add_test(tc, test_wss_read_budget);
	tcase_add_test(tc, test_wss_pause);
	tcase_add_test(tc, test_wss_request_close);
	tcase_add_test(tc, test_wss_shutdown);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(ws_session_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
