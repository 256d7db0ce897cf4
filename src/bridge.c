/*
 * bridge.c -- the pubsub bridge: decode PubSubReq, dispatch to the route's
 * backend, encode PubSubResp, keep responses in request order.
 *
 * Responses are encoded by hand (protobuf wire format, proto3 zero values
 * left out as APISIX does) straight into one buffer per response: a fetch
 * answer is cut at a record boundary when it would exceed the frame
 * budget, which needs exact sizes as records are added.  Requests are
 * decoded with protobuf-c.
 */
#include "config.h"

#include <sys/queue.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/bucket.h"
#include "net/log.h"
#include "net/utf8.h"
#include "src/bridge.h"
#include "ws/ws.h"

/* Room before the body for: sequence (1 + 10), oneof tag (2), length (5). */
#define BR_HEAD		18

/* An error message longer than this is cut (at a character). */
#define BR_ERRMSG_MAX	2048

/* PubSubResp oneof tags (field << 3 | 2), two-byte varints. */
#define TAG_ERROR	31
#define TAG_PONG	32
#define TAG_FETCH	33
#define TAG_LIST_OFFSET	34

struct bridge_session;

struct bridge_req {
	TAILQ_ENTRY(bridge_req)	 entry;
	struct bridge_session	*s;
	int64_t			 sequence;
	int			 done;
	int			 tag;		/* oneof field of the answer */
	uint8_t			*buf;		/* BR_HEAD + body */
	size_t			 len;		/* of buf used */
	size_t			 cap;
	int			 oom;
	int			 nrecords;
	size_t			 rbytes;	/* their keys and values */
	int			 cmd;		/* BRIDGE_STAT_*, for stats */
	int32_t			 code;		/* of an error answer */
};
TAILQ_HEAD(bridge_reqq, bridge_req);

struct bridge_session {
	LIST_ENTRY(bridge_session)	 entry;		/* br_all */
	struct ws_session		*ws;
	const struct bridge_route	*route;
	void				*grant;		/* who: the admit's */
	struct bridge_reqq		 reqs;		/* in arrival order */
	int				 nreqs;
	int				 closing;	/* we stopped answering */
	int				 paused;	/* not read: over a bound */
	size_t				 held;		/* bytes of done answers queued */
	struct bucket			 cmds;		/* max_rate */
	struct bucket			 bytes;		/* max_bytes_rate */
	double				 resume_at;	/* throttled until; 0: not */
	char				 peer[64];
};

static struct bridge_conf	 br_conf = { 65536, 64, 4u << 20, 0, NULL, 0,
    NULL };
static int			 br_nsessions;
/* Every session not yet freed: open, or closed with requests pending. */
static LIST_HEAD(, bridge_session) br_all = LIST_HEAD_INITIALIZER(br_all);
static int			 br_npaused;
static struct bridge_stats	 br_st;		/* the counters */

static void	 br_flush(struct bridge_session *);
static void	 br_stop(struct bridge_session *);
static void	 br_session_maybe_free(struct bridge_session *);
static int	 br_rate_ok(struct bridge_session *);
static void	 br_charge(struct bridge_session *, size_t);

void
bridge_init(const struct bridge_conf *conf)
{
	br_conf = *conf;
	if (br_conf.max_frame < 256)
		br_conf.max_frame = 256;
	if (br_conf.max_inflight < 1)
		br_conf.max_inflight = 1;
	if (br_conf.max_held == 0)
		br_conf.max_held = 4u << 20;
}

int
bridge_paused(void)
{
	return br_npaused;
}

int
bridge_sessions(void)
{
	return br_nsessions;
}

/* The slot of an error code in bridge_stats.errors (see bridge.h). */
static int
br_code_slot(int32_t code)
{
	if (code >= -1 && code <= 127)
		return code + 1;
	if (code >= 1000 && code <= 1015)
		return 129 + code - 1000;
	if (code >= 1100 && code <= 1115)
		return 145 + code - 1100;
	return BRIDGE_STAT_CODE_OTHER;
}

