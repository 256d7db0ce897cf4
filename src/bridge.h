/*
 * bridge.h -- the pubsub bridge: WebSocket sessions speaking APISIX's
 * PubSubReq/PubSubResp, dispatched to a backend's handler table.
 *
 * The bridge owns decoding, `sequence`, response order and errors.  A
 * backend (Kafka today) registers one handler per command; a handler
 * answers its request now or later through the bridge_reply_*() calls,
 * exactly once.  Responses leave in request order whatever order the
 * handlers finish in.  See docs/backends.md.
 */
#ifndef SRC_BRIDGE_H
#define SRC_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/pubsub.pb-c.h"

struct ws_session;
struct bridge_req;
struct bridge_route;

/* Gateway error codes in error_resp.code (Kafka's own codes are < 1000). */
#define BRIDGE_E_UNREACHABLE	1001	/* no broker could be reached */
#define BRIDGE_E_TIMEOUT	1002	/* the backend did not answer in time */
#define BRIDGE_E_PROTOCOL	1003	/* malformed or unsupported backend answer */
#define BRIDGE_E_CORRUPT	1004	/* records failed CRC or could not be decoded */
#define BRIDGE_E_SHUTDOWN	1005	/* the gateway is stopping */
#define BRIDGE_E_UNKNOWN_CMD	1100	/* no command, or none this route handles */
#define BRIDGE_E_BAD_REQUEST	1101	/* the frame is not a PubSubReq */
#define BRIDGE_E_BUSY		1102	/* too many requests in flight */
#define BRIDGE_E_INTERNAL	1103	/* out of memory and the like */
#define BRIDGE_E_INVALID_ARG	1104	/* a field's value is out of range */
#define BRIDGE_E_RATE		1105	/* over the commands per second */

/* Client strings quoted in an error message are cut to this many octets. */
#define BRIDGE_QUOTE_MAX	64

/* One handler per command; the number of PubSubReq's oneof case. */
typedef void	(*bridge_handler)(void *backend, struct bridge_req *,
		    const PubSubReq *);

#define BRIDGE_CMD_MIN	31
#define BRIDGE_CMD_MAX	34

struct bridge_backend {
	const char	*scheme;		/* "kafka" */
	bridge_handler	 handlers[BRIDGE_CMD_MAX - BRIDGE_CMD_MIN + 1];
};

/*
 * Flow control: a session's requests (pending, and answered but waiting
 * behind an earlier one to keep the order) count against max_inflight,
 * and the answers waiting so against max_held bytes.  A session that
 * reaches either bound is not read (ws_session_pause()) until it is back
 * under both; so a client cannot queue without bound behind a request the
 * backend is slow to answer.
 */
struct bridge_conf {
	size_t		 max_frame;	/* response budget in bytes (fetch cut) */
	int		 max_inflight;	/* requests per session */
	size_t		 max_held;	/* answered bytes waiting for order; 0 = 4 MiB */
	double		 max_rate;	/* commands per second per session, a
					   second's worth at once; 0: any */
	double		(*now)(void);	/* the clock, for the rates */
	double		 max_bytes_rate; /* answer bytes per second per
					   session; over it the session is not
					   read until it is back under; 0: any */
	void		(*wake_at)(double at); /* call bridge_tick() then */
};

struct bridge_route {
	const char			*path;
	const struct bridge_backend	*backend;
	void				*backend_arg;	/* e.g. a kcluster */
	const char			*name;		/* for logs */
};

void	 bridge_init(const struct bridge_conf *);
/* ws_server callbacks. */
void	 bridge_open(void *, struct ws_session *, void *route);
void	 bridge_message(void *, struct ws_session *, int opcode,
	    const uint8_t *, size_t);
void	 bridge_closed(void *, struct ws_session *);
int	 bridge_sessions(void);
/*
 * max_bytes_rate: resume the sessions whose answers are paid for by now;
 * returns when the next is due (0: none waits).
 */
double	 bridge_tick(double now);
/*
 * Reload: each session's route goes through fn, which returns the route
 * to use from now on (the same backend), or NULL: the route is gone or
 * changed, and an open session is closed with 1001.  fn may also change
 * *grant (the session's consumer); open says whether the session is
 * open.  Closed sessions with requests pending keep their route until
 * those are done.
 */
