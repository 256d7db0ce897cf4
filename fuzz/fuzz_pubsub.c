/*
 * fuzz_pubsub.c -- libFuzzer target: one binary WebSocket message to the
 * pubsub bridge (src/bridge.c), as tests/check_bridge.c drives it: a fake
 * ws_session records the frames the bridge sends, a test backend answers
 * from the request's own fields.
 *
 * The input is the message, nothing else, so any PubSubReq is a seed.
 * Besides the sanitizers' checks:
 * - every frame sent must decode as a PubSubResp with protobuf-c (an
 *   encoder independent of the bridge's hand-written one);
 * - a message that is not a PubSubReq gets exactly one error (1101) with
 *   sequence 0; a PubSubReq gets exactly one answer carrying its sequence,
 *   of the kind its command calls for, with the backend's data intact;
 * - the same bytes as a text message get no answer;
 * - after bridge_closed() no session is left (ASan checks the leaks).
 *
 * The test backend, chosen so that the request steers it:
 *   cmd_ping               the bridge's own handler (echo);
 *   cmd_kafka_fetch        partition < 0: an error naming the topic;
 *                          else partition % 17 records from offset, key =
 *                          topic on odd records, value offset % 4096 octets,
 *                          in a 4096-octet frame budget (cut at a record);
 *   cmd_kafka_list_offset  answered after bridge_message() returns; odd
 *                          partition: the client goes away first (no frame);
 *                          odd timestamp: an error, code timestamp >> 1;
 *                          else the offset is the timestamp;
 *   cmd_empty, others      no handler: "unknown command".
 * A request with sequence -1 finds the outbound queue full.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/log.h"
#include "src/bridge.h"
#include "ws/ws.h"

#define FUZZ_MAX_FRAME	4096
#define FUZZ_MAX_SENT	4
#define FUZZ_FULL_SEQ	(-1)	/* this sequence finds the queue full */

int		 LLVMFuzzerInitialize(int *, char ***);
int		 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* ---- a fake ws_session: records what the bridge sends ---- */

struct ws_session {
	void		*data;
	uint8_t		*sent[FUZZ_MAX_SENT];
	size_t		 sentlen[FUZZ_MAX_SENT];
	int		 nsent;
	int		 full;		/* ws_session_send() fails */
	int		 closed;
	int		 paused;
	uint16_t	 close_code;
};

int
ws_session_send(struct ws_session *s, int opcode, const uint8_t *p, size_t n)
{
	if (opcode != WS_OP_BINARY || s->nsent >= FUZZ_MAX_SENT || s->closed)
		abort();
	if (s->full)
		return WS_SEND_FULL;
	if ((s->sent[s->nsent] = malloc(n ? n : 1)) == NULL)
		abort();
	memcpy(s->sent[s->nsent], p, n);
	s->sentlen[s->nsent++] = n;
	return 0;
}

int
ws_session_send_take(struct ws_session *s, int opcode, void *buf,
    const uint8_t *data, size_t len)
{
	int	 rc = ws_session_send(s, opcode, data, len);

	if (rc == WS_SEND_OK)
		free(buf);	/* the session owns it now */
	return rc;
}

void
ws_session_pause(struct ws_session *s, int pause)
{
	s->paused = pause;
}

void
ws_session_close(struct ws_session *s, uint16_t code, const char *reason)
{
	(void)reason;
	s->closed = 1;
	s->close_code = code;
}

void
ws_session_set_data(struct ws_session *s, void *d)
{
	s->data = d;
}

void *
ws_session_data(const struct ws_session *s)
{
	return s->data;
}

const char *
ws_session_peer(const struct ws_session *s)
{
	(void)s;
	return "fuzz:1";
}

void *
ws_session_grant(const struct ws_session *s)
{
	(void)s;
	return NULL;
}

/* ---- the test backend ---- */

static struct bridge_req	*deferred;

