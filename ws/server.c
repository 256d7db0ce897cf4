/*
 * server.c -- WebSocket listeners and sessions on libev.
 *
 * A session goes through these states:
 *
 *   WS_ST_TLS     wss only: the TLS handshake (handshake timeout);
 *   WS_ST_HTTP    reading the request head into hbuf (handshake timeout,
 *                 counted from accept);
 *   WS_ST_REPLY   writing an HTTP error response (404, 400, 431, 503);
 *   WS_ST_OPEN    WebSocket: the protocol is a struct wsess (session.c);
 *   WS_ST_LINGER  write side shut down, input discarded until EOF, so the
 *                 kernel does not answer unread input with a reset that
 *                 would destroy our last response or close frame.
 *
 * This file is the glue: listeners, accept and its limits, the HTTP
 * upgrade, socket and TLS I/O, watchers and timers.  Every rule of an
 * open session (the frame checks, reassembly, ping, the close handshake
 * and its ordering after queued answers, pausing, the idle and close
 * deadlines) lives in session.c, which is driven here with the octets
 * read, the octets written and the loop's time; see session.h.
 *
 * Input of an open session is read into the server's read buffer
 * (srv->rbuf: sessions run one at a time) and handed to wsess_recv() at
 * once, so that an idle session holds no input buffer; the session keeps
 * only a cut frame, or the input that came while it was paused.  Octets
 * that arrived with the request head (a pipelined first frame) are
 * handed on right after the open callback.  A session reads at most
 * read_budget octets per loop iteration (fairness), and none while its
 * outbound queue is at max_outbound, while it is paused (the idle
 * timeout does not run then) or after the peer's close frame.  Resuming
 * puts it on the "more" list (below), so that the input it kept is served
 * from the loop without new socket data.
 *
 * Output: wsess_output() hands out the queued frames as iovecs (a header
 * built by the session and the payload as queued), written with one
 * sendmsg() for up to WS_IOV of them.  ws_session_send() copies a message
 * once, into the queue; ws_session_send_take() takes the caller's buffer
 * instead.  ws_session_queued() counts payload octets queued (and, with
 * TLS, the octets staged in obuf); max_outbound and the drained callback
 * work on that count.
 *
 * Connection limits are checked right after accept(): max_handshakes
 * (sessions in WS_ST_TLS or WS_ST_HTTP) and max_per_addr (sessions from
 * one address, any state: a hash table keyed with SipHash under a random
 * key, an entry per address with a live connection, IPv4-mapped IPv6
 * addresses counted as IPv4).  A refused connection is closed at once.
 *
 * Sessions are freed only from the reaper (an ev_prepare watcher), never
 * from inside a callback chain: session_kill() stops the watchers, closes
 * the socket and moves the session to the zombie list.
 *
 * TLS (wss).  With a TLS configuration (ws_server_set_tls()) a session
 * starts in WS_ST_TLS and all its I/O goes through session_read() and
 * session_write(), which use ntls.  Four things differ from plain TCP:
 * - a read may have to wait for writability and a write for readability
 *   (rwait, wwait: what the last blocked call waits for);
 * - after NTLS_WANT_*, ntls_write() must be given the same bytes again,
 *   and TLS wants contiguous octets, so WebSocket output is staged in
 *   obuf (session_ws_stage() copies what wsess_output() hands out,
 *   session_flush() writes) and obuf never changes while a part of it is
 *   unwritten; staging also puts a frame header and its payload, and
 *   small frames queued together, in one TLS record;
 * - decrypted input buffered inside mbedTLS wakes no fd: a session that
 *   stops reading with some left (read budget spent, or outbound queue
 *   full) is put on the server's "more" list, served by a zero timer on
 *   the next loop iteration, after the other sessions had their turn;
 * - a client that speaks plain HTTP to the TLS port gets a plain-text
 *   400 (WS_ST_REPLY without TLS) and a lingering close.
 * close_notify is sent (best effort) before the socket is shut down.
 */
#include "config.h"

#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* accept4() */
#endif

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#ifdef HAVE_SYS_RANDOM_H
#include <sys/random.h>
#endif
#include <sys/uio.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "net/log.h"
#include "net/tls.h"
#include "ws/http.h"
#include "ws/session.h"
#include "ws/ws.h"

#define WS_CLOSE_TIMEOUT	2.0	/* close handshake, lingering close */
#define WS_ACCEPT_PAUSE		0.5	/* after EMFILE and friends */
#define WS_ACCEPT_BATCH		32	/* accepts per callback */
#define WS_RBUF_SIZE		(16 * 1024)	/* one read, one TLS record */
#define WS_READ_BUDGET		(256 * 1024)	/* default read_budget */
#define WS_PEER_LEN		64
#define WS_REPLY_MAX		512
#define WS_TLS_OBUF		(16 * 1024)	/* one full TLS record */
#define WS_ADDR_BUCKETS		16	/* smallest address table */
#define WS_LOG_MAX		256	/* client bytes in one log line */

/* iovecs per sendmsg(): two per frame (header, payload). */
#if defined(IOV_MAX) && IOV_MAX < 1024
#define WS_IOV			IOV_MAX
#else
#define WS_IOV			1024
#endif

enum ws_state {
	WS_ST_TLS,
	WS_ST_HTTP,
	WS_ST_REPLY,
	WS_ST_OPEN,
	WS_ST_LINGER
};

TAILQ_HEAD(ws_listener_list, ws_listener);

struct ws_listener {
	TAILQ_ENTRY(ws_listener) entry;
	struct ws_server	*srv;
	ev_io			 io;
	int			 fd;
};

/* Connections from one address (max_per_addr). */
struct ws_addr {
	struct ws_addr		*next;
	uint8_t			 a[16];	/* IPv4: ::ffff:a.b.c.d */
	int			 n;
};

struct ws_server {
	struct ev_loop		*loop;
	struct ws_server_conf	 conf;
	struct wsess_conf	 wconf;		/* for every session */
	struct ws_server_cb	 cb;
	void			*arg;
	struct ws_listener_list	 listeners;
	TAILQ_HEAD(, ws_session) sessions;	/* alive */
	TAILQ_HEAD(, ws_session) zombies;	/* dead, freed by the reaper */
	TAILQ_HEAD(, ws_session) more;		/* to be served again */
	TAILQ_HEAD(, ws_session) flushq;	/* output queued out of a run */
	ev_prepare		 reaper;
	ev_prepare		 flusher;	/* writes flushq before a poll */
	ev_timer		 accept_timer;	/* resumes accepting */
	ev_timer		 more_timer;	/* serves the "more" list */
	int			 nmore;
	int			 nsessions;	/* opened and not yet closed */
	int			 nhandshakes;	/* TLS or HTTP stage */
	int			 shutdown;
	struct ntls_config	*tls;		/* for new sessions; NULL: plain */
	uint8_t			*rbuf;		/* WS_RBUF_SIZE: every read */
	struct iovec		*iov;		/* WS_IOV: every write */
	/* max_per_addr: a chained hash table, an entry per address. */
	struct ws_addr		**addrs;
	size_t			 naddrbuckets;	/* 0 or 2^n */
	size_t			 naddrs;
	uint64_t		 addrkey[2];	/* SipHash key */
	struct ws_server_stats	 stats;		/* the counters of it */
};

struct ws_session {
	TAILQ_ENTRY(ws_session)	 entry;
	TAILQ_ENTRY(ws_session)	 more_entry;
	TAILQ_ENTRY(ws_session)	 flush_entry;
	struct ws_server	*srv;
	int			 fd;
	struct ntls		*tls;		/* NULL: plain TCP */
	enum ws_state		 state;
	ev_io			 io;
	int			 events;	/* what io waits for */
	int			 rwait;		/* a blocked read waits for this */
	int			 wwait;		/* a blocked write waits for this */
	ev_timer		 timer;
	ev_tstamp		 since;		/* entered the current state */
	char			 peer[WS_PEER_LEN];
	uint8_t			 addr[16];	/* key in srv->addrs */

	/* WS_ST_HTTP */
	char			*hbuf;
	size_t			 hlen;
	struct http_request	*req;

	/*
	 * Raw output: an HTTP response, 101 included; with TLS, also the
	 * WebSocket output staged by session_ws_stage() (obuf then holds
	 * WS_TLS_OBUF octets and ostage is set).
	 */
	char			*obuf;
	size_t			 olen;
	size_t			 ooff;

	/* WS_ST_OPEN (and WS_ST_LINGER after it) */
	struct wsess		 ws;
	void			*data;
	void			*grant;		/* the admit callback's */

