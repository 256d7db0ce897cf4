/*
 * admin.c -- the admin endpoint (admin.h): the request handling, which
 * knows no socket (admin_respond()), and the libev glue under it: the
 * listener, one connection per request, read, answer, write, close.
 *
 * A connection goes through three states: ADM_READ (the request head
 * into a fixed buffer of ADMIN_HEAD_MAX octets, parsed by ws/http.c as
 * it comes, deadline ADMIN_READ_TIMEOUT from accept), ADM_WRITE (the
 * response, built whole before the first write, deadline
 * ADMIN_WRITE_TIMEOUT) and ADM_LINGER (write side shut down, input
 * discarded until EOF or ADM_LINGER_TIMEOUT, so that a request body we
 * did not read does not make the kernel answer with a reset that would
 * destroy the response).  Then it is closed and freed at once: no
 * callback can still point at it.
 */
#include "config.h"

#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* accept4() */
#endif

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "kafka/reader.h"
#include "net/log.h"
#include "src/admin.h"
#include "src/bridge.h"
#include "src/metrics.h"
#include "ws/http.h"
#include "ws/ws.h"

#define ADM_MAX_LISTEN		4	/* sockets for one address */
#define ADM_ACCEPT_BATCH	16	/* accepts per callback */
#define ADM_ACCEPT_PAUSE	1.0	/* after EMFILE and friends */
#define ADM_LINGER_TIMEOUT	2.0
#define ADM_PAGE_MAX		(ADMIN_METRICS_MAX + 1024)

enum adm_state {
	ADM_READ,
	ADM_WRITE,
	ADM_LINGER
};

struct adm_conn {
	LIST_ENTRY(adm_conn)	 entry;
	int			 fd;
	enum adm_state		 state;
	ev_io			 io;
	ev_timer		 timer;
	char			 head[ADMIN_HEAD_MAX];
	size_t			 hlen;
	struct http_request	 req;
	struct metrics_buf	 out;		/* the response */
	size_t			 off;		/* of it written */
};

/* The one admin endpoint of the process. */
static struct {
	struct ev_loop		*loop;
	int			 fds[ADM_MAX_LISTEN];
	ev_io			 lio[ADM_MAX_LISTEN];
	int			 nfds;
	ev_timer		 pause;		/* resumes accepting */
	LIST_HEAD(, adm_conn)	 conns;
	int			 nconns;
	admin_ready_fn		 ready;
	void			*ready_arg;
	struct ws_server	*ws;
	void			(*cache)(struct kcache_stats *);
} adm;

static int	 adm_is(const char *, size_t, const char *);
static void	 adm_page(struct metrics_buf *, int, const char *, const char *,
		    const char *, size_t, int);
static double	 adm_rss(void);
static int	 adm_listen_one(const struct addrinfo *, int, char *, size_t);
static void	 adm_accept_cb(struct ev_loop *, ev_io *, int);
static void	 adm_pause_cb(struct ev_loop *, ev_timer *, int);
static void	 adm_conn_io_cb(struct ev_loop *, ev_io *, int);
static void	 adm_conn_timer_cb(struct ev_loop *, ev_timer *, int);
static void	 adm_conn_free(struct adm_conn *);
static void	 adm_conn_read(struct adm_conn *);
static void	 adm_conn_answer(struct adm_conn *, int);
static void	 adm_conn_write(struct adm_conn *);
static void	 adm_conn_linger(struct adm_conn *);
static void	 adm_conn_state(struct adm_conn *, enum adm_state, int,
		    double);
static int	 adm_metrics(void *, struct metrics_buf *);

/* ---- the request handling ---- */

static int
adm_is(const char *p, size_t len, const char *s)
{
	return strlen(s) == len && memcmp(p, s, len) == 0;
}

