/*
 * resolve.h -- host names resolved off the event loop.
 *
 * getaddrinfo() blocks for as long as the DNS server takes (seconds, when
 * it does not answer).  A resolver runs it in one worker thread and hands
 * the answer back on the caller's libev loop through an ev_async, so a slow
 * name server stalls the brokers that wait for their address, never the
 * loop, the WebSocket clients or the other brokers.
 *
 * What goes in: a host, a numeric port, a callback.  What comes out: the
 * callback, exactly once, on the loop, never from inside nres_lookup();
 * it owns the addrinfo list (freeaddrinfo()) when err is 0.  A cancelled
 * query's callback is never called.  Queries are answered in order; the
 * thread is started at the first lookup.
 */
#ifndef NET_RESOLVE_H
#define NET_RESOLVE_H

struct addrinfo;
struct ev_loop;
struct nres;
struct nres_query;

/* err: 0, or a getaddrinfo() EAI_* code (gai_strerror() says what). */
typedef void	(*nres_cb)(void *arg, int err, struct addrinfo *);

struct nres	*nres_new(struct ev_loop *);
/*
 * Cancels every query.  A lookup still running in the thread finishes
 * there and is freed by the thread, which then exits; nothing waits for it.
 */
void		 nres_free(struct nres *);
/* NULL if out of memory. host and port are copied. */
struct nres_query *nres_lookup(struct nres *, const char *host, int port,
		    nres_cb, void *arg);
void		 nres_cancel(struct nres_query *);

#endif /* NET_RESOLVE_H */
