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

#include "net/log.h"
#include "src/bridge.h"
#include "ws/ws.h"

/* Room before the body for: sequence (1 + 10), oneof tag (2), length (5). */
#define BR_HEAD		18

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
};
TAILQ_HEAD(bridge_reqq, bridge_req);

struct bridge_session {
	struct ws_session		*ws;
	const struct bridge_route	*route;
	struct bridge_reqq		 reqs;		/* in arrival order */
	int				 nreqs;
	int				 closing;	/* we stopped answering */
	char				 peer[64];
};

static struct bridge_conf	 br_conf = { 65536, 64 };
static int			 br_nsessions;

static void	 br_flush(struct bridge_session *);
static void	 br_session_maybe_free(struct bridge_session *);

void
bridge_init(const struct bridge_conf *conf)
{
	br_conf = *conf;
	if (br_conf.max_frame < 256)
		br_conf.max_frame = 256;
	if (br_conf.max_inflight < 1)
		br_conf.max_inflight = 1;
}

int
bridge_sessions(void)
{
	return br_nsessions;
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
	TAILQ_INSERT_TAIL(&s->reqs, r, entry);
	s->nreqs++;
	return r;
}

static void
br_req_free(struct bridge_req *r)
{
	TAILQ_REMOVE(&r->s->reqs, r, entry);
	r->s->nreqs--;
	free(r->buf);
	free(r);
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
	}
	r->done = 1;
	br_flush(s);
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
			if (ws_session_send(s->ws, 2, frame, n) != 0) {
				log_warnx("pubsub: %s: outbound queue full, closing",
				    s->peer);
				ws_session_close(s->ws, 1008,
				    "client too slow: outbound queue full");
				s->closing = 1;
			}
		}
		br_req_free(r);
	}
}

/* Freed once the ws session is gone (closed callback) and nothing is pending. */
static void
br_session_maybe_free(struct bridge_session *s)
{
	if (s->ws == NULL && TAILQ_EMPTY(&s->reqs)) {
		free(s);
		br_nsessions--;
	}
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
	log_info("pubsub: %s: sequence %lld: %.*s%s", r->s->peer,
	    (long long)r->sequence, n > 300 ? 300 : n, msg, n > 300 ? "..." : "");
	br_body_start(r, TAG_ERROR);
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
	r->nrecords = 0;
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
	TAILQ_INIT(&s->reqs);
	(void)snprintf(s->peer, sizeof(s->peer), "%s", ws_session_peer(ws));
	ws_session_set_data(ws, s);
	br_nsessions++;
	log_info("pubsub: %s: connected to %s", s->peer, s->route->path);
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
	int			 c;

	(void)arg;
	if (s == NULL || s->closing)
		return;
	if (opcode != 2) {
		/* As APISIX: text frames are logged and ignored. */
		log_info("pubsub: %s: pubsub server receive non-binary data, "
		    "type: text, data: %.*s", s->peer, len > 64 ? 64 : (int)len,
		    (const char *)data);
		return;
	}
	req = pub_sub_req__unpack(NULL, len, data);
	if (req == NULL) {
		if ((r = br_req_new(s, 0)) == NULL)
			return;
		bridge_reply_error(r, BRIDGE_E_BAD_REQUEST,
		    "bad request: not a PubSubReq (%zu bytes)", len);
		return;
	}
	if ((r = br_req_new(s, req->sequence)) == NULL) {
		pub_sub_req__free_unpacked(req, NULL);
		ws_session_close(ws, 1011, "out of memory");
		s->closing = 1;
		return;
	}
	c = (int)req->req_case;
	be = s->route->backend;
	if (s->nreqs > br_conf.max_inflight) {
		bridge_reply_error(r, BRIDGE_E_BUSY, "too many requests in flight "
		    "(limit %d)", br_conf.max_inflight);
	} else if (c == PUB_SUB_REQ__REQ__NOT_SET) {
		log_info("pubsub: %s: pubsub server receives empty command",
		    s->peer);
		bridge_reply_error(r, BRIDGE_E_UNKNOWN_CMD, "unknown command");
	} else {
		if (c >= BRIDGE_CMD_MIN && c <= BRIDGE_CMD_MAX)
			h = be->handlers[c - BRIDGE_CMD_MIN];
		if (h == NULL) {
			log_info("pubsub: %s: pubsub callback handler not "
			    "registered for the command, command: %s", s->peer,
			    br_cmd_name(c));
			bridge_reply_error(r, BRIDGE_E_UNKNOWN_CMD,
			    "unknown command");
		} else
			h(s->route->backend_arg, r, req);
	}
	pub_sub_req__free_unpacked(req, NULL);
}

void
bridge_closed(void *arg, struct ws_session *ws)
{
	struct bridge_session	*s = ws_session_data(ws);
	struct bridge_req	*r, *next;

	(void)arg;
	if (s == NULL)
		return;
	log_info("pubsub: %s: disconnected", s->peer);
	s->ws = NULL;
	/* Finished answers can go; pending ones free themselves when done. */
	for (r = TAILQ_FIRST(&s->reqs); r != NULL; r = next) {
		next = TAILQ_NEXT(r, entry);
		if (r->done)
			br_req_free(r);
	}
	br_session_maybe_free(s);
}