/* Status line, headers, body; HEAD leaves the body out. */
static void
adm_page(struct metrics_buf *out, int status, const char *type,
    const char *extra, const char *body, size_t bodylen, int head)
{
	metrics_buf_printf(out, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "Connection: close\r\n"
	    "%s"
	    "\r\n", status, status == 200 ? "OK" : http_status_text(status),
	    type, bodylen, extra != NULL ? extra : "");
	if (!head)
		metrics_buf_add(out, body, bodylen);
}

#define ADM_TEXT	"text/plain; charset=utf-8"

int
admin_respond(const struct http_request *req, int status,
    const struct admin_handlers *h, struct metrics_buf *out)
{
	struct metrics_buf	 body;
	char			 why[ADMIN_WHY_MAX], text[256];
	int			 head, n;

	if (status != 0) {
		n = snprintf(text, sizeof(text), "%s\n", req->why != NULL ?
		    req->why : "bad request");
		if (n < 0 || (size_t)n >= sizeof(text))
			n = (int)strlen(text);
		adm_page(out, status, ADM_TEXT, NULL, text, (size_t)n, 0);
		return out->err ? -1 : status;
	}
	head = adm_is(req->method, req->methodlen, "HEAD");
	if (!adm_is(req->path, req->pathlen, "/metrics") &&
	    !adm_is(req->path, req->pathlen, "/healthz") &&
	    !adm_is(req->path, req->pathlen, "/readyz")) {
		adm_page(out, 404, ADM_TEXT, NULL, "not found\n", 10, head);
		return out->err ? -1 : 404;
	}
	if (!head && !adm_is(req->method, req->methodlen, "GET")) {
		adm_page(out, 405, ADM_TEXT, "Allow: GET, HEAD\r\n",
		    "method not allowed\n", 19, 0);
		return out->err ? -1 : 405;
	}
	if (adm_is(req->path, req->pathlen, "/healthz")) {
		adm_page(out, 200, ADM_TEXT, NULL, "ok\n", 3, head);
		return out->err ? -1 : 200;
	}
	if (adm_is(req->path, req->pathlen, "/readyz")) {
		why[0] = '\0';
		if (h->ready == NULL ||
		    h->ready(h->ready_arg, why, sizeof(why)) != 0) {
			adm_page(out, 200, ADM_TEXT, NULL, "ready\n", 6, head);
			return out->err ? -1 : 200;
		}
		why[sizeof(why) - 1] = '\0';
		metrics_buf_init(&body, ADMIN_WHY_MAX + 64);
		metrics_buf_printf(&body, "not ready\n%s", why);
		if (body.len > 0 && body.p[body.len - 1] != '\n')
			metrics_buf_add(&body, "\n", 1);
		if (body.err)
			adm_page(out, 503, ADM_TEXT, NULL, "not ready\n", 10,
			    head);
		else
			adm_page(out, 503, ADM_TEXT, NULL, body.p, body.len,
			    head);
		metrics_buf_free(&body);
		return out->err ? -1 : 503;
	}
	metrics_buf_init(&body, ADMIN_METRICS_MAX);
	if (h->metrics == NULL || h->metrics(h->metrics_arg, &body) != 0) {
		metrics_buf_free(&body);
		adm_page(out, 500, ADM_TEXT, NULL,
		    "cannot render the metrics\n", 26, head);
		return out->err ? -1 : 500;
	}
	adm_page(out, 200, METRICS_CONTENT_TYPE, NULL, body.p, body.len, head);
	metrics_buf_free(&body);
	return out->err ? -1 : 200;
}

/* ---- what /metrics reads ---- */

void
admin_set_sources(struct ws_server *ws, void (*cache)(struct kcache_stats *))
{
	adm.ws = ws;
	adm.cache = cache;
}