	unsigned int		 opened:1;
	unsigned int		 closing:1;	/* ws no longer WSESS_OPEN */
	unsigned int		 dead:1;
	unsigned int		 in_handshake:1; /* in nhandshakes */
	unsigned int		 addr_counted:1; /* counted in srv->addrs */
	unsigned int		 drain_armed:1;
	unsigned int		 more:1;	/* on the server's "more" list */
	unsigned int		 flushing:1;	/* on the server's flushq */
	unsigned int		 in_run:1;	/* inside session_ws_run() */
	unsigned int		 wrote:1;	/* session_ws_send() progressed */
	unsigned int		 ostage:1;	/* obuf is the TLS staging buffer */
	unsigned int		 notified:1;	/* close_notify sent */
	unsigned int		 tls_failed:1;	/* err: see ntls_error() */
	int			 err;		/* errno of a failed I/O */
};

static void	 listener_free(struct ws_listener *);
static void	 listener_accept_cb(struct ev_loop *, ev_io *, int);
static void	 server_accept_pause(struct ws_server *);
static void	 server_accept_timer_cb(struct ev_loop *, ev_timer *, int);
static void	 server_reaper_cb(struct ev_loop *, ev_prepare *, int);
static void	 server_flush_cb(struct ev_loop *, ev_prepare *, int);
static void	 server_more_cb(struct ev_loop *, ev_timer *, int);
static int	 server_listen_one(struct ws_server *, struct addrinfo *,
		    int, struct ws_listener_list *, char *, size_t);
static void	 session_new(struct ws_server *, int,
		    const struct sockaddr_storage *);
static void	 session_free(struct ws_session *);
static void	 session_kill(struct ws_session *, const char *);
static void	 session_set_events(struct ws_session *, int);
static void	 session_more(struct ws_session *);
static const char *session_strerror(const struct ws_session *);
static ssize_t	 session_read(struct ws_session *, void *, size_t);
static ssize_t	 session_write(struct ws_session *, const void *, size_t);
static void	 session_tls_handshake(struct ws_session *);
static ev_tstamp session_deadline(const struct ws_session *);
static void	 session_timer_update(struct ws_session *);
static void	 session_timer_cb(struct ev_loop *, ev_timer *, int);
static void	 session_io_cb(struct ev_loop *, ev_io *, int);
static int	 session_flush(struct ws_session *);
static void	 session_http_read(struct ws_session *);
static void	 session_handshake(struct ws_session *, size_t);
static void	 session_reply(struct ws_session *, int, const char *,
		    const char *);
static void	 session_reply_write(struct ws_session *);
static void	 session_linger(struct ws_session *);
static void	 session_linger_read(struct ws_session *);
static void	 session_ws_closing(struct ws_session *);
static void	 session_ws_run(struct ws_session *, int);
static int	 session_ws_feed(struct ws_session *, uint8_t *, size_t);
static int	 session_ws_recv(struct ws_session *, int);
static int	 session_ws_send(struct ws_session *);
static int	 session_ws_stage(struct ws_session *, int);
static void	 session_ws_update(struct ws_session *);
static void	 session_flush_later(struct ws_session *);
static void	 session_abort(struct ws_session *);
static void	 session_msg_cb(void *, int, const uint8_t *, size_t);
static int	 session_send(struct ws_session *, int, void *,
		    const uint8_t *, size_t, int);
static void	 sockaddr_format(const struct sockaddr_storage *, char *,
		    size_t);
static void	 server_random_key(struct ws_server *);
static int	 server_admit(struct ws_server *,
		    const struct sockaddr_storage *);
static void	 addr_key(const struct sockaddr_storage *, uint8_t *);
static uint64_t	 addr_hash(const uint64_t *, const uint8_t *);
static struct ws_addr *server_addr_find(const struct ws_server *,
		    const uint8_t *);
static int	 server_addr_add(struct ws_server *, const uint8_t *);
static void	 server_addr_del(struct ws_server *, const uint8_t *);
static void	 server_addr_resize(struct ws_server *, size_t);
static void	 session_handshake_done(struct ws_session *);

void
ws_server_conf_default(struct ws_server_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->max_request = 8192;
	conf->max_message = 65535;
	conf->max_outbound = 8 * 1024 * 1024;
	conf->handshake_timeout = 10.0;
	conf->idle_timeout = 0.0;
	conf->send_timeout = WS_SEND_TIMEOUT;
	conf->max_sessions = 0;
	conf->read_budget = WS_READ_BUDGET;
}

/* conf, zero limits meaning the defaults, for the server and its sessions. */
static void
server_conf_apply(struct ws_server *srv, const struct ws_server_conf *conf)
{
	struct ws_server_conf	 def;

	ws_server_conf_default(&def);
	srv->conf = *conf;
	if (srv->conf.max_request == 0)
		srv->conf.max_request = def.max_request;
	if (srv->conf.max_message == 0)
		srv->conf.max_message = def.max_message;
	if (srv->conf.max_outbound == 0)
		srv->conf.max_outbound = def.max_outbound;
	if (srv->conf.handshake_timeout <= 0)
		srv->conf.handshake_timeout = def.handshake_timeout;
	if (srv->conf.idle_timeout < 0)
		srv->conf.idle_timeout = 0;
	if (srv->conf.send_timeout < 0)
		srv->conf.send_timeout = 0;
	if (srv->conf.read_budget == 0)
		srv->conf.read_budget = def.read_budget;
	/* Negative limits mean none. */
	if (srv->conf.max_sessions < 0)
		srv->conf.max_sessions = 0;
	if (srv->conf.max_handshakes < 0)
		srv->conf.max_handshakes = 0;
	if (srv->conf.max_per_addr < 0)
		srv->conf.max_per_addr = 0;
	srv->wconf.max_message = srv->conf.max_message;
	srv->wconf.idle_timeout = srv->conf.idle_timeout;
	srv->wconf.close_timeout = WS_CLOSE_TIMEOUT;
	srv->wconf.send_timeout = srv->conf.send_timeout;
}

void
ws_server_reconfigure(struct ws_server *srv, const struct ws_server_conf *conf)
{
	int	 reuse = srv->conf.reuse_port;

	server_conf_apply(srv, conf);
	srv->conf.reuse_port = reuse;	/* the listeners have theirs */
}

struct ws_server *
ws_server_new(struct ev_loop *loop, const struct ws_server_conf *conf,
    const struct ws_server_cb *cb, void *arg)
{
	struct ws_server	*srv;
	struct ws_server_conf	 def;

	ws_server_conf_default(&def);
	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return NULL;
	if ((srv->rbuf = malloc(WS_RBUF_SIZE)) == NULL ||
	    (srv->iov = calloc(WS_IOV, sizeof(*srv->iov))) == NULL) {
		free(srv->rbuf);
		free(srv);
		return NULL;
	}
	srv->loop = loop;
	server_conf_apply(srv, conf != NULL ? conf : &def);
	if (cb != NULL)
		srv->cb = *cb;
	srv->arg = arg;
	TAILQ_INIT(&srv->listeners);
	TAILQ_INIT(&srv->sessions);
	TAILQ_INIT(&srv->zombies);
	TAILQ_INIT(&srv->more);
	TAILQ_INIT(&srv->flushq);
	ev_prepare_init(&srv->reaper, server_reaper_cb);
	srv->reaper.data = srv;
	ev_prepare_init(&srv->flusher, server_flush_cb);
	srv->flusher.data = srv;
	ev_timer_init(&srv->accept_timer, server_accept_timer_cb,
	    WS_ACCEPT_PAUSE, 0.);
	srv->accept_timer.data = srv;
	ev_timer_init(&srv->more_timer, server_more_cb, 0., 0.);
	srv->more_timer.data = srv;
	server_random_key(srv);
	return srv;
}

void
ws_server_set_tls(struct ws_server *srv, struct ntls_config *cfg)
{
	if (cfg != NULL)
		ntls_config_ref(cfg);
	ntls_config_unref(srv->tls);
	srv->tls = cfg;
}