int32_t
bridge_stat_code(int i)
{
	if (i >= 0 && i < 129)
		return i - 1;
	if (i >= 129 && i < 145)
		return 1000 + i - 129;
	if (i >= 145 && i < 161)
		return 1100 + i - 145;
	return INT32_MIN;
}

void
bridge_stats(struct bridge_stats *st)
{
	const struct bridge_session	*s;

	*st = br_st;
	st->sessions = br_nsessions;
	st->paused = br_npaused;
	st->held = 0;
	LIST_FOREACH(s, &br_all, entry)
		st->held += s->held;
}

static int
br_stat_cmd(int c)
{
	switch (c) {
	case PUB_SUB_REQ__REQ_CMD_KAFKA_FETCH:
		return BRIDGE_STAT_FETCH;
	case PUB_SUB_REQ__REQ_CMD_KAFKA_LIST_OFFSET:
		return BRIDGE_STAT_LIST_OFFSET;
	case PUB_SUB_REQ__REQ_CMD_PING:
		return BRIDGE_STAT_PING;
	default:
		return BRIDGE_STAT_OTHER;
	}
}

/* ---- a tiny protobuf writer ---- */

static size_t
pb_varint_len(uint64_t v)
{
	size_t	 n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static uint8_t *
pb_put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* Make room for n more body bytes; returns where to write or NULL. */
static uint8_t *
br_room(struct bridge_req *r, size_t n)
{
	size_t	 ncap;
	uint8_t	*nb;

	if (r->oom)
		return NULL;
	if (r->len + n > r->cap) {
		ncap = r->cap ? r->cap : 256;
		while (ncap < r->len + n)
			ncap *= 2;
		/* A fetch answer stops at max_frame: no doubling past it. */
		if (ncap > BR_HEAD + br_conf.max_frame &&
		    r->len + n <= BR_HEAD + br_conf.max_frame)
			ncap = BR_HEAD + br_conf.max_frame;
		if ((nb = realloc(r->buf, ncap)) == NULL) {
			r->oom = 1;
			return NULL;
		}
		r->buf = nb;
		r->cap = ncap;
	}
	return r->buf + r->len;
}

static void
br_body_start(struct bridge_req *r, int tag)
{
	r->tag = tag;
	r->len = BR_HEAD;
	(void)br_room(r, 64);
}

/* A varint field (wire type 0); proto3 leaves zero out. */
static void
br_field_varint(struct bridge_req *r, int field, uint64_t v)
{
	uint8_t	*p;

	if (v == 0)
		return;
	if ((p = br_room(r, 11)) == NULL)
		return;
	*p++ = (uint8_t)(field << 3);
	p = pb_put_varint(p, v);
	r->len = (size_t)(p - r->buf);
}

/* A length-delimited field; empty is left out (proto3). */
static void
br_field_bytes(struct bridge_req *r, int field, const void *data, size_t n)
{
	uint8_t	*p;

	if (n == 0)
		return;
	if ((p = br_room(r, 1 + 5 + n)) == NULL)
		return;
	*p++ = (uint8_t)(field << 3 | 2);
	p = pb_put_varint(p, n);
	memcpy(p, data, n);
	r->len = (size_t)(p - r->buf) + n;
}

/*
 * Write the outer header (sequence, oneof tag, body length) right before
 * the body, in the room left for it.  Returns the frame's start.
 */
static uint8_t *
br_seal(struct bridge_req *r, size_t *framelen)
{
	uint8_t		 head[BR_HEAD], *p = head;
	size_t		 body = r->len - BR_HEAD, hlen;
	uint32_t	 tag = (uint32_t)r->tag << 3 | 2;

	if (r->sequence != 0) {
		*p++ = 0x08;
		p = pb_put_varint(p, (uint64_t)r->sequence);
	}
	p = pb_put_varint(p, tag);
	p = pb_put_varint(p, body);
	hlen = (size_t)(p - head);
	memcpy(r->buf + BR_HEAD - hlen, head, hlen);
	*framelen = hlen + body;
	return r->buf + BR_HEAD - hlen;
}

/* ---- requests and order ---- */

static struct bridge_req *
br_req_new(struct bridge_session *s, int64_t sequence)
{
	struct bridge_req	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->s = s;
	r->sequence = sequence;
	r->cmd = BRIDGE_STAT_OTHER;
	TAILQ_INSERT_TAIL(&s->reqs, r, entry);
	s->nreqs++;
	return r;
}

static void
br_req_free(struct bridge_req *r)
{
	TAILQ_REMOVE(&r->s->reqs, r, entry);
	r->s->nreqs--;
	if (r->done)
		r->s->held -= r->len;
	free(r->buf);
	free(r);
}

/*
 * Flow control (see bridge.h): stop reading a session that reached a
 * bound, read it again once it is back under both.
 */
static void
br_flow(struct bridge_session *s)
{
	int	 over;

	if (s->ws == NULL || s->closing)
		return;
	over = s->nreqs >= br_conf.max_inflight ||
	    s->held >= br_conf.max_held || s->resume_at > 0;
	if (over == s->paused)
		return;
	s->paused = over;
	br_npaused += over ? 1 : -1;
	log_debug("pubsub: %s: %s (%d requests, %zu bytes waiting)", s->peer,
	    over ? "paused" : "resumed", s->nreqs, s->held);
	ws_session_pause(s->ws, over);
}

static void
br_done(struct bridge_req *r)
{
	struct bridge_session	*s = r->s;

	if (r->oom) {
		/* Replace the answer with a short error that fits. */
		free(r->buf);
		r->buf = NULL;
		r->cap = r->len = 0;
		r->oom = 0;
		br_body_start(r, TAG_ERROR);
		br_field_varint(r, 1, BRIDGE_E_INTERNAL);
		br_field_bytes(r, 2, "out of memory", 13);
		r->code = BRIDGE_E_INTERNAL;
		r->nrecords = 0;
	}
	br_st.commands[r->cmd][r->tag == TAG_ERROR]++;
	if (r->tag == TAG_ERROR)
		br_st.errors[br_code_slot(r->code)]++;
	r->done = 1;
	s->held += r->len;
	br_flush(s);
	br_flow(s);
	br_session_maybe_free(s);
}

/* Send finished answers from the head of the queue, in order. */
static void
br_flush(struct bridge_session *s)
{
	struct bridge_req	*r;
	uint8_t			*frame;
	size_t			 n;

	while ((r = TAILQ_FIRST(&s->reqs)) != NULL && r->done) {
		if (!s->closing && s->ws != NULL && r->buf != NULL) {
			frame = br_seal(r, &n);
			/* The encoded answer itself goes out: no copy. */
			switch (ws_session_send_take(s->ws, 2, r->buf, frame, n)) {
			case WS_SEND_OK:
				r->buf = NULL;
				if (r->tag == TAG_FETCH) {
					br_st.records += (uint64_t)r->nrecords;
					br_st.record_bytes += r->rbytes;
				}
				br_charge(s, n);
				break;
			case WS_SEND_FULL:
				log_client(LOG_LVL_WARN, "pubsub: %s: outbound "
				    "queue full, closing", s->peer);
				ws_session_close(s->ws, 1008,
				    "client too slow: outbound queue full");
				br_stop(s);
				break;
			case WS_SEND_CLOSED:
				/* Closing already (drain, a close frame). */
				br_stop(s);
				break;
			default:
				log_warnx("pubsub: %s: out of memory, closing",
				    s->peer);
				ws_session_close(s->ws, 1011, "out of memory");
				br_stop(s);
				break;
			}
		}
		br_req_free(r);
	}
}

/* We stopped answering this session: it is closing. */
static void
br_stop(struct bridge_session *s)
{
	s->closing = 1;
	if (s->paused) {
		s->paused = 0;
		br_npaused--;
	}
}

/* Freed once the ws session is gone (closed callback) and nothing is pending. */
static void
br_session_maybe_free(struct bridge_session *s)
{
	if (s->ws == NULL && TAILQ_EMPTY(&s->reqs)) {
		LIST_REMOVE(s, entry);
		free(s);
		br_nsessions--;
	}
}

void
bridge_remap(bridge_remap_fn fn, void *arg)
{
	struct bridge_session		*s;
	const struct bridge_route	*nr;

	LIST_FOREACH(s, &br_all, entry) {
		if ((nr = fn(arg, s->route, &s->grant, s->ws != NULL &&
		    !s->closing)) != NULL) {
			s->route = nr;
			continue;
		}
		if (s->ws != NULL && !s->closing) {
			log_client(LOG_LVL_INFO, "pubsub: %s: route %s removed "
			    "or changed: closing", s->peer, s->route->path);
			ws_session_close(s->ws, WS_CLOSE_GOING_AWAY,
			    "route reconfigured");
		}
	}
}

int
bridge_route_in_use(int (*fn)(void *, const struct bridge_route *), void *arg)
{
	struct bridge_session	*s;

	LIST_FOREACH(s, &br_all, entry)
		if (fn(arg, s->route))
			return 1;
	return 0;
}

const struct bridge_route *
bridge_req_route(const struct bridge_req *r)
{
	return r->s->route;
}

void *
bridge_req_grant(const struct bridge_req *r)
{
	return r->s->grant;
}

void *
bridge_session_grant(const struct ws_session *ws)
{
	const struct bridge_session	*s = ws_session_data(ws);

	return s != NULL ? s->grant : NULL;
}

int
bridge_req_gone(const struct bridge_req *r)
{
	return r->s->closing || r->s->ws == NULL;
}

const char *
bridge_req_peer(const struct bridge_req *r)
{
	return r->s->peer;
}

/*
 * The length of the longest prefix of s[0..n) that does not end inside a
 * UTF-8 character.
 */
static size_t
br_utf8_cut(const char *s, size_t n)
{
	size_t	 lead = n, need;
	uint8_t	 c;

	while (lead > 0 && ((uint8_t)s[lead - 1] & 0xc0) == 0x80 && n - lead < 3)
		lead--;
	if (lead == 0)
		return n;
	c = (uint8_t)s[lead - 1];
	if (c < 0x80)
		return n;
	need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	return lead - 1 + need <= n ? n : lead - 1;
}

const char *
bridge_quote(char *dst, size_t dstlen, const char *str, size_t len)
{
	size_t	 i, n;
	int	 plain;

	plain = utf8_valid(str, len);
	for (i = 0; plain && i < len; i++)
		if ((uint8_t)str[i] < 0x20 || str[i] == 0x7f)
			plain = 0;
	if (!plain)
		return log_escape(dst, dstlen < BRIDGE_QUOTE_MAX + 4 ? dstlen :
		    BRIDGE_QUOTE_MAX + 4, str, len);
	n = len;
	if (n > BRIDGE_QUOTE_MAX || n + 1 > dstlen) {
		n = BRIDGE_QUOTE_MAX < dstlen - 4 ? BRIDGE_QUOTE_MAX : dstlen - 4;
		n = br_utf8_cut(str, n);
		memcpy(dst, str, n);
		memcpy(dst + n, "...", 4);
		return dst;
	}
	memcpy(dst, str, n);
	dst[n] = '\0';
	return dst;
}

void
bridge_reply_error(struct bridge_req *r, int32_t code, const char *fmt, ...)
{
	char	 small[512], *msg = small;
	va_list	 ap;
	int	 n;

	/* Sized to fit: a topic name alone may be 64 KiB long. */
	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		n = 0;
		small[0] = '\0';
	} else if ((size_t)n >= sizeof(small)) {
		if ((msg = malloc((size_t)n + 1)) == NULL) {
			msg = small;
			n = (int)br_utf8_cut(small, sizeof(small) - 1);
			small[n] = '\0';
		} else {
			va_start(ap, fmt);
			(void)vsnprintf(msg, (size_t)n + 1, fmt, ap);
			va_end(ap);
		}
	}
	/*
	 * error_resp.message is a protobuf string: it must be valid UTF-8
	 * (a broker's or a library's text may not be), and it is bounded.
	 */
	if (!utf8_valid(msg, (size_t)n)) {
		char	*esc;
		size_t	 elen = (size_t)n * 4 + 4;

		if (elen > BR_ERRMSG_MAX + 4)
			elen = BR_ERRMSG_MAX + 4;
		if ((esc = malloc(elen)) != NULL) {
			(void)log_escape(esc, elen, msg, (size_t)n);
			if (msg != small)
				free(msg);
			msg = esc;
			n = (int)strlen(msg);
		} else {
			n = 0;
		}
	}
	if ((size_t)n > BR_ERRMSG_MAX) {
		n = (int)br_utf8_cut(msg, BR_ERRMSG_MAX - 3);
		memcpy(msg + n, "...", 3);
		n += 3;
	}
	{
		char	 lbuf[512];

		log_client(LOG_LVL_INFO, "pubsub: %s: sequence %lld: %s",
		    r->s->peer, (long long)r->sequence,
		    log_escape(lbuf, sizeof(lbuf), msg, (size_t)n));
	}
	br_body_start(r, TAG_ERROR);
	r->code = code;
	br_field_varint(r, 1, (uint64_t)(int64_t)code);
	br_field_bytes(r, 2, msg, (size_t)n);
	if (msg != small)
		free(msg);
	br_done(r);
}