/* Resident memory from /proc (Linux), in bytes; -1 elsewhere. */
static double
adm_rss(void)
{
	char		 buf[128];
	unsigned long	 size, rss;
	ssize_t		 n;
	long		 page;
	int		 fd;

	if ((fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (sscanf(buf, "%lu %lu", &size, &rss) != 2 ||
	    (page = sysconf(_SC_PAGESIZE)) <= 0)
		return -1;
	return (double)rss * (double)page;
}

static int
adm_metrics(void *arg, struct metrics_buf *b)
{
	struct metrics_snapshot	 s;
	struct ws_server_stats	 ws;
	struct bridge_stats	 br;
	struct kcache_stats	 cs;
	struct rusage		 ru;

	(void)arg;
	memset(&s, 0, sizeof(s));
	s.version = PACKAGE_VERSION;
	if (adm.ws != NULL) {
		ws_server_stats(adm.ws, &ws);
		s.ws = &ws;
	}
	bridge_stats(&br);
	s.bridge = &br;
	if (adm.cache != NULL) {
		memset(&cs, 0, sizeof(cs));
		adm.cache(&cs);
		s.cache = &cs;
	}
	s.cpu_seconds = -1;
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		s.cpu_seconds = (double)ru.ru_utime.tv_sec +
		    (double)ru.ru_utime.tv_usec / 1e6 +
		    (double)ru.ru_stime.tv_sec +
		    (double)ru.ru_stime.tv_usec / 1e6;
	s.rss_bytes = adm_rss();
	return metrics_render(b, &s);
}

/* ---- the listener ---- */

static int
adm_listen_one(const struct addrinfo *ai, int dual, char *err, size_t errlen)
{
	int	 fd, e, on = 1, off = 0;

	if (adm.nfds == ADM_MAX_LISTEN)
		return 0;		/* enough sockets for one address */
	if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol)) == -1) {
		(void)snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    (ai->ai_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, dual ? &off : &on, sizeof(on)) == -1)) {
		e = errno;
		(void)snprintf(err, errlen, "setsockopt: %s", strerror(e));
		(void)close(fd);
		errno = e;
		return -1;
	}
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(fd, SOMAXCONN) == -1) {
		e = errno;
		(void)snprintf(err, errlen, "bind: %s", strerror(e));
		(void)close(fd);
		errno = e;
		return -1;
	}
	adm.fds[adm.nfds++] = fd;
	return 0;
}

int
admin_start(struct ev_loop *loop, const char *addr, admin_ready_fn ready,
    void *arg, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res, *ai;
	char		 host[256], port[16], why[128];
	int		 pnum, r, i, dual = 0;

	if (adm.loop != NULL) {
		(void)snprintf(err, errlen, "%s: the admin endpoint is already "
		    "listening", addr);
		return -1;
	}
	if (ws_listen_split(addr, host, sizeof(host), &pnum) != WS_ADDR_OK) {
		(void)snprintf(err, errlen, "%s: expected host:port, [v6]:port "
		    "or :port", addr);
		return -1;
	}
	(void)snprintf(port, sizeof(port), "%d", pnum);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (host[0] == '\0') {
		/* Every address: one dual-stack socket, else IPv4. */
		hints.ai_family = AF_INET6;
		hints.ai_flags |= AI_NUMERICHOST;
		dual = 1;
		(void)snprintf(host, sizeof(host), "::");
	}
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0 && dual) {
		hints.ai_family = AF_INET;
		dual = 0;
		(void)snprintf(host, sizeof(host), "0.0.0.0");
		r = getaddrinfo(host, port, &hints, &res);
	}
	if (r != 0) {
		(void)snprintf(err, errlen, "%s: %s", addr, gai_strerror(r));
		return -1;
	}
	adm.nfds = 0;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (adm_listen_one(ai, dual, why, sizeof(why)) == 0)
			continue;
		if (dual && (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)) {
			/* No IPv6 here: IPv4 for every address. */
			struct addrinfo	 h4, *res4;

			memset(&h4, 0, sizeof(h4));
			h4.ai_family = AF_INET;
			h4.ai_socktype = SOCK_STREAM;
			h4.ai_flags = AI_PASSIVE | AI_NUMERICSERV |
			    AI_NUMERICHOST;
			if (getaddrinfo("0.0.0.0", port, &h4, &res4) == 0) {
				r = adm_listen_one(res4, 0, why, sizeof(why));
				freeaddrinfo(res4);
				if (r == 0)
					continue;
			}
		}
		freeaddrinfo(res);
		for (i = 0; i < adm.nfds; i++)
			(void)close(adm.fds[i]);
		adm.nfds = 0;
		(void)snprintf(err, errlen, "%s: %s", addr, why);
		return -1;
	}
	freeaddrinfo(res);
	adm.loop = loop;
	adm.ready = ready;
	adm.ready_arg = arg;
	LIST_INIT(&adm.conns);
	adm.nconns = 0;
	for (i = 0; i < adm.nfds; i++) {
		ev_io_init(&adm.lio[i], adm_accept_cb, adm.fds[i], EV_READ);
		ev_io_start(loop, &adm.lio[i]);
	}
	ev_timer_init(&adm.pause, adm_pause_cb, ADM_ACCEPT_PAUSE, 0.);
	log_info("admin: listening on %s (/metrics, /healthz, /readyz)", addr);
	return 0;
}

