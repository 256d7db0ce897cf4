/*
 * ws.h -- WebSocket server (RFC 6455) on libev.
 *
 * One server owns its listeners and sessions.  Everything runs on the
 * caller's libev loop, single threaded.  Callbacks may call any
 * ws_session_* function on any session, and ws_server_shutdown(); a
 * session is never freed while a callback runs: dead sessions are freed
 * (after their closed callback) from an ev_prepare watcher before the loop
 * next sleeps.  ws_server_free() must not be called from a callback.
 *
 * ws_session_send() and ws_session_close() only queue; the bytes are
 * written when the socket is writable (next loop iteration at the latest).
 *
 * wss: with a TLS configuration (ws_server_set_tls()) every listener of
 * the server speaks TLS; a server is all TLS or all plain.  The TLS
 * handshake counts in handshake_timeout (from accept to the upgrade).
 */
#ifndef WS_WS_H
#define WS_WS_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct ntls_config;
struct ws_server;
struct ws_session;

/* Opcodes for ws_session_send() and the message callback. */
#define WS_OP_TEXT		1
#define WS_OP_BINARY		2

/* Close status codes (RFC 6455 7.4.1) that the library itself sends. */
#define WS_CLOSE_NORMAL		1000
#define WS_CLOSE_GOING_AWAY	1001	/* shutdown, idle timeout */
#define WS_CLOSE_PROTOCOL_ERROR	1002	/* also a bad close status */
#define WS_CLOSE_INVALID_DATA	1007	/* text message or close reason not UTF-8 */
#define WS_CLOSE_TOO_BIG	1009

#define WS_SEND_TIMEOUT		60	/* seconds: the default send_timeout */

struct ws_server_conf {
	size_t	max_request;		/* HTTP request head limit, default 8192 */
	size_t	max_message;		/* largest client message; over -> close 1009; default 65535 */
	size_t	max_outbound;		/* bytes queued per session before ws_session_send fails; default 8 MiB */
	double	handshake_timeout;	/* seconds, default 10 */
	double	idle_timeout;		/* seconds without any frame from the client; 0 = none; default 0 */
	double	send_timeout;		/* seconds output stays blocked without progress before the session is dropped; 0 = none; default WS_SEND_TIMEOUT */
	int	max_sessions;		/* upgraded sessions; 0 = unlimited; over -> 503 */
	size_t	read_budget;		/* octets read per session per loop iteration (fairness); default 256 KiB */
	int	max_handshakes;		/* connections not yet upgraded (TLS or HTTP stage); 0 = unlimited; over -> closed at accept */
	int	max_per_addr;		/* connections from one source IP address, any stage; 0 = unlimited; over -> closed at accept */
	int	reuse_port;		/* 1: SO_REUSEPORT, share the port with other processes; 0: binding a port in use fails */
};

struct http_request;

/* The admit callback's decision (struct ws_server_cb). */
struct ws_admit {
	int		 status;	/* 0: upgrade; else the HTTP status */
	const char	*body;		/* with a status: the body */
	const char	*extra;		/* with a status: header lines, CRLF
					   each; NULL: none */
	const char	*protocol;	/* the subprotocol to echo; NULL: the
					   first offered */
	size_t		 protocollen;
	void		*grant;		/* for ws_session_grant() */
	double		 expires;	/* close 1008 then; 0: never */
};

struct ws_server_cb {
	/* Route lookup by request path (without query string). NULL -> HTTP 404. */
	void	*(*route)(void *arg, const char *path, size_t pathlen);
	/* Called after a successful upgrade (101 sent). */
	void	 (*open)(void *arg, struct ws_session *, void *route);
	/* A complete (reassembled) data message. opcode: 1 text, 2 binary. */
	void	 (*message)(void *arg, struct ws_session *, int opcode, const uint8_t *, size_t);
	/* The session is gone; the pointer is invalid after this returns. */
	void	 (*closed)(void *arg, struct ws_session *);
	/* Optional: the outbound queue fell below half of max_outbound. */
	void	 (*drained)(void *arg, struct ws_session *);
	/*
	 * Optional: after the route, before the upgrade checks (as APISIX
	 * runs its authentication plugins before the pubsub upgrade).  Fill
	 * *a: a status other than 0 is answered (401, 403, 429, ...) with
	 * a->body and a->extra header lines; else the session opens with
	 * a->grant (ws_session_grant()), echoes a->protocol if set (one the
	 * client offered), and is closed with 1008 "credentials expired" at
	 * wall-clock time a->expires if not 0.
	 */
	void	 (*admit)(void *arg, void *route, const struct http_request *,
		    const char *peer, struct ws_admit *a);
};

void	 ws_server_conf_default(struct ws_server_conf *);
struct ws_server *ws_server_new(struct ev_loop *, const struct ws_server_conf *, const struct ws_server_cb *, void *arg);
/*
 * "host:port", "[v6]:port" or ":port"; may be called several times.
 * SO_REUSEADDR, and SO_REUSEPORT only with conf.reuse_port (else a port
 * in use fails: "127.0.0.1:9080: bind: Address already in use").
 * Returns 0 or -1 with a message in err.
 */
int	 ws_server_listen(struct ws_server *, const char *addr, char *err, size_t errlen);
/* ws_listen_split() results. */
#define WS_ADDR_OK		0
#define WS_ADDR_SYNTAX		(-1)	/* not host:port, [v6]:port or :port */
#define WS_ADDR_BARE_V6		(-2)	/* an IPv6 address without brackets */
#define WS_ADDR_PORT		(-3)	/* the port is not a number 0-65535 */
#define WS_ADDR_LONG		(-4)	/* the host does not fit in hostlen */
/*
 * Split a listen address as ws_server_listen() takes it ("host:port",
 * "[v6]:port", or ":port" for every address) into host (empty for every
 * address; brackets removed) and port.  Pure: nothing is resolved.
 */