void
bridge_reply_pong(struct bridge_req *r, const uint8_t *state, size_t n)
{
	br_body_start(r, TAG_PONG);
	br_field_bytes(r, 1, state, n);
	br_done(r);
}

void
bridge_reply_list_offset(struct bridge_req *r, int64_t offset)
{
	br_body_start(r, TAG_LIST_OFFSET);
	br_field_varint(r, 1, (uint64_t)offset);
	br_done(r);
}

int
bridge_fetch_begin(struct bridge_req *r)
{
	br_body_start(r, TAG_FETCH);
	/* Most answers hold several records: skip the smallest sizes. */
	(void)br_room(r, 4096 - BR_HEAD);
	r->nrecords = 0;
	r->rbytes = 0;
	return r->oom ? -1 : 0;
}

static size_t
br_bytes_field_len(size_t n)
{
	return n ? 1 + pb_varint_len(n) + n : 0;
}

static size_t
br_varint_field_len(uint64_t v)
{
	return v ? 1 + pb_varint_len(v) : 0;
}

int
bridge_fetch_add(struct bridge_req *r, int64_t offset, int64_t timestamp,
    const uint8_t *key, int32_t keylen, const uint8_t *value, int32_t valuelen)
{
	size_t	 klen = keylen > 0 ? (size_t)keylen : 0;
	size_t	 vlen = valuelen > 0 ? (size_t)valuelen : 0;
	size_t	 inner, total;
	uint8_t	*p;

	inner = br_varint_field_len((uint64_t)offset) +
	    br_varint_field_len((uint64_t)timestamp) +
	    br_bytes_field_len(klen) + br_bytes_field_len(vlen);
	total = 1 + pb_varint_len(inner) + inner;
	/* The first record always goes, so a client can always progress. */
	if (r->nrecords > 0 && r->len - BR_HEAD + total + BR_HEAD > br_conf.max_frame)
		return -1;
	if ((p = br_room(r, total)) == NULL)
		return -1;
	*p++ = 1 << 3 | 2;			/* messages = 1 */
	p = pb_put_varint(p, inner);
	r->len = (size_t)(p - r->buf);
	br_field_varint(r, 1, (uint64_t)offset);
	br_field_varint(r, 2, (uint64_t)timestamp);
	br_field_bytes(r, 3, key, klen);
	br_field_bytes(r, 4, value, vlen);
	r->nrecords++;
	r->rbytes += klen + vlen;
	return 0;
}