static void
t_fetch(void *be, struct bridge_req *r, const PubSubReq *req)
{
	const CmdKafkaFetch	*f = req->cmd_kafka_fetch;
	static uint8_t		 value[4096];
	const char		*topic = f->topic != NULL ? f->topic : "";
	size_t			 vlen, i, n;

	(void)be;
	if (bridge_req_gone(r) || bridge_req_peer(r) == NULL)
		abort();
	if (f->partition < 0) {
		bridge_reply_error(r, 3, "failed to fetch, topic: %s, partition: "
		    "%d, err: %s", topic, f->partition, "UNKNOWN_TOPIC_OR_PARTITION");
		return;
	}
	n = (size_t)f->partition % 17;
	vlen = (size_t)((uint64_t)f->offset % sizeof(value));
	memset(value, 'v', vlen);
	if (bridge_fetch_begin(r) != 0)
		abort();
	for (i = 0; i < n; i++) {
		if (vlen > 0)
			value[0] = (uint8_t)i;
		if (bridge_fetch_add(r, (int64_t)((uint64_t)f->offset + i),
		    (int64_t)((uint64_t)f->offset * 3 + i),
		    i % 2 ? (const uint8_t *)topic : NULL,
		    i % 2 ? (int32_t)strlen(topic) : -1, value,
		    (int32_t)vlen) != 0)
			break;
	}
	bridge_fetch_end(r);
}

static void
t_list_offset(void *be, struct bridge_req *r, const PubSubReq *req)
{
	(void)be;
	(void)req;
	if (deferred != NULL)
		abort();
	deferred = r;
}

static const struct bridge_backend t_backend = {
	"fuzz",
	{ NULL, bridge_handle_ping, t_fetch, t_list_offset }
};

static struct bridge_route	 t_route = { "/fuzz", &t_backend, NULL, "/fuzz" };

/* ---- checks ---- */

static void
check_fetch(const PubSubReq *req, const PubSubResp *resp, size_t framelen)
{
	const CmdKafkaFetch	*f = req->cmd_kafka_fetch;
	const KafkaFetchResp	*fr;
	const KafkaMessage	*m;
	const char		*topic = f->topic != NULL ? f->topic : "";
	size_t			 n, i, vlen, tlen = strlen(topic);

	if (f->partition < 0) {
		if (resp->resp_case != PUB_SUB_RESP__RESP_ERROR_RESP ||
		    resp->error_resp->code != 3 ||
		    strstr(resp->error_resp->message, "UNKNOWN_TOPIC") == NULL)
			abort();
		return;
	}
	if (resp->resp_case != PUB_SUB_RESP__RESP_KAFKA_FETCH_RESP)
		abort();
	fr = resp->kafka_fetch_resp;
	n = (size_t)f->partition % 17;
	vlen = (size_t)((uint64_t)f->offset % 4096);
	/* The first record always goes; the others only within the budget. */
	if (fr->n_messages > n || (n > 0 && fr->n_messages == 0))
		abort();
	if (fr->n_messages > 1 && framelen > FUZZ_MAX_FRAME)
		abort();
	for (i = 0; i < fr->n_messages; i++) {
		m = fr->messages[i];
		if (m->offset != (int64_t)((uint64_t)f->offset + i) ||
		    m->timestamp != (int64_t)((uint64_t)f->offset * 3 + i) ||
		    m->key.len != (i % 2 ? tlen : 0) ||
		    (m->key.len > 0 && memcmp(m->key.data, topic, tlen) != 0) ||
		    m->value.len != vlen ||
		    (vlen > 0 && m->value.data[0] != (uint8_t)i))
			abort();
	}
}

static int
topic_refused(const PubSubReq *req, const PubSubResp *resp)
{
	return (req->req_case == PUB_SUB_REQ__REQ_CMD_KAFKA_FETCH ||
	    req->req_case == PUB_SUB_REQ__REQ_CMD_KAFKA_LIST_OFFSET) &&
	    resp->resp_case == PUB_SUB_RESP__RESP_ERROR_RESP &&
	    resp->error_resp->code == BRIDGE_E_BAD_REQUEST &&
	    strncmp(resp->error_resp->message, "bad request: topic ", 19) == 0;
}