static int
server_listen_one(struct ws_server *srv, struct addrinfo *ai, int dual,
    struct ws_listener_list *list, char *err, size_t errlen)
{
	struct ws_listener	*l;
	int			 fd, e, on = 1, off = 0;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1) {
		(void)snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/*
	 * SO_REUSEADDR: restart at once despite connections in TIME_WAIT.
	 * SO_REUSEPORT only when asked: it lets another process (any
	 * process of the same user) take a share of the connections.
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    (srv->conf.reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT,
	    &on, sizeof(on)) == -1) ||
	    (ai->ai_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, dual ? &off : &on, sizeof(on)) == -1)) {
		e = errno;
		(void)snprintf(err, errlen, "setsockopt: %s", strerror(e));
		close(fd);
		errno = e;
		return -1;
	}
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
		e = errno;
		(void)snprintf(err, errlen, "bind: %s", strerror(e));
		close(fd);
		errno = e;
		return -1;
	}
	if (listen(fd, SOMAXCONN) == -1) {
		e = errno;
		(void)snprintf(err, errlen, "listen: %s", strerror(e));
		close(fd);
		errno = e;
		return -1;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		close(fd);
		return -1;
	}
	l->srv = srv;
	l->fd = fd;
	ev_io_init(&l->io, listener_accept_cb, fd, EV_READ);
	l->io.data = l;
	TAILQ_INSERT_TAIL(list, l, entry);
	return 0;
}

int
ws_listen_split(const char *addr, char *host, size_t hostlen, int *port)
{
	const char	*colon, *h, *end;
	size_t		 hlen, plen, i;
	int		 v = 0;

	if (addr[0] == '[') {
		if ((end = strchr(addr, ']')) == NULL || end[1] != ':')
			return WS_ADDR_SYNTAX;
		h = addr + 1;
		hlen = (size_t)(end - h);
		colon = end + 1;
	} else {
		if ((colon = strrchr(addr, ':')) == NULL)
			return WS_ADDR_SYNTAX;
		h = addr;
		hlen = (size_t)(colon - addr);
		if (memchr(h, ':', hlen) != NULL)
			return WS_ADDR_BARE_V6;
	}
	plen = strlen(colon + 1);
	if (plen == 0 || plen > 5)
		return WS_ADDR_PORT;
	for (i = 0; i < plen; i++) {
		if (colon[1 + i] < '0' || colon[1 + i] > '9')
			return WS_ADDR_PORT;
		v = v * 10 + (colon[1 + i] - '0');
	}
	if (v > 65535)
		return WS_ADDR_PORT;
	if (hlen >= hostlen)
		return WS_ADDR_LONG;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = v;
	return WS_ADDR_OK;
}

int
ws_server_listen(struct ws_server *srv, const char *addr, char *err,
    size_t errlen)
{
	struct ws_listener_list	 list;
	struct ws_listener	*l;
	struct addrinfo		 hints, *res, *ai;
	char			 host[256], port[16], why[128];
	size_t			 hlen;
	int			 r, pnum, dual = 0;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (srv->shutdown) {
		(void)snprintf(err, errlen, "%s: server is shut down", addr);
		return -1;
	}
	if (ws_listen_split(addr, host, sizeof(host), &pnum) != WS_ADDR_OK)
		goto syntax;
	hlen = strlen(host);
	(void)snprintf(port, sizeof(port), "%d", pnum);

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (hlen == 0) {
		/* All addresses: one dual-stack IPv6 socket, else IPv4. */
		hints.ai_family = AF_INET6;
		hints.ai_flags |= AI_NUMERICHOST;
		dual = 1;
		(void)snprintf(host, sizeof(host), "::");
	}
	r = getaddrinfo(host, port, &hints, &res);
	if (r != 0 && dual) {
		hints.ai_family = AF_INET;
		(void)snprintf(host, sizeof(host), "0.0.0.0");
		dual = 0;
		r = getaddrinfo(host, port, &hints, &res);
	}
	if (r != 0) {
		(void)snprintf(err, errlen, "%s: %s", addr, gai_strerror(r));
		return -1;
	}

	TAILQ_INIT(&list);
	r = 0;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (server_listen_one(srv, ai, dual, &list, why,
		    sizeof(why)) == 0)
			continue;
		if (dual && ai->ai_family == AF_INET6 &&
		    (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)) {
			/* No IPv6 here: fall back to IPv4. */
			struct addrinfo	 h4, *res4;

			memset(&h4, 0, sizeof(h4));
			h4.ai_family = AF_INET;
			h4.ai_socktype = SOCK_STREAM;
			h4.ai_flags = AI_PASSIVE | AI_NUMERICSERV |
			    AI_NUMERICHOST;
			if (getaddrinfo("0.0.0.0", port, &h4, &res4) == 0) {
				r = server_listen_one(srv, res4, 0,
				    &list, why, sizeof(why));
				freeaddrinfo(res4);
				if (r == 0)
					continue;
			}
		}
		r = -1;
		break;
	}
	freeaddrinfo(res);
	if (r == -1) {
		(void)snprintf(err, errlen, "%s: %s", addr, why);
		while ((l = TAILQ_FIRST(&list)) != NULL) {
			TAILQ_REMOVE(&list, l, entry);
			listener_free(l);
		}
		return -1;
	}
	while ((l = TAILQ_FIRST(&list)) != NULL) {
		TAILQ_REMOVE(&list, l, entry);
		TAILQ_INSERT_TAIL(&srv->listeners, l, entry);
		if (!ev_is_active(&srv->accept_timer))
			ev_io_start(srv->loop, &l->io);
	}
	log_info("ws: listening on %s", addr);
	return 0;
 syntax:
	(void)snprintf(err, errlen,
	    "%s: expected host:port, [v6]:port or :port", addr);
	return -1;
}

int
ws_server_port(const struct ws_server *srv)
{
	struct ws_listener	*l;
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);

	if ((l = TAILQ_FIRST(&srv->listeners)) == NULL ||
	    getsockname(l->fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

static void
listener_free(struct ws_listener *l)
{
	ev_io_stop(l->srv->loop, &l->io);
	close(l->fd);
	free(l);
}

static void
server_accept_pause(struct ws_server *srv)
{
	struct ws_listener	*l;

	TAILQ_FOREACH(l, &srv->listeners, entry)
		ev_io_stop(srv->loop, &l->io);
	ev_timer_set(&srv->accept_timer, WS_ACCEPT_PAUSE, 0.);
	ev_timer_start(srv->loop, &srv->accept_timer);
}

static void
server_accept_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ws_server	*srv = w->data;
	struct ws_listener	*l;

	(void)loop;
	(void)revents;
	if (srv->shutdown)
		return;
	TAILQ_FOREACH(l, &srv->listeners, entry)
		ev_io_start(srv->loop, &l->io);
}

static void
listener_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ws_listener	*l = w->data;
	struct ws_server	*srv = l->srv;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 fd, i;

	(void)loop;
	(void)revents;
	for (i = 0; i < WS_ACCEPT_BATCH; i++) {
		len = sizeof(ss);
		fd = accept4(l->fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd != -1) {
			srv->stats.accepted++;
			if (server_admit(srv, &ss))
				session_new(srv, fd, &ss);
			else
				close(fd);
			continue;
		}
		switch (errno) {
		case EAGAIN:
#if EWOULDBLOCK != EAGAIN
		case EWOULDBLOCK:
#endif
			return;
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
			continue;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			log_warnx("ws: accept: %s; pausing for %.1f s",
			    strerror(errno), WS_ACCEPT_PAUSE);
			server_accept_pause(srv);
			return;
		default:
			log_warnx("ws: accept: %s", strerror(errno));
			return;
		}
	}
}

void
ws_server_shutdown(struct ws_server *srv, uint16_t code, const char *reason)
{
	struct ws_listener	*l;
	struct ws_session	*s, *next;

	srv->shutdown = 1;
	ev_timer_stop(srv->loop, &srv->accept_timer);
	while ((l = TAILQ_FIRST(&srv->listeners)) != NULL) {
		TAILQ_REMOVE(&srv->listeners, l, entry);
		listener_free(l);
	}
	for (s = TAILQ_FIRST(&srv->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (s->state == WS_ST_OPEN)
			ws_session_close(s, code, reason);
		else
			session_kill(s, "server shutdown");
	}
}

int
ws_server_sessions(const struct ws_server *srv)
{
	return srv->nsessions;
}

void
ws_server_stats(const struct ws_server *srv, struct ws_server_stats *st)
{
	const struct ws_session	*s;

	*st = srv->stats;
	st->sessions = srv->nsessions;
	st->handshakes = srv->nhandshakes;
	st->queued = 0;
	TAILQ_FOREACH(s, &srv->sessions, entry)
		if (s->opened && !s->dead)
			st->queued += ws_session_queued(s);
}

void
ws_server_free(struct ws_server *srv)
{
	struct ws_listener	*l;
	struct ws_session	*s;

	if (srv == NULL)
		return;
	srv->shutdown = 1;
	ev_timer_stop(srv->loop, &srv->accept_timer);
	while ((l = TAILQ_FIRST(&srv->listeners)) != NULL) {
		TAILQ_REMOVE(&srv->listeners, l, entry);
		listener_free(l);
	}
	while ((s = TAILQ_FIRST(&srv->sessions)) != NULL)
		session_kill(s, "server freed");
	ev_timer_stop(srv->loop, &srv->more_timer);
	ev_prepare_stop(srv->loop, &srv->flusher);
	server_reaper_cb(srv->loop, &srv->reaper, 0);
	ntls_config_unref(srv->tls);
	/* Every session is gone, and with it every entry. */
	free(srv->addrs);
	free(srv->rbuf);
	free(srv->iov);
	free(srv);
}

static void
server_reaper_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct ws_server	*srv = w->data;
	struct ws_session	*s;

	(void)revents;
	while ((s = TAILQ_FIRST(&srv->zombies)) != NULL) {
		TAILQ_REMOVE(&srv->zombies, s, entry);
		if (s->opened) {
			srv->nsessions--;
			if (srv->cb.closed != NULL)
				srv->cb.closed(srv->arg, s);
		}
		session_free(s);
	}
	ev_prepare_stop(loop, w);
}