void
bridge_fetch_end(struct bridge_req *r)
{
	br_done(r);
}

/* ---- built-in handlers ---- */

void
bridge_handle_ping(void *backend, struct bridge_req *r, const PubSubReq *req)
{
	(void)backend;
	bridge_reply_pong(r, req->cmd_ping->state.data, req->cmd_ping->state.len);
}

static const char *
br_cmd_name(int c)
{
	switch (c) {
	case PUB_SUB_REQ__REQ_CMD_EMPTY:
		return "cmd_empty";
	case PUB_SUB_REQ__REQ_CMD_PING:
		return "cmd_ping";
	case PUB_SUB_REQ__REQ_CMD_KAFKA_FETCH:
		return "cmd_kafka_fetch";
	case PUB_SUB_REQ__REQ_CMD_KAFKA_LIST_OFFSET:
		return "cmd_kafka_list_offset";
	default:
		return "none";
	}
}

/* ---- wire checks before protobuf-c sees a request ---- */

/* A varint at *p (bounded by end); -1 if malformed. */
static int
br_wire_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	int	 shift;

	*v = 0;
	for (shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t	 b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0)
			return 0;
	}
	return -1;
}

/*
 * Walk one message's fields; for a length-delimited field call fn(field,
 * bytes, len, arg).  Returns 0, or -1 at malformed wire data (left to
 * protobuf-c to reject with its own answer).
 */
