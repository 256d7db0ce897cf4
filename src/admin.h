/*
 * admin.h -- the admin endpoint: a plain-HTTP listener of its own
 * (--admin-listen, off by default) for monitoring, on the daemon's libev
 * loop, never on a WebSocket port.
 *
 *   GET /metrics   200, the metrics (src/metrics.h) in the Prometheus
 *                  text format 0.0.4, Content-Type METRICS_CONTENT_TYPE
 *   GET /healthz   200 "ok": the process runs its loop (it answers)
 *   GET /readyz    200 "ready" if the readiness callback says so, else 503
 *                  with the callback's reason (which routes, and why)
 *
 * HEAD is answered as GET without the body; another method on these
 * paths gets 405 (with Allow: GET, HEAD), any other path 404, a
 * malformed head 400, one over ADMIN_HEAD_MAX octets 431.  One request
 * per connection: every response says Connection: close.  No connection
 * can hold the loop: the head must arrive within ADMIN_READ_TIMEOUT, the
 * response is built whole and written without blocking within
 * ADMIN_WRITE_TIMEOUT, and at most ADMIN_MAX_CONNS connections are open
 * at once (more are closed at accept).
 */
#ifndef SRC_ADMIN_H
#define SRC_ADMIN_H

#include <stddef.h>

#define ADMIN_HEAD_MAX		4096	/* request head, octets */
#define ADMIN_READ_TIMEOUT	5.0	/* seconds from accept to a whole head */
#define ADMIN_WRITE_TIMEOUT	5.0	/* seconds to write the response */
#define ADMIN_MAX_CONNS		64	/* connections at once */
#define ADMIN_METRICS_MAX	(16 * 1024 * 1024)	/* /metrics body */
#define ADMIN_WHY_MAX		8192	/* /readyz reason, cut there */

struct ev_loop;
struct http_request;
struct kcache_stats;
struct metrics_buf;
struct ws_server;

/*
 * Readiness: 1 ready, or 0 with the reason in why (NUL-terminated, cut
 * at whylen; say which routes are not ready and why, one a line).
 */
typedef int	(*admin_ready_fn)(void *arg, char *why, size_t whylen);

/*
 * Where /metrics reads the modules' statistics: the WebSocket server
 * (NULL: no WebSocket families) and a function filling in the cache's
 * (NULL: no cache families); bridge_stats() is always read.  Call before
 * or after admin_start(), again whenever they change.
 */
void	 admin_set_sources(struct ws_server *,
	    void (*cache)(struct kcache_stats *));

/*
 * Listen on addr ("host:port", "[v6]:port" or ":port", as --listen)
 * and serve on loop; ready may be NULL (always ready).  Returns 0, or
 * -1 with the reason in err ("127.0.0.1:9100: bind: Address already in
 * use").  One admin endpoint per process.
 */
int	 admin_start(struct ev_loop *, const char *addr, admin_ready_fn,
	    void *arg, char *err, size_t errlen);
/* The port listened on (after ":0", say), or -1. */
int	 admin_port(void);
/* Close the listener and every admin connection; admin_start() may follow. */
void	 admin_stop(void);

/* ---- the request handling, without sockets (for the tests too) ---- */

struct admin_handlers {
	admin_ready_fn	 ready;		/* NULL: always ready */
	void		*ready_arg;
	/* Append the metrics to the buffer; 0, or -1 (500). */
	int		(*metrics)(void *arg, struct metrics_buf *);
	void		*metrics_arg;
};

/*
 * The whole response (status line, headers, body) to one request, into
 * out.  status 0: req is a complete request head; else the head could
 * not be parsed and status is the error http_request_parse() gave (400,
 * 431), answered with req->why.  Returns the status of the response, or
 * -1 if it does not fit in out (out's error is set).
 */
int	 admin_respond(const struct http_request *, int status,
	    const struct admin_handlers *, struct metrics_buf *out);

#endif /* SRC_ADMIN_H */