/*
 * Output queued outside a session's own I/O round (an answer from a
 * Kafka callback, a close) is written here, just before the loop polls:
 * one write for whatever a loop iteration queued, and no change of the
 * events waited for (each costs an epoll_ctl) unless the socket is full.
 */
static void
server_flush_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct ws_server	*srv = w->data;
	struct ws_session	*s;

	(void)revents;
	while ((s = TAILQ_FIRST(&srv->flushq)) != NULL) {
		TAILQ_REMOVE(&srv->flushq, s, flush_entry);
		s->flushing = 0;
		if (s->state == WS_ST_OPEN)
			session_ws_run(s, 0);
	}
	ev_prepare_stop(loop, w);
}

/*
 * One more round for the sessions that stopped reading with decrypted
 * input left in mbedTLS, or were resumed with input kept.  Only those
 * queued before this call: a session queued again waits for the next
 * loop iteration.
 */
static void
server_more_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ws_server	*srv = w->data;
	struct ws_session	*s;
	int			 n;

	(void)loop;
	(void)revents;
	for (n = srv->nmore; n > 0 && (s = TAILQ_FIRST(&srv->more)) != NULL;
	    n--) {
		TAILQ_REMOVE(&srv->more, s, more_entry);
		s->more = 0;
		srv->nmore--;
		if (s->state == WS_ST_OPEN)
			session_ws_run(s, 1);
	}
}

static void
sockaddr_format(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	struct in_addr			 in4;
	char				 a[INET6_ADDRSTRLEN];

	switch (ss->ss_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)ss;
		if (inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a)) == NULL)
			break;
		(void)snprintf(buf, len, "%s:%u", a, ntohs(sin->sin_port));
		return;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)ss;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memcpy(&in4, &sin6->sin6_addr.s6_addr[12], 4);
			if (inet_ntop(AF_INET, &in4, a, sizeof(a)) == NULL)
				break;
			(void)snprintf(buf, len, "%s:%u", a,
			    ntohs(sin6->sin6_port));
			return;
		}
		if (inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a)) ==
		    NULL)
			break;
		(void)snprintf(buf, len, "[%s]:%u", a, ntohs(sin6->sin6_port));
		return;
	default:
		break;
	}
	(void)snprintf(buf, len, "unknown");
}

/* The key for the address table: ::ffff:a.b.c.d for IPv4. */
static void
addr_key(const struct sockaddr_storage *ss, uint8_t *a)
{
	memset(a, 0, 16);
	if (ss->ss_family == AF_INET) {
		a[10] = a[11] = 0xff;
		memcpy(a + 12,
		    &((const struct sockaddr_in *)ss)->sin_addr.s_addr, 4);
	} else if (ss->ss_family == AF_INET6)
		memcpy(a, ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr,
		    16);
}

/*
 * A key nobody outside knows, so that a client choosing its addresses
 * (an IPv6 prefix holds plenty) cannot make them collide.
 */
static void
server_random_key(struct ws_server *srv)
{
#ifdef HAVE_ARC4RANDOM_UNIFORM
	arc4random_buf(srv->addrkey, sizeof(srv->addrkey));
#else
#ifdef HAVE_GETRANDOM
	if (getrandom(srv->addrkey, sizeof(srv->addrkey), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(srv->addrkey))
#endif
	{
		struct timespec	 ts;

		(void)clock_gettime(CLOCK_REALTIME, &ts);
		srv->addrkey[0] = (uint64_t)ts.tv_nsec ^
		    (uint64_t)ts.tv_sec << 30 ^ (uint64_t)getpid();
		srv->addrkey[1] = (uint64_t)(uintptr_t)srv ^
		    (uint64_t)clock() << 17;
	}
#endif
}

#define SIP_ROTL(x, b)	(uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIP_ROUND(v0, v1, v2, v3) do {				\
	v0 += v1; v1 = SIP_ROTL(v1, 13); v1 ^= v0;		\
	v0 = SIP_ROTL(v0, 32);					\
	v2 += v3; v3 = SIP_ROTL(v3, 16); v3 ^= v2;		\
	v0 += v3; v3 = SIP_ROTL(v3, 21); v3 ^= v0;		\
	v2 += v1; v1 = SIP_ROTL(v1, 17); v1 ^= v2;		\
	v2 = SIP_ROTL(v2, 32);					\
} while (0)