static int
br_wire_walk(const uint8_t *p, size_t n,
    const char *(*fn)(uint64_t, const uint8_t *, size_t, void *), void *arg,
    const char **why)
{
	const uint8_t	*end = p + n;
	uint64_t	 key, v;

	while (p < end && *why == NULL) {
		if (br_wire_varint(&p, end, &key) != 0)
			return -1;
		switch (key & 7) {
		case 0:
			if (br_wire_varint(&p, end, &v) != 0)
				return -1;
			break;
		case 1:
			if (end - p < 8)
				return -1;
			p += 8;
			break;
		case 5:
			if (end - p < 4)
				return -1;
			p += 4;
			break;
		case 2:
			if (br_wire_varint(&p, end, &v) != 0 ||
			    v > (uint64_t)(end - p))
				return -1;
			*why = fn(key >> 3, p, (size_t)v, arg);
			p += v;
			break;
		default:
			return -1;
		}
	}
	return 0;
}

/* In a command: field 1 is the topic (a string) in both Kafka commands. */
static const char *
br_check_cmd_field(uint64_t field, const uint8_t *p, size_t n, void *arg)
{
	(void)arg;
	if (field != 1)
		return NULL;
	if (memchr(p, '\0', n) != NULL)
		return "topic contains a NUL byte";
	if (!utf8_valid(p, n))
		return "topic is not valid UTF-8";
	return NULL;
}