int
admin_port(void)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);

	if (adm.loop == NULL || adm.nfds == 0 || getsockname(adm.fds[0],
	    (struct sockaddr *)&ss, &len) == -1)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

void
admin_stop(void)
{
	struct adm_conn	*c;
	int		 i;

	if (adm.loop == NULL)
		return;
	while ((c = LIST_FIRST(&adm.conns)) != NULL)
		adm_conn_free(c);
	for (i = 0; i < adm.nfds; i++) {
		ev_io_stop(adm.loop, &adm.lio[i]);
		(void)close(adm.fds[i]);
	}
	ev_timer_stop(adm.loop, &adm.pause);
	adm.nfds = 0;
	adm.loop = NULL;
}

static void
adm_pause_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	int	 i;

	(void)w;
	(void)revents;
	for (i = 0; i < adm.nfds; i++)
		ev_io_start(loop, &adm.lio[i]);
}

static void
adm_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct adm_conn	*c;
	int		 fd, i, k;

	(void)revents;
	for (i = 0; i < ADM_ACCEPT_BATCH; i++) {
		if ((fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK |
		    SOCK_CLOEXEC)) == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				log_warnx("admin: accept: %s; pausing for "
				    "%.1f s", strerror(errno),
				    ADM_ACCEPT_PAUSE);
				for (k = 0; k < adm.nfds; k++)
					ev_io_stop(loop, &adm.lio[k]);
				ev_timer_set(&adm.pause, ADM_ACCEPT_PAUSE, 0.);
				ev_timer_start(loop, &adm.pause);
			} else if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warnx("admin: accept: %s", strerror(errno));
			return;
		}
		if (adm.nconns >= ADMIN_MAX_CONNS) {
			log_client(LOG_LVL_INFO, "admin: %d connections open: "
			    "closing a new one", adm.nconns);
			(void)close(fd);
			continue;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			log_client(LOG_LVL_WARN, "admin: out of memory for a "
			    "connection");
			(void)close(fd);
			continue;
		}
		c->fd = fd;
		http_request_init(&c->req);
		metrics_buf_init(&c->out, ADM_PAGE_MAX);
		ev_io_init(&c->io, adm_conn_io_cb, fd, EV_READ);
		c->io.data = c;
		ev_timer_init(&c->timer, adm_conn_timer_cb, 0., 0.);
		c->timer.data = c;
		LIST_INSERT_HEAD(&adm.conns, c, entry);
		adm.nconns++;
		adm_conn_state(c, ADM_READ, EV_READ, ADMIN_READ_TIMEOUT);
	}
}

/* ---- a connection ---- */

static void
adm_conn_free(struct adm_conn *c)
{
	ev_io_stop(adm.loop, &c->io);
	ev_timer_stop(adm.loop, &c->timer);
	(void)close(c->fd);
	LIST_REMOVE(c, entry);
	adm.nconns--;
	metrics_buf_free(&c->out);
	free(c);
}