static void
check_answer(const PubSubReq *req, const PubSubResp *resp, size_t framelen)
{
	const CmdKafkaListOffset	*lo;

	if (resp->sequence != req->sequence)
		abort();
	/*
	 * A topic with a NUL byte or invalid UTF-8 on the wire (protobuf-c
	 * would have cut or passed it) is refused before any handler.
	 */
	if (topic_refused(req, resp))
		return;
	switch (req->req_case) {
	case PUB_SUB_REQ__REQ_CMD_PING:
		if (resp->resp_case != PUB_SUB_RESP__RESP_PONG_RESP ||
		    resp->pong_resp->state.len != req->cmd_ping->state.len ||
		    (req->cmd_ping->state.len > 0 &&
		    memcmp(resp->pong_resp->state.data,
		    req->cmd_ping->state.data, req->cmd_ping->state.len) != 0))
			abort();
		break;
	case PUB_SUB_REQ__REQ_CMD_KAFKA_FETCH:
		check_fetch(req, resp, framelen);
		break;
	case PUB_SUB_REQ__REQ_CMD_KAFKA_LIST_OFFSET:
		lo = req->cmd_kafka_list_offset;
		if (lo->timestamp & 1) {
			if (resp->resp_case != PUB_SUB_RESP__RESP_ERROR_RESP ||
			    resp->error_resp->code != (int32_t)(lo->timestamp >> 1))
				abort();
		} else if (resp->resp_case !=
		    PUB_SUB_RESP__RESP_KAFKA_LIST_OFFSET_RESP ||
		    resp->kafka_list_offset_resp->offset != lo->timestamp)
			abort();
		break;
	default:
		/* cmd_empty, no command, a command from a newer client. */
		if (resp->resp_case != PUB_SUB_RESP__RESP_ERROR_RESP ||
		    resp->error_resp->code != BRIDGE_E_UNKNOWN_CMD)
			abort();
		break;
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct bridge_conf	 c = { FUZZ_MAX_FRAME, 8, 4 * FUZZ_MAX_FRAME, 0, NULL,
	    0, NULL };

	(void)argc;
	(void)argv;
	/* FUZZ_LOG=1 shows the bridge's log lines (slow). */
	log_set_level(getenv("FUZZ_LOG") != NULL ? LOG_LVL_DEBUG : LOG_LVL_ERR);
	bridge_init(&c);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ws_session	 sess;
	const CmdKafkaListOffset	*lo;
	PubSubReq			*req;
	PubSubResp			*resp;
	uint8_t				*msg;
	int				 i, want, gone = 0;

	memset(&sess, 0, sizeof(sess));
	deferred = NULL;
	/* An exact-size copy: over-reads hit the sanitizer. */
	if ((msg = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(msg, data, size);
	req = pub_sub_req__unpack(NULL, size, msg);
	if (req != NULL && req->sequence == FUZZ_FULL_SEQ)
		sess.full = 1;

	bridge_open(NULL, &sess, &t_route);
	if (sess.data == NULL || bridge_sessions() != 1)
		abort();
	/* A text message is logged and ignored. */
	bridge_message(NULL, &sess, WS_OP_TEXT, msg, size);
	if (sess.nsent != 0 || sess.closed)
		abort();
	bridge_message(NULL, &sess, WS_OP_BINARY, msg, size);
	if ((deferred != NULL) != (req != NULL &&
	    req->req_case == PUB_SUB_REQ__REQ_CMD_KAFKA_LIST_OFFSET) &&
	    !(deferred == NULL && (sess.nsent == 1 || sess.full)))	/* refused topic */
		abort();
	if (deferred != NULL) {
		if (sess.nsent != 0)
			abort();
		lo = req->cmd_kafka_list_offset;
		if (lo->partition & 1) {
			/* The client goes away first: the answer is dropped. */
			bridge_closed(NULL, &sess);
			if (bridge_sessions() != 1 || !bridge_req_gone(deferred))
				abort();
			gone = 1;
		}
		if (lo->timestamp & 1)
			bridge_reply_error(deferred, (int32_t)(lo->timestamp >> 1),
			    "failed to list offset, topic: %s, partition: %d, "
			    "err: %s", lo->topic != NULL ? lo->topic : "",
			    lo->partition, "UNKNOWN_SERVER_ERROR");
		else
			bridge_reply_list_offset(deferred, lo->timestamp);
	}

	want = gone || sess.full ? 0 : 1;
	if (sess.nsent != want)
		abort();
	if (sess.full && !gone && (!sess.closed || sess.close_code != 1008))
		abort();
	for (i = 0; i < sess.nsent; i++) {
		resp = pub_sub_resp__unpack(NULL, sess.sentlen[i], sess.sent[i]);
		if (resp == NULL)
			abort();
		if (req == NULL) {
			if (resp->sequence != 0 ||
			    resp->resp_case != PUB_SUB_RESP__RESP_ERROR_RESP ||
			    resp->error_resp->code != BRIDGE_E_BAD_REQUEST)
				abort();
		} else
			check_answer(req, resp, sess.sentlen[i]);
		pub_sub_resp__free_unpacked(resp, NULL);
		free(sess.sent[i]);
	}

	if (!gone)
		bridge_closed(NULL, &sess);
	if (bridge_sessions() != 0)
		abort();
	if (req != NULL)
		pub_sub_req__free_unpacked(req, NULL);
	free(msg);
	return 0;
}