/* The command the request ends up with: the oneof field seen last. */
static const char *
br_last_cmd(uint64_t field, const uint8_t *p, size_t n, void *arg)
{
	uint64_t	*last = arg;

	(void)p;
	(void)n;
	if (field >= BRIDGE_CMD_MIN && field <= BRIDGE_CMD_MAX)
		*last = field;
	return NULL;
}

static const char *
br_check_req_field(uint64_t field, const uint8_t *p, size_t n, void *arg)
{
	const uint64_t	*cmd = arg;
	const char	*why = NULL;

	if (field == *cmd && (field == PUB_SUB_REQ__REQ_CMD_KAFKA_FETCH ||
	    field == PUB_SUB_REQ__REQ_CMD_KAFKA_LIST_OFFSET))
		(void)br_wire_walk(p, n, br_check_cmd_field, NULL, &why);
	return why;
}

/*
 * Why the request's strings are unusable, or NULL if they are fine.  Only
 * the command protobuf-c keeps is checked (a oneof: the last one seen),
 * every occurrence of it (occurrences of a message field merge).
 */
static const char *
br_check_strings(const uint8_t *p, size_t n)
{
	const char	*why = NULL;
	uint64_t	 cmd = 0;

	(void)br_wire_walk(p, n, br_last_cmd, &cmd, &why);
	if (cmd != 0)
		(void)br_wire_walk(p, n, br_check_req_field, &cmd, &why);
	return why;
}