/* SipHash-2-4 of a 16-octet address. */
static uint64_t
addr_hash(const uint64_t *k, const uint8_t *a)
{
	uint64_t	 v0 = 0x736f6d6570736575ULL ^ k[0];
	uint64_t	 v1 = 0x646f72616e646f6dULL ^ k[1];
	uint64_t	 v2 = 0x6c7967656e657261ULL ^ k[0];
	uint64_t	 v3 = 0x7465646279746573ULL ^ k[1];
	uint64_t	 m;
	int		 i;

	for (i = 0; i < 3; i++) {
		if (i < 2)
			memcpy(&m, a + 8 * i, 8);
		else
			m = (uint64_t)16 << 56;		/* the length */
		v3 ^= m;
		SIP_ROUND(v0, v1, v2, v3);
		SIP_ROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	v2 ^= 0xff;
	for (i = 0; i < 4; i++)
		SIP_ROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

static struct ws_addr *
server_addr_find(const struct ws_server *srv, const uint8_t *a)
{
	struct ws_addr	*e;

	if (srv->naddrbuckets == 0)
		return NULL;
	for (e = srv->addrs[addr_hash(srv->addrkey, a) &
	    (srv->naddrbuckets - 1)]; e != NULL; e = e->next)
		if (memcmp(e->a, a, 16) == 0)
			return e;
	return NULL;
}

/*
 * Rehash into n buckets (a power of two).  If there is no memory the old
 * table stays: longer chains, nothing lost.
 */
static void
server_addr_resize(struct ws_server *srv, size_t n)
{
	struct ws_addr	**b, *e, *next;
	size_t		 i, h;

	if ((b = calloc(n, sizeof(*b))) == NULL)
		return;
	for (i = 0; i < srv->naddrbuckets; i++)
		for (e = srv->addrs[i]; e != NULL; e = next) {
			next = e->next;
			h = addr_hash(srv->addrkey, e->a) & (n - 1);
			e->next = b[h];
			b[h] = e;
		}
	free(srv->addrs);
	srv->addrs = b;
	srv->naddrbuckets = n;
}

/* One more connection from a; 0, or -1 if out of memory. */
static int
server_addr_add(struct ws_server *srv, const uint8_t *a)
{
	struct ws_addr	*e;
	size_t		 h;

	if ((e = server_addr_find(srv, a)) != NULL) {
		e->n++;
		return 0;
	}
	if (srv->naddrs >= srv->naddrbuckets)
		server_addr_resize(srv, srv->naddrbuckets == 0 ?
		    WS_ADDR_BUCKETS : srv->naddrbuckets * 2);
	if (srv->naddrbuckets == 0 || (e = calloc(1, sizeof(*e))) == NULL)
		return -1;
	memcpy(e->a, a, 16);
	e->n = 1;
	h = addr_hash(srv->addrkey, a) & (srv->naddrbuckets - 1);
	e->next = srv->addrs[h];
	srv->addrs[h] = e;
	srv->naddrs++;
	return 0;
}

/* One connection less; the entry goes with the last one. */
static void
server_addr_del(struct ws_server *srv, const uint8_t *a)
{
	struct ws_addr	**pp, *e;

	if (srv->naddrbuckets == 0)
		return;
	for (pp = &srv->addrs[addr_hash(srv->addrkey, a) &
	    (srv->naddrbuckets - 1)]; (e = *pp) != NULL; pp = &e->next) {
		if (memcmp(e->a, a, 16) != 0)
			continue;
		if (--e->n > 0)
			return;
		*pp = e->next;
		free(e);
		srv->naddrs--;
		/* The table shrinks with the number of connections. */
		if (srv->naddrs == 0) {
			free(srv->addrs);
			srv->addrs = NULL;
			srv->naddrbuckets = 0;
		} else if (srv->naddrbuckets > WS_ADDR_BUCKETS &&
		    srv->naddrs < srv->naddrbuckets / 4)
			server_addr_resize(srv, srv->naddrbuckets / 2);
		return;
	}
}

/* The connection limits, right after accept(); 1: go on, 0: refuse. */
static int
server_admit(struct ws_server *srv, const struct sockaddr_storage *ss)
{
	const struct ws_server_conf	*conf = &srv->conf;
	struct ws_addr			*e;
	uint8_t				 a[16];
	char				 peer[WS_PEER_LEN];

	if (conf->max_per_addr > 0) {
		addr_key(ss, a);
		if ((e = server_addr_find(srv, a)) != NULL &&
		    e->n >= conf->max_per_addr) {
			sockaddr_format(ss, peer, sizeof(peer));
			log_client(LOG_LVL_INFO, "ws: %s: refused: %d "
			    "connections from this address (--max-per-addr)",
			    peer, e->n);
			srv->stats.refused[WS_REFUSED_PER_ADDR]++;
			return 0;
		}
	}
	if (conf->max_handshakes > 0 &&
	    srv->nhandshakes >= conf->max_handshakes) {
		sockaddr_format(ss, peer, sizeof(peer));
		log_client(LOG_LVL_INFO, "ws: %s: refused: %d connections in "
		    "the handshake (--max-handshakes)", peer, srv->nhandshakes);
		srv->stats.refused[WS_REFUSED_HANDSHAKES]++;
		return 0;
	}
	return 1;
}

static void
session_new(struct ws_server *srv, int fd, const struct sockaddr_storage *ss)
{
	struct ws_session	*s;
	char			 err[256];
	int			 on = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->hbuf = malloc(srv->conf.max_request)) == NULL ||
	    (s->req = malloc(sizeof(*s->req))) == NULL) {
		log_client(LOG_LVL_WARN, "ws: out of memory for a new "
		    "connection");
		if (s != NULL) {
			free(s->hbuf);
			free(s);
		}
		close(fd);
		return;
	}
	sockaddr_format(ss, s->peer, sizeof(s->peer));
	addr_key(ss, s->addr);
	if (srv->tls != NULL &&
	    (s->tls = ntls_new(srv->tls, fd, NULL, err, sizeof(err))) == NULL) {
		log_client(LOG_LVL_WARN, "ws: %s: %s", s->peer, err);
		free(s->req);
		free(s->hbuf);
		free(s);
		close(fd);
		return;
	}
	if (srv->conf.max_per_addr > 0) {
		if (server_addr_add(srv, s->addr) == -1) {
			log_client(LOG_LVL_WARN, "ws: out of memory for a "
			    "new connection");
			ntls_free(s->tls);
			free(s->req);
			free(s->hbuf);
			free(s);
			close(fd);
			return;
		}
		s->addr_counted = 1;
	}
	s->in_handshake = 1;
	srv->nhandshakes++;
	s->srv = srv;
	s->fd = fd;
	s->state = s->tls != NULL ? WS_ST_TLS : WS_ST_HTTP;
	s->rwait = EV_READ;
	s->wwait = EV_WRITE;
	http_request_init(s->req);
	s->since = ev_now(srv->loop);
	ev_io_init(&s->io, session_io_cb, fd, 0);
	s->io.data = s;
	ev_timer_init(&s->timer, session_timer_cb, 0., 0.);
	s->timer.data = s;
	TAILQ_INSERT_TAIL(&srv->sessions, s, entry);
	session_set_events(s, EV_READ);
	session_timer_update(s);
	log_debug("ws: %s: connected%s", s->peer,
	    s->tls != NULL ? " (TLS)" : "");
}

static void
session_free(struct ws_session *s)
{
	/* Zeroed by calloc() if the session never opened: nothing to free. */
	wsess_free(&s->ws);
	ntls_free(s->tls);
	free(s->hbuf);
	free(s->req);
	free(s->obuf);
	free(s);
}

static void
session_kill(struct ws_session *s, const char *why)
{
	struct ws_server	*srv = s->srv;

	if (s->dead)
		return;
	s->dead = 1;
	ev_io_stop(srv->loop, &s->io);
	ev_timer_stop(srv->loop, &s->timer);
	if (s->more) {
		TAILQ_REMOVE(&srv->more, s, more_entry);
		s->more = 0;
		srv->nmore--;
	}
	if (s->flushing) {
		TAILQ_REMOVE(&srv->flushq, s, flush_entry);
		s->flushing = 0;
	}
	session_handshake_done(s);
	if (s->addr_counted) {
		s->addr_counted = 0;
		server_addr_del(srv, s->addr);
	}
	if (s->opened)
		log_client(LOG_LVL_INFO, "ws: %s: closed (%s), status sent %u, "
		    "received %u", s->peer, why, wsess_status_sent(&s->ws),
		    wsess_status_received(&s->ws));
	else
		log_debug("ws: %s: dropped (%s)", s->peer, why);
	if (s->tls != NULL && !s->notified) {
		s->notified = 1;
		ntls_close_notify(s->tls);
	}
	close(s->fd);
	s->fd = -1;
	TAILQ_REMOVE(&srv->sessions, s, entry);
	TAILQ_INSERT_TAIL(&srv->zombies, s, entry);
	ev_prepare_start(srv->loop, &srv->reaper);
}

/*
 * Close with a reset (SO_LINGER 0): what the peer did not take is thrown
 * away now instead of trickling out of the kernel's buffer for minutes.
 */
static void
session_abort(struct ws_session *s)
{
	struct linger	 l = { 1, 0 };

	if (s->fd >= 0 && setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &l,
	    sizeof(l)) == -1)
		log_debug("ws: %s: SO_LINGER: %s", s->peer, strerror(errno));
}

/* The session leaves the handshake (upgraded, answered or gone). */
static void
session_handshake_done(struct ws_session *s)
{
	if (s->in_handshake) {
		s->in_handshake = 0;
		s->srv->nhandshakes--;
	}
}

static void
session_set_events(struct ws_session *s, int events)
{
	if (s->dead || events == s->events)
		return;
	ev_io_stop(s->srv->loop, &s->io);
	ev_io_set(&s->io, s->fd, events);
	if (events != 0)
		ev_io_start(s->srv->loop, &s->io);
	s->events = events;
}

/* Serve the session again on the next loop iteration. */
static void
session_more(struct ws_session *s)
{
	struct ws_server	*srv = s->srv;

	if (s->more || s->dead)
		return;
	s->more = 1;
	TAILQ_INSERT_TAIL(&srv->more, s, more_entry);
	srv->nmore++;
	if (!ev_is_active(&srv->more_timer)) {
		ev_timer_set(&srv->more_timer, 0., 0.);
		ev_timer_start(srv->loop, &srv->more_timer);
	}
}

/* When the current state times out; 0 for never. */
static ev_tstamp
session_deadline(const struct ws_session *s)
{
	const struct ws_server_conf	*conf = &s->srv->conf;

	switch (s->state) {
	case WS_ST_TLS:
	case WS_ST_HTTP:
		return s->since + conf->handshake_timeout;
	case WS_ST_REPLY:
	case WS_ST_LINGER:
		return s->since + WS_CLOSE_TIMEOUT;
	case WS_ST_OPEN:
		return wsess_next_deadline(&s->ws);
	}
	return 0;
}

/*
 * Re-arm the timer after a state change.  Activity only moves the idle
 * deadline later (the session's last_rx);
 * the timer then fires early and re-arms itself (ev.pod, "Be smart about
 * timeouts").
 */
static void
session_timer_update(struct ws_session *s)
{
	struct ev_loop	*loop = s->srv->loop;
	ev_tstamp	 d, now = ev_now(loop);

	ev_timer_stop(loop, &s->timer);
	if (s->dead || (d = session_deadline(s)) == 0)
		return;
	ev_timer_set(&s->timer, d > now ? d - now : 0., 0.);
	ev_timer_start(loop, &s->timer);
}