typedef const struct bridge_route *(*bridge_remap_fn)(void *,
	    const struct bridge_route *, void **grant, int open);
void	 bridge_remap(bridge_remap_fn, void *);
/* 1 if any session (open, or closed with requests pending) has a route
   for which fn returns 1. */
int	 bridge_route_in_use(int (*fn)(void *, const struct bridge_route *),
	    void *);
/* Sessions not read right now because they reached a bound. */
int	 bridge_paused(void);

/*
 * Statistics, for the daemon's metrics: counters since the start, and
 * gauges as of the call.  Commands are counted when answered, by kind
 * and outcome (an error_resp is an error); error answers also by code:
 * Kafka's own (-1 to 127) one by one, the gateway's (1000 to 1015, 1100
 * to 1115) one by one, anything else together (BRIDGE_STAT_CODE_OTHER).
 * Records and their bytes (key and value) count when a fetch answer is
 * queued to the client.
 */
#define BRIDGE_STAT_FETCH	0
#define BRIDGE_STAT_LIST_OFFSET	1
#define BRIDGE_STAT_PING	2
#define BRIDGE_STAT_OTHER	3	/* empty, unknown, not a PubSubReq */
#define BRIDGE_STAT_NCMD	4
#define BRIDGE_STAT_NCODE	(129 + 16 + 16 + 1)
#define BRIDGE_STAT_CODE_OTHER	(BRIDGE_STAT_NCODE - 1)

struct bridge_stats {
	uint64_t	 commands[BRIDGE_STAT_NCMD][2];	/* [kind][0 ok, 1 error] */
	uint64_t	 errors[BRIDGE_STAT_NCODE];	/* by bridge_stat_code() */
	uint64_t	 records;	/* records in answers queued to clients */
	uint64_t	 record_bytes;	/* their key and value octets */
	int		 sessions;	/* bridge_sessions() */
	int		 paused;	/* bridge_paused() */
	size_t		 held;		/* answered bytes waiting for order */
};

void	 bridge_stats(struct bridge_stats *);
/* The code counted in errors[i]; INT32_MIN for BRIDGE_STAT_CODE_OTHER. */
int32_t	 bridge_stat_code(int i);

/* Answers: call exactly one of these per request. */
void	 bridge_reply_error(struct bridge_req *, int32_t code, const char *fmt, ...)
	    __attribute__((__format__(__printf__, 3, 4)));
void	 bridge_reply_pong(struct bridge_req *, const uint8_t *, size_t);
void	 bridge_reply_list_offset(struct bridge_req *, int64_t offset);
/*
 * A fetch answer is built record by record: begin, add while it returns
 * 0 (-1 = the frame budget is full, the record was not added; the first
 * record is always added), then end.
 */
int	 bridge_fetch_begin(struct bridge_req *);
int	 bridge_fetch_add(struct bridge_req *, int64_t offset, int64_t timestamp,
	    const uint8_t *key, int32_t keylen, const uint8_t *value,
	    int32_t valuelen);
void	 bridge_fetch_end(struct bridge_req *);
/*
 * A client string for an error message: valid UTF-8 without NUL or control
 * characters as is, anything else escaped (\xNN), cut to BRIDGE_QUOTE_MAX
 * octets with "..." at the end.  Returns dst.
 */
const char *bridge_quote(char *dst, size_t dstlen, const char *, size_t len);
/* 1 if the client went away: the handler may skip work, but must reply. */
int	 bridge_req_gone(const struct bridge_req *);
/* The request's route, and who its session is (ws_session_grant()). */
const struct bridge_route *bridge_req_route(const struct bridge_req *);
void	*bridge_req_grant(const struct bridge_req *);
/* The session's grant as the bridge keeps it (a reload may change it). */
void	*bridge_session_grant(const struct ws_session *);
const char *bridge_req_peer(const struct bridge_req *);

/* The built-in handlers every backend may use. */
void	 bridge_handle_ping(void *, struct bridge_req *, const PubSubReq *);

#endif /* SRC_BRIDGE_H */