/* ---- ws callbacks ---- */

void
bridge_open(void *arg, struct ws_session *ws, void *route)
{
	struct bridge_session	*s;

	(void)arg;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		ws_session_close(ws, 1011, "out of memory");
		return;
	}
	s->ws = ws;
	s->route = route;
	s->grant = ws_session_grant(ws);
	TAILQ_INIT(&s->reqs);
	(void)snprintf(s->peer, sizeof(s->peer), "%s", ws_session_peer(ws));
	ws_session_set_data(ws, s);
	LIST_INSERT_HEAD(&br_all, s, entry);
	br_nsessions++;
	log_client(LOG_LVL_INFO, "pubsub: %s: connected to %s", s->peer,
	    s->route->path);
}

void
bridge_message(void *arg, struct ws_session *ws, int opcode,
    const uint8_t *data, size_t len)
{
	struct bridge_session	*s = ws_session_data(ws);
	const struct bridge_backend *be;
	struct bridge_req	*r;
	PubSubReq		*req;
	bridge_handler		 h = NULL;
	const char		*why;
	int			 c;

	(void)arg;
	if (s == NULL || s->closing)
		return;
	if (opcode != 2) {
		char	 esc[BRIDGE_QUOTE_MAX * 4 + 4];

		/* As APISIX: text frames are logged and ignored. */
		log_client(LOG_LVL_INFO, "pubsub: %s: pubsub server receive "
		    "non-binary data, type: text, data: %s", s->peer,
		    log_escape(esc, sizeof(esc), data,
		    len > BRIDGE_QUOTE_MAX ? BRIDGE_QUOTE_MAX + 1 : len));
		return;
	}
	req = pub_sub_req__unpack(NULL, len, data);
	if (req == NULL) {
		if ((r = br_req_new(s, 0)) == NULL)
			return;
		bridge_reply_error(r, BRIDGE_E_BAD_REQUEST,
		    "bad request: not a PubSubReq (%zu bytes)", len);
		br_flow(s);
		return;
	}
	if ((r = br_req_new(s, req->sequence)) == NULL) {
		pub_sub_req__free_unpacked(req, NULL);
		ws_session_close(ws, 1011, "out of memory");
		br_stop(s);
		return;
	}
	r->cmd = br_stat_cmd((int)req->req_case);
	/*
	 * protobuf-c hands strings over NUL-terminated and does not check
	 * UTF-8: "t\0x" would read as "t".  Check the wire bytes before
	 * anything uses them.
	 */
	if ((why = br_check_strings(data, len)) != NULL) {
		bridge_reply_error(r, BRIDGE_E_BAD_REQUEST, "bad request: %s",
		    why);
		pub_sub_req__free_unpacked(req, NULL);
		br_flow(s);
		return;
	}
	c = (int)req->req_case;
	be = s->route->backend;
	if (s->nreqs > br_conf.max_inflight) {
		bridge_reply_error(r, BRIDGE_E_BUSY, "too many requests in flight "
		    "(limit %d)", br_conf.max_inflight);
	} else if (!br_rate_ok(s)) {
		bridge_reply_error(r, BRIDGE_E_RATE, "too many commands (limit "
		    "%g a second)", br_conf.max_rate);
	} else if (c == PUB_SUB_REQ__REQ__NOT_SET) {
		log_client(LOG_LVL_INFO, "pubsub: %s: pubsub server receives "
		    "empty command", s->peer);
		bridge_reply_error(r, BRIDGE_E_UNKNOWN_CMD, "unknown command");
	} else {
		if (c >= BRIDGE_CMD_MIN && c <= BRIDGE_CMD_MAX)
			h = be->handlers[c - BRIDGE_CMD_MIN];
		if (h == NULL) {
			log_client(LOG_LVL_INFO, "pubsub: %s: pubsub callback handler not "
			    "registered for the command, command: %s", s->peer,
			    br_cmd_name(c));
			bridge_reply_error(r, BRIDGE_E_UNKNOWN_CMD,
			    "unknown command");
		} else
			h(s->route->backend_arg, r, req);
	}
	pub_sub_req__free_unpacked(req, NULL);
	br_flow(s);
}