static void
session_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ws_session	*s = w->data;
	ev_tstamp		 d, now = ev_now(loop);

	(void)revents;
	if (s->dead || (d = session_deadline(s)) == 0)
		return;
	if (d > now) {
		ev_timer_set(&s->timer, d - now, 0.);
		ev_timer_start(loop, &s->timer);
		return;
	}
	switch (s->state) {
	case WS_ST_TLS:
	case WS_ST_HTTP:
		s->srv->stats.refused[WS_REFUSED_TIMEOUT]++;
		session_kill(s, "handshake timeout");
		break;
	case WS_ST_REPLY:
	case WS_ST_LINGER:
		session_kill(s, "lingering close done");
		break;
	case WS_ST_OPEN:
		switch (wsess_timeout(&s->ws, now)) {
		case WSESS_EV_CLOSE_TIMEOUT:
			session_kill(s, "close handshake timeout");
			return;
		case WSESS_EV_EXPIRED:
			log_client(LOG_LVL_INFO, "ws: %s: credentials expired, "
			    "closing with 1008", s->peer);
			session_ws_closing(s);
			session_ws_update(s);
			return;
		case WSESS_EV_STALLED:
			log_client(LOG_LVL_INFO, "ws: %s: took none of %zu "
			    "queued octets for %.0f s: dropped", s->peer,
			    ws_session_queued(s), s->srv->conf.send_timeout);
			session_abort(s);
			session_kill(s, "send timeout");
			return;
		case WSESS_EV_NOMEM:
			session_kill(s, "out of memory");
			return;
		case WSESS_EV_IDLE:
			log_client(LOG_LVL_INFO, "ws: %s: idle for %.0f s",
			    s->peer, s->srv->conf.idle_timeout);
			log_debug("ws: %s: closing with status %u", s->peer,
			    WS_CLOSE_GOING_AWAY);
			session_ws_closing(s);
			session_ws_update(s);
			return;
		default:
			session_timer_update(s);
			return;
		}
	}
}

static void
session_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ws_session	*s = w->data;

	(void)loop;
	switch (s->state) {
	case WS_ST_TLS:
		session_tls_handshake(s);
		break;
	case WS_ST_HTTP:
		session_http_read(s);
		break;
	case WS_ST_REPLY:
		session_reply_write(s);
		break;
	case WS_ST_OPEN:
		/* A TLS read may be waiting for writability. */
		session_ws_run(s, (revents & (EV_READ | s->rwait)) != 0);
		break;
	case WS_ST_LINGER:
		session_linger_read(s);
		break;
	}
}

/* What the last failed I/O says. */
static const char *
session_strerror(const struct ws_session *s)
{
	if (s->tls_failed && s->tls != NULL)
		return ntls_error(s->tls);
	return strerror(s->err != 0 ? s->err : EIO);
}

/*
 * Read from the peer, over TLS or not: octets read, 0 at EOF (or
 * close_notify), or -1 with errno EAGAIN (wait for s->rwait) or another
 * error (also in s->err; session_strerror() says what).
 */
static ssize_t
session_read(struct ws_session *s, void *buf, size_t len)
{
	ssize_t	 n;

	if (s->tls == NULL) {
		do {
			n = recv(s->fd, buf, len, 0);
		} while (n == -1 && errno == EINTR);
		if (n == -1 && errno == EWOULDBLOCK)
			errno = EAGAIN;
		if (n == -1 && errno != EAGAIN)
			s->err = errno;
		if (n > 0)
			s->srv->stats.bytes_in += (size_t)n;
		return n;
	}
	n = ntls_read(s->tls, buf, len);
	s->rwait = n == NTLS_WANT_WRITE ? EV_WRITE : EV_READ;
	if (n >= 0) {
		s->srv->stats.bytes_in += (size_t)n;
		return n;
	}
	if (n == NTLS_WANT_READ || n == NTLS_WANT_WRITE) {
		errno = EAGAIN;
		return -1;
	}
	s->tls_failed = 1;
	errno = s->err = EPROTO;
	return -1;
}

/*
 * Write to the peer, the same way.  Over TLS, after EAGAIN the same
 * octets must be offered again (ntls_write()'s rule).
 */
static ssize_t
session_write(struct ws_session *s, const void *buf, size_t len)
{
	ssize_t	 n;

	if (s->tls == NULL) {
		do {
			n = send(s->fd, buf, len, MSG_NOSIGNAL);
		} while (n == -1 && errno == EINTR);
		if (n == -1 && errno == EWOULDBLOCK)
			errno = EAGAIN;
		if (n == -1 && errno != EAGAIN)
			s->err = errno;
		if (n > 0)
			s->srv->stats.bytes_out += (size_t)n;
		return n;
	}
	n = ntls_write(s->tls, buf, len);
	s->wwait = n == NTLS_WANT_READ ? EV_READ : EV_WRITE;
	if (n >= 0) {
		s->srv->stats.bytes_out += (size_t)n;
		return n;
	}
	if (n == NTLS_WANT_READ || n == NTLS_WANT_WRITE) {
		errno = EAGAIN;
		return -1;
	}
	s->tls_failed = 1;
	errno = s->err = EPROTO;
	return -1;
}

/* Write obuf; 0 (done or would block) or -1. */
static int
session_flush(struct ws_session *s)
{
	ssize_t	 n;

	while (s->ooff < s->olen) {
		n = session_write(s, s->obuf + s->ooff, s->olen - s->ooff);
		if (n >= 0) {
			s->ooff += (size_t)n;
			if (n > 0)
				s->wrote = 1;
			continue;
		}
		if (errno == EAGAIN)
			return 0;
		return -1;
	}
	free(s->obuf);
	s->obuf = NULL;
	s->olen = s->ooff = 0;
	s->ostage = 0;
	return 0;
}

static void
session_tls_handshake(struct ws_session *s)
{
	switch (ntls_handshake(s->tls)) {
	case NTLS_OK:
		log_debug("ws: %s: TLS handshake done: %s, %s", s->peer,
		    ntls_version(s->tls), ntls_cipher(s->tls));
		s->state = WS_ST_HTTP;
		session_set_events(s, EV_READ);
		/* The request may be buffered in mbedTLS already. */
		session_http_read(s);
		return;
	case NTLS_WANT_READ:
		session_set_events(s, EV_READ);
		return;
	case NTLS_WANT_WRITE:
		session_set_events(s, EV_WRITE);
		return;
	}
	if (ntls_not_tls(s->tls)) {
		/* Most likely http:// or ws:// to the wss port: say so. */
		log_client(LOG_LVL_INFO, "ws: %s: %s; answering 400", s->peer,
		    ntls_error(s->tls));
		s->srv->stats.refused[WS_REFUSED_TLS]++;
		ntls_free(s->tls);
		s->tls = NULL;
		session_reply(s, 400, NULL,
		    "this port speaks TLS: use wss:// (or https://)\n");
		return;
	}
	log_client(LOG_LVL_INFO, "ws: %s: %s", s->peer, ntls_error(s->tls));
	s->srv->stats.refused[WS_REFUSED_TLS]++;
	session_kill(s, "TLS handshake failed");
}

static void
session_http_read(struct ws_session *s)
{
	size_t		 max = s->srv->conf.max_request;
	ssize_t		 n, r;
	const char	*why;
	char		 body[128];
	int		 status;

	for (;;) {
		n = session_read(s, s->hbuf + s->hlen, max - s->hlen);
		if (n == 0) {
			session_kill(s, "eof during handshake");
			return;
		}
		if (n == -1) {
			if (errno == EAGAIN)
				session_set_events(s, s->rwait);
			else
				session_kill(s, session_strerror(s));
			return;
		}
		s->hlen += (size_t)n;
		/* hlen == max gives a result other than HTTP_PARTIAL. */
		r = http_request_parse(s->req, s->hbuf, s->hlen, max, &status);
		if (r == HTTP_PARTIAL)
			continue;
		if (r == HTTP_ERROR) {
			why = s->req->why != NULL ? s->req->why : "bad request";
			log_client(LOG_LVL_INFO, "ws: %s: bad request head "
			    "(%s), answering %d", s->peer, why, status);
			s->srv->stats.refused[WS_REFUSED_BAD_REQUEST]++;
			(void)snprintf(body, sizeof(body), "%s\n", why);
			session_reply(s, status, NULL, body);
			return;
		}
		session_handshake(s, (size_t)r);
		return;
	}
}