/* Enter a state: wait for events, with a deadline timeout from now. */
static void
adm_conn_state(struct adm_conn *c, enum adm_state st, int events,
    double timeout)
{
	c->state = st;
	ev_io_stop(adm.loop, &c->io);
	ev_io_set(&c->io, c->fd, events);
	ev_io_start(adm.loop, &c->io);
	ev_timer_stop(adm.loop, &c->timer);
	ev_timer_set(&c->timer, timeout, 0.);
	ev_timer_start(adm.loop, &c->timer);
}

static void
adm_conn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct adm_conn	*c = w->data;

	(void)loop;
	(void)revents;
	if (c->state != ADM_LINGER)
		log_client(LOG_LVL_INFO, "admin: a connection timed out %s",
		    c->state == ADM_READ ? "sending its request" :
		    "taking the response");
	adm_conn_free(c);
}

static void
adm_conn_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct adm_conn	*c = w->data;

	(void)loop;
	(void)revents;
	switch (c->state) {
	case ADM_READ:
		adm_conn_read(c);
		break;
	case ADM_WRITE:
		adm_conn_write(c);
		break;
	case ADM_LINGER:
		adm_conn_linger(c);
		break;
	}
}

static void
adm_conn_read(struct adm_conn *c)
{
	ssize_t	 n, r;
	int	 status = 0;

	for (;;) {
		n = recv(c->fd, c->head + c->hlen, sizeof(c->head) - c->hlen,
		    0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			adm_conn_free(c);	/* gone before a whole head */
			return;
		}
		c->hlen += (size_t)n;
		/* A full buffer gives 431, never HTTP_PARTIAL. */
		r = http_request_parse(&c->req, c->head, c->hlen,
		    sizeof(c->head), &status);
		if (r == HTTP_PARTIAL)
			continue;
		adm_conn_answer(c, r == HTTP_ERROR ? status : 0);
		return;
	}
}

static void
adm_conn_answer(struct adm_conn *c, int status)
{
	struct admin_handlers	 h;
	char			 e1[64], e2[128];
	int			 st;

	memset(&h, 0, sizeof(h));
	h.ready = adm.ready;
	h.ready_arg = adm.ready_arg;
	h.metrics = adm_metrics;
	if ((st = admin_respond(&c->req, status, &h, &c->out)) == -1) {
		log_warnx("admin: the response does not fit in %zu bytes",
		    (size_t)ADM_PAGE_MAX);
		adm_conn_free(c);
		return;
	}
	if (status != 0)
		log_client(LOG_LVL_INFO, "admin: bad request (%s): %d",
		    c->req.why != NULL ? c->req.why : "malformed", st);
	else
		log_debug("admin: %s %s: %d",
		    log_escape(e1, sizeof(e1), c->req.method,
		    c->req.methodlen),
		    log_escape(e2, sizeof(e2), c->req.path, c->req.pathlen),
		    st);
	adm_conn_state(c, ADM_WRITE, EV_WRITE, ADMIN_WRITE_TIMEOUT);
	adm_conn_write(c);
}

static void
adm_conn_write(struct adm_conn *c)
{
	ssize_t	 n;

	while (c->off < c->out.len) {
		n = send(c->fd, c->out.p + c->off, c->out.len - c->off,
		    MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			adm_conn_free(c);
			return;
		}
		c->off += (size_t)n;
	}
	metrics_buf_free(&c->out);
	(void)shutdown(c->fd, SHUT_WR);
	adm_conn_state(c, ADM_LINGER, EV_READ, ADM_LINGER_TIMEOUT);
}

static void
adm_conn_linger(struct adm_conn *c)
{
	char	 buf[1024];
	ssize_t	 n;
	int	 i;

	for (i = 0; i < 16; i++) {
		n = recv(c->fd, buf, sizeof(buf), 0);
		if (n > 0)
			continue;
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		break;
	}
	if (i == 16)
		return;			/* more next time */
	adm_conn_free(c);
}