/*
 * max_bytes_rate: answers are paid for in a bucket as big as a second's
 * worth (at least one frame).  In debt, the session is not read until the
 * debt is paid off: its client's requests wait in TCP, nothing is lost or
 * refused.
 */
static void
br_charge(struct bridge_session *s, size_t n)
{
	double	 now, cap, rate = br_conf.max_bytes_rate;

	if (rate <= 0 || br_conf.now == NULL)
		return;
	now = br_conf.now();
	cap = rate < (double)br_conf.max_frame ? (double)br_conf.max_frame :
	    rate;
	(void)bucket_fill(&s->bytes, now, rate, cap);
	s->bytes.tokens -= (double)n;
	if (s->bytes.tokens >= 0 || s->resume_at > 0)
		return;
	s->resume_at = now + -s->bytes.tokens / rate;
	if (br_conf.wake_at != NULL)
		br_conf.wake_at(s->resume_at);
}

double
bridge_tick(double now)
{
	struct bridge_session	*s, *next;
	double			 due = 0;

	for (s = LIST_FIRST(&br_all); s != NULL; s = next) {
		next = LIST_NEXT(s, entry);
		if (s->resume_at == 0)
			continue;
		if (s->resume_at > now) {
			if (due == 0 || s->resume_at < due)
				due = s->resume_at;
			continue;
		}
		s->resume_at = 0;
		br_flow(s);
	}
	return due;
}

/*
 * max_rate: a token bucket per session, as big as a second's worth (at
 * least one command).  0 if this command is over the rate.
 */
static int
br_rate_ok(struct bridge_session *s)
{
	double	 now, cap;

	if (br_conf.max_rate <= 0 || br_conf.now == NULL)
		return 1;
	now = br_conf.now();
	cap = br_conf.max_rate < 1 ? 1 : br_conf.max_rate;
	if (bucket_fill(&s->cmds, now, br_conf.max_rate, cap) < 1)
		return 0;
	s->cmds.tokens -= 1;
	return 1;
}

void
bridge_closed(void *arg, struct ws_session *ws)
{
	struct bridge_session	*s = ws_session_data(ws);
	struct bridge_req	*r, *next;

	(void)arg;
	if (s == NULL)
		return;
	log_client(LOG_LVL_INFO, "pubsub: %s: disconnected", s->peer);
	if (s->paused) {
		s->paused = 0;
		br_npaused--;
	}
	s->ws = NULL;
	/* Finished answers can go; pending ones free themselves when done. */
	for (r = TAILQ_FIRST(&s->reqs); r != NULL; r = next) {
		next = TAILQ_NEXT(r, entry);
		if (r->done)
			br_req_free(r);
	}
	br_session_maybe_free(s);
}