static void
session_handshake(struct ws_session *s, size_t headlen)
{
	struct ws_server		*srv = s->srv;
	const struct http_request	*req = s->req;
	struct ws_handshake		 hs;
	struct ws_admit			 adm;
	char				 reason[WS_REASON_MAX];
	char				 body[WS_REASON_MAX + 2];
	char				 e1[WS_LOG_MAX], e2[WS_LOG_MAX];
	void				*route;
	size_t				 left, cap;
	int				 err, n;

	route = srv->cb.route != NULL ?
	    srv->cb.route(srv->arg, req->path, req->pathlen) : NULL;
	if (s->dead)
		return;		/* ws_server_shutdown() from the callback */
	if (route == NULL) {
		/* The path only: a query string may carry credentials. */
		log_client(LOG_LVL_INFO, "ws: %s: %s %s: no route", s->peer,
		    log_escape(e1, sizeof(e1), req->method, req->methodlen),
		    log_escape(e2, sizeof(e2), req->path, req->pathlen));
		srv->stats.refused[WS_REFUSED_NO_ROUTE]++;
		session_reply(s, 404, NULL, "not found\n");
		return;
	}
	memset(&adm, 0, sizeof(adm));
	if (srv->cb.admit != NULL) {
		srv->cb.admit(srv->arg, route, req, s->peer, &adm);
		if (s->dead)
			return;
		if (adm.status != 0) {
			/* The callback logged who and why. */
			srv->stats.refused[WS_REFUSED_AUTH]++;
			session_reply(s, adm.status, adm.extra, adm.body != NULL ?
			    adm.body : "refused\n");
			return;
		}
	}
	if ((err = ws_handshake_check(req, &hs, reason, sizeof(reason))) !=
	    WS_HS_OK) {
		/* The reason may quote a header value. */
		log_client(LOG_LVL_INFO, "ws: %s: failed to initialize pubsub "
		    "module, err: %s", s->peer,
		    log_escape(e1, sizeof(e1), reason, strlen(reason)));
		(void)snprintf(body, sizeof(body), "%s\n", reason);
		srv->stats.refused[WS_REFUSED_UPGRADE]++;
		session_reply(s, 400, err == WS_HS_BAD_WS_VERSION ?
		    "Sec-WebSocket-Version: 13\r\n" : NULL, body);
		return;
	}
	if (srv->shutdown || (srv->conf.max_sessions > 0 &&
	    srv->nsessions >= srv->conf.max_sessions)) {
		log_client(LOG_LVL_INFO, "ws: %s: too many sessions (%d), "
		    "answering 503", s->peer, srv->nsessions);
		srv->stats.refused[WS_REFUSED_SESSIONS]++;
		session_reply(s, 503, NULL, "too many sessions\n");
		return;
	}

	if (adm.protocol != NULL) {
		hs.protocol = adm.protocol;
		hs.protocollen = adm.protocollen;
	}
	s->grant = adm.grant;
	cap = 256 + hs.protocollen;
	left = s->hlen - headlen;
	if ((s->obuf = malloc(cap)) == NULL ||
	    (n = ws_handshake_response(&hs, s->obuf, cap)) == -1) {
		session_kill(s, "cannot build the 101 response");
		return;
	}
	s->olen = (size_t)n;
	s->ooff = 0;
	wsess_init(&s->ws, &srv->wconf, session_msg_cb, s, ev_now(srv->loop));
	if (adm.expires > 0)
		wsess_expire(&s->ws, adm.expires);

	log_client(LOG_LVL_INFO, "ws: %s: upgraded %s%s", s->peer,
	    log_escape(e1, sizeof(e1), req->path, req->pathlen),
	    s->tls != NULL ? " (TLS)" : "");
	free(s->req);
	s->req = NULL;
	session_handshake_done(s);
	s->state = WS_ST_OPEN;
	s->since = ev_now(srv->loop);
	session_timer_update(s);
	if (session_flush(s) == -1) {
		session_kill(s, session_strerror(s));
		return;
	}
	s->opened = 1;
	srv->nsessions++;
	srv->stats.upgraded++;
	if (srv->cb.open != NULL)
		srv->cb.open(srv->arg, s, route);
	/* A frame that came with the request head. */
	if (left > 0 && !s->dead && session_ws_feed(s,
	    (uint8_t *)s->hbuf + headlen, left) == -1)
		return;
	free(s->hbuf);
	s->hbuf = NULL;
	session_ws_run(s, 1);
}

static void
session_reply(struct ws_session *s, int status, const char *extra,
    const char *body)
{
	char	 buf[WS_REPLY_MAX];
	int	 n;

	if ((n = http_error_response(buf, sizeof(buf), status, extra,
	    body)) == -1 &&
	    (n = http_error_response(buf, sizeof(buf), status, extra,
	    NULL)) == -1) {
		session_kill(s, "cannot build a response");
		return;
	}
	free(s->hbuf);
	free(s->req);
	s->hbuf = NULL;
	s->req = NULL;
	if ((s->obuf = malloc((size_t)n)) == NULL) {
		session_kill(s, "out of memory");
		return;
	}
	memcpy(s->obuf, buf, (size_t)n);
	s->olen = (size_t)n;
	s->ooff = 0;
	session_handshake_done(s);
	s->state = WS_ST_REPLY;
	s->since = ev_now(s->srv->loop);
	session_timer_update(s);
	session_reply_write(s);
}

static void
session_reply_write(struct ws_session *s)
{
	if (session_flush(s) == -1) {
		session_kill(s, session_strerror(s));
		return;
	}
	if (s->olen > 0)
		session_set_events(s, s->wwait);
	else
		session_linger(s);
}

static void
session_linger(struct ws_session *s)
{
	if (s->tls != NULL && !s->notified) {
		s->notified = 1;
		ntls_close_notify(s->tls);
	}
	(void)shutdown(s->fd, SHUT_WR);
	s->state = WS_ST_LINGER;
	s->since = ev_now(s->srv->loop);
	session_timer_update(s);
	session_set_events(s, EV_READ);
}

static void
session_linger_read(struct ws_session *s)
{
	char	 buf[4096];
	ssize_t	 n;
	int	 i;

	for (i = 0; i < 16; i++) {
		n = recv(s->fd, buf, sizeof(buf), 0);
		if (n > 0)
			continue;
		if (n == 0) {
			session_kill(s, "eof");
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			session_kill(s, strerror(errno));
		return;
	}
}


/* The session left WSESS_OPEN: the close timeout runs from now on. */
static void
session_ws_closing(struct ws_session *s)
{
	if (s->closing || s->dead || wsess_state(&s->ws) == WSESS_OPEN)
		return;
	s->closing = 1;
	session_timer_update(s);
}

/* One round of WebSocket I/O; readable: the socket may have input. */
static void
session_ws_run(struct ws_session *s, int readable)
{
	if (s->dead)
		return;
	s->in_run = 1;
	/* Output first: it makes room under max_outbound. */
	if (session_ws_send(s) == -1) {
		session_kill(s, s->err != 0 ? session_strerror(s) :
		    "send failed");
		goto out;
	}
	if (s->tls != NULL && ntls_pending(s->tls) > 0)
		readable = 1;
	if (session_ws_recv(s, readable) == -1)
		goto out;
	if (session_ws_send(s) == -1) {
		session_kill(s, s->err != 0 ? session_strerror(s) :
		    "send failed");
		goto out;
	}
	session_ws_update(s);
out:
	s->in_run = 0;
}

/*
 * Output was queued: a session in its own round writes it at the end of
 * the round; any other is written by server_flush_cb() before the poll.
 */
static void
session_flush_later(struct ws_session *s)
{
	struct ws_server	*srv = s->srv;

	if (s->in_run || s->flushing || s->dead)
		return;
	s->flushing = 1;
	TAILQ_INSERT_TAIL(&srv->flushq, s, flush_entry);
	if (!ev_is_active(&srv->flusher))
		ev_prepare_start(srv->loop, &srv->flusher);
}

/* Hand input to the session; -1 if the session was killed. */
static int
session_ws_feed(struct ws_session *s, uint8_t *p, size_t n)
{
	switch (wsess_recv(&s->ws, p, n, ev_now(s->srv->loop))) {
	case WSESS_EV_NOMEM:
		session_kill(s, "out of memory");
		return -1;
	case WSESS_EV_PROTO:
		log_client(LOG_LVL_INFO, "ws: %s: %s, closing with %u",
		    s->peer, s->ws.failwhy != NULL ? s->ws.failwhy :
		    "bad frame", s->ws.fail);
		break;
	default:
		break;
	}
	if (s->dead)
		return -1;
	session_ws_closing(s);
	return 0;
}

/*
 * Read the peer while the session wants input, within the read budget
 * and max_outbound; kept input (a resumed session) first.  -1 if the
 * session was killed.
 */
static int
session_ws_recv(struct ws_session *s, int readable)
{
	struct ws_server	*srv = s->srv;
	size_t			 budget = srv->conf.read_budget, max;
	ssize_t			 n;

	if (wsess_buffered(&s->ws) && !wsess_paused(&s->ws) &&
	    ws_session_queued(s) < srv->conf.max_outbound &&
	    session_ws_feed(s, NULL, 0) == -1)
		return -1;
	while (readable && budget > 0 && wsess_want_read(&s->ws) &&
	    ws_session_queued(s) < srv->conf.max_outbound) {
		max = budget < WS_RBUF_SIZE ? budget : WS_RBUF_SIZE;
		n = session_read(s, srv->rbuf, max);
		if (n > 0) {
			budget -= (size_t)n;
			if (session_ws_feed(s, srv->rbuf, (size_t)n) == -1)
				return -1;
			/* A short read drained the socket (not so with TLS). */
			if (s->tls == NULL && (size_t)n < max)
				break;
			continue;
		}
		if (n == 0) {
			session_kill(s, "eof");
			return -1;
		}
		if (errno == EAGAIN)
			break;
		session_kill(s, session_strerror(s));
		return -1;
	}
	return 0;
}

/* Write what the session queued; 0 (done or would block) or -1. */
static int
session_ws_send(struct ws_session *s)
{
	struct ws_server	*srv = s->srv;
	struct msghdr		 msg;
	size_t			 total;
	ssize_t			 n;
	int			 niov, i, was;

	was = s->ws.blocked_at > 0;
	s->wrote = 0;
	for (;;) {
		/* The rest of the 101, or TLS output staged. */
		if (s->olen > 0) {
			if (session_flush(s) == -1)
				return -1;
			if (s->olen > 0)
				break;
		}
		if (!wsess_want_write(&s->ws))
			break;
		niov = wsess_output(&s->ws, srv->iov, WS_IOV);
		if (s->tls != NULL) {
			if (session_ws_stage(s, niov) == -1)
				return -1;
			continue;
		}
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = srv->iov;
		msg.msg_iovlen = (size_t)niov;
		do {
			n = sendmsg(s->fd, &msg, MSG_NOSIGNAL);
		} while (n == -1 && errno == EINTR);
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			s->err = n == 0 ? EPIPE : errno;
			return -1;
		}
		wsess_sent(&s->ws, (size_t)n);
		srv->stats.bytes_out += (size_t)n;
		s->wrote = 1;
		for (total = 0, i = 0; i < niov; i++)
			total += srv->iov[i].iov_len;
		/* A short write: the socket buffer is full. */
		if ((size_t)n < total)
			break;
	}
	/* The send timeout: blocked output, since the last progress. */
	if (s->wrote)
		wsess_blocked(&s->ws, 0, ev_now(srv->loop));
	if (s->olen > 0 || wsess_want_write(&s->ws))
		wsess_blocked(&s->ws, 1, ev_now(srv->loop));
	if (was != (s->ws.blocked_at > 0) || (was && s->wrote))
		session_timer_update(s);
	if (s->drain_armed &&
	    ws_session_queued(s) < srv->conf.max_outbound / 2) {
		s->drain_armed = 0;
		if (srv->cb.drained != NULL &&
		    wsess_state(&s->ws) == WSESS_OPEN)
			srv->cb.drained(srv->arg, s);
	}
	return 0;
}