int	 ws_listen_split(const char *addr, char *host, size_t hostlen, int *port);
/* Stop accepting; close every session with code/reason (close handshake, then drop after 2 s). */
void	 ws_server_shutdown(struct ws_server *, uint16_t code, const char *reason);
int	 ws_server_sessions(const struct ws_server *);
void	 ws_server_free(struct ws_server *);

/* ws_session_send() results. */
#define WS_SEND_OK		0
#define WS_SEND_CLOSED		(-1)	/* closing or gone: nothing to report */
#define WS_SEND_FULL		(-2)	/* would exceed max_outbound */
#define WS_SEND_NOMEM		(-3)

/*
 * Queue a message (copied). Returns WS_SEND_OK or one of the errors above;
 * nothing is queued on error.  WS_SEND_CLOSED: not open, closing (our
 * close, the peer's, or a protocol error) or dead; also for an opcode
 * other than WS_OP_TEXT or WS_OP_BINARY (a bug: logged).  WS_SEND_FULL
 * arms the drained callback.
 */
int	 ws_session_send(struct ws_session *, int opcode, const uint8_t *, size_t);
/*
 * Flow control: pause (1) stops reading the socket and delivering
 * messages; no message callback follows the call that paused, even for
 * frames already received.  Resume (0) picks up where it stopped,
 * buffered input first, from the loop (never from inside this call).
 * Output, timers and the close handshake go on while paused; the idle
 * timeout does not count paused time.  Pausing twice is pausing once.
 * A paused session does not notice that the peer went away until it is
 * resumed or closed; once closing (ws_session_close(), or a protocol
 * error) it reads again to finish the close handshake, delivering
 * nothing.
 */
void	 ws_session_pause(struct ws_session *, int pause);
size_t	 ws_session_queued(const struct ws_session *);
/* Start the close handshake with this status; no more messages are delivered. */
void	 ws_session_close(struct ws_session *, uint16_t code, const char *reason);
void	 ws_session_set_data(struct ws_session *, void *);
void	*ws_session_data(const struct ws_session *);
/* What the admit callback granted (NULL without one). */
void	*ws_session_grant(const struct ws_session *);
const char *ws_session_peer(const struct ws_session *);	/* "1.2.3.4:5678" for logs */

/*
 * Additions.
 */
/* Local port of the first listener (useful after listening on port 0), or -1. */
int	 ws_server_port(const struct ws_server *);
/*
 * Serve wss: new connections use this TLS server configuration (net/tls.h,
 * server = 1); the server takes a reference.  NULL: plain ws again.
 * Replacing it (SIGHUP reloads the certificate and key) affects new
 * connections only; live sessions keep the configuration they started
 * with.
 */
void	 ws_server_set_tls(struct ws_server *, struct ntls_config *);
/*
 * A reload: new limits and timeouts (reuse_port stays as the listeners
 * were made).  Limits apply to connections from now on; message size and
 * timeouts to open sessions too, from their next frame or deadline.
 */
void	 ws_server_reconfigure(struct ws_server *, const struct ws_server_conf *);
/*
 * ws_session_send() without the copy: the message is len octets at data,
 * inside buf (from malloc()).  On WS_SEND_OK the session owns buf and
 * frees it once the message is written, or when the session goes; on
 * any error nothing is queued and buf stays the caller's.
 */
int	 ws_session_send_take(struct ws_session *, int opcode, void *buf,
	    const uint8_t *data, size_t len);

/*
 * Statistics, for the daemon's metrics: counters since ws_server_new(),
 * and gauges as of the call.  Counting is an add on paths that run
 * anyway; ws_server_stats() walks the live sessions for `queued'.
 */
enum ws_refusal {
	WS_REFUSED_PER_ADDR = 0,	/* closed at accept: max_per_addr */
	WS_REFUSED_HANDSHAKES,		/* closed at accept: max_handshakes */
	WS_REFUSED_TLS,			/* TLS handshake failed, or plain
					   HTTP to a TLS port (400) */
	WS_REFUSED_BAD_REQUEST,		/* 400 or 431: malformed request head */
	WS_REFUSED_NO_ROUTE,		/* 404: no route for the path */
	WS_REFUSED_UPGRADE,		/* 400: not a valid WebSocket upgrade */
	WS_REFUSED_SESSIONS,		/* 503: max_sessions, or shutting down */
	WS_REFUSED_TIMEOUT,		/* no upgrade within handshake_timeout */
	WS_REFUSED_AUTH,		/* 401, 403, 429: the admit callback */
	WS_REFUSED_MAX
};

struct ws_server_stats {
	uint64_t	 accepted;	/* connections accepted (refused ones too) */
	uint64_t	 upgraded;	/* sessions opened (101 sent) */
	uint64_t	 refused[WS_REFUSED_MAX];
	uint64_t	 bytes_in;	/* octets read from clients (after TLS) */
	uint64_t	 bytes_out;	/* octets written to them (before TLS) */
	int		 sessions;	/* open now */
	int		 handshakes;	/* in the TLS or HTTP stage now */
	size_t		 queued;	/* octets queued to open sessions now */
};

void	 ws_server_stats(const struct ws_server *, struct ws_server_stats *);

#endif /* WS_WS_H */