/*
 * TLS: copy what wsess_output() handed out (niov iovecs in srv->iov)
 * into obuf, up to WS_TLS_OBUF octets; session_flush() writes it.  0 or
 * -1 (out of memory).
 */
static int
session_ws_stage(struct ws_session *s, int niov)
{
	struct iovec	*iov = s->srv->iov;
	size_t		 k, staged = 0;
	int		 i;

	if (s->obuf == NULL) {
		if ((s->obuf = malloc(WS_TLS_OBUF)) == NULL) {
			s->err = ENOMEM;
			return -1;
		}
		s->olen = s->ooff = 0;
		s->ostage = 1;
	}
	for (i = 0; i < niov && s->olen < WS_TLS_OBUF; i++) {
		k = iov[i].iov_len;
		if (k > WS_TLS_OBUF - s->olen)
			k = WS_TLS_OBUF - s->olen;
		memcpy(s->obuf + s->olen, iov[i].iov_base, k);
		s->olen += k;
		staged += k;
	}
	wsess_sent(&s->ws, staged);
	return 0;
}

/* Decide what to wait for, or finish the session. */
static void
session_ws_update(struct ws_session *s)
{
	struct wsess	*ws = &s->ws;
	int		 events = 0;

	if (s->dead)
		return;
	/* With TLS the close frame may still be staged in obuf. */
	if (s->olen == 0) {
		switch (wsess_state(ws)) {
		case WSESS_CLOSED:
			session_kill(s, "close handshake done");
			return;
		case WSESS_FAILED:
			/* We failed the connection: drain, then close. */
			log_debug("ws: %s: failed with status %u", s->peer,
			    wsess_status_sent(ws));
			session_linger(s);
			return;
		case WSESS_DEAD:
			session_kill(s, "out of memory");
			return;
		default:
			break;
		}
	}
	if (wsess_want_read(ws) &&
	    ws_session_queued(s) < s->srv->conf.max_outbound) {
		events |= s->rwait;
		/* Decrypted input waits in mbedTLS: no fd says so. */
		if (s->tls != NULL && ntls_pending(s->tls) > 0)
			session_more(s);
	}
	if (s->olen > 0 || wsess_want_write(ws))
		events |= s->wwait;
	/* Paused with nothing to write: waiting for ws_session_pause(, 0). */
	if (events == 0 && !wsess_paused(ws)) {
		session_kill(s, "nothing left to do");
		return;
	}
	session_set_events(s, events);
}

/* wsess's message callback: hand the message to the application. */
static void
session_msg_cb(void *arg, int opcode, const uint8_t *p, size_t len)
{
	struct ws_session	*s = arg;
	struct ws_server	*srv = s->srv;

	if (s->dead || srv->cb.message == NULL)
		return;
	srv->cb.message(srv->arg, s, opcode, p, len);
}

/* ws_session_send() and ws_session_send_take(); take: buf is the caller's. */
static int
session_send(struct ws_session *s, int opcode, void *buf,
    const uint8_t *data, size_t len, int take)
{
	size_t	 q, max = s->srv->conf.max_outbound;
	int	 r;

	if (s->dead || s->state != WS_ST_OPEN ||
	    wsess_state(&s->ws) != WSESS_OPEN)
		return WS_SEND_CLOSED;
	if (opcode != WS_OP_TEXT && opcode != WS_OP_BINARY) {
		log_warnx("ws: %s: ws_session_send: bad opcode %d", s->peer,
		    opcode);
		return WS_SEND_CLOSED;
	}
	q = ws_session_queued(s);
	if (len > max || q > max - len) {
		s->drain_armed = 1;
		return WS_SEND_FULL;
	}
	r = take ? wsess_send_take(&s->ws, opcode, buf, data, len) :
	    wsess_send(&s->ws, opcode, data, len);
	if (r != WSESS_SEND_OK)
		return r == WSESS_SEND_NOMEM ? WS_SEND_NOMEM : WS_SEND_CLOSED;
	if (q + len >= max / 2)
		s->drain_armed = 1;
	session_flush_later(s);
	return WS_SEND_OK;
}

int
ws_session_send(struct ws_session *s, int opcode, const uint8_t *data,
    size_t len)
{
	return session_send(s, opcode, NULL, data, len, 0);
}

int
ws_session_send_take(struct ws_session *s, int opcode, void *buf,
    const uint8_t *data, size_t len)
{
	return session_send(s, opcode, buf, data, len, 1);
}

void
ws_session_pause(struct ws_session *s, int pause)
{
	if (s->dead || s->state != WS_ST_OPEN || (pause != 0) == s->ws.paused)
		return;
	wsess_pause(&s->ws, pause, ev_now(s->srv->loop));
	/* Kept input first, from the loop: a zero timer. */
	if (!pause)
		session_more(s);
	session_timer_update(s);
}

size_t
ws_session_queued(const struct ws_session *s)
{
	return wsess_queued(&s->ws) + (s->olen - s->ooff);
}

void
ws_session_close(struct ws_session *s, uint16_t code, const char *reason)
{
	if (s->dead || s->state != WS_ST_OPEN ||
	    wsess_state(&s->ws) != WSESS_OPEN)
		return;
	log_debug("ws: %s: closing with status %u", s->peer, code);
	if (wsess_close(&s->ws, code, reason, ev_now(s->srv->loop)) == -1) {
		session_kill(s, "out of memory");
		return;
	}
	session_ws_closing(s);
	session_flush_later(s);
}

void
ws_session_set_data(struct ws_session *s, void *data)
{
	s->data = data;
}

void *
ws_session_grant(const struct ws_session *s)
{
	return s->grant;
}

void *
ws_session_data(const struct ws_session *s)
{
	return s->data;
}

const char *
ws_session_peer(const struct ws_session *s)
{
	return s->peer;
}
