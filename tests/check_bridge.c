/*
 * check_bridge.c -- the pubsub bridge without sockets: requests in,
 * frames out, decoded with protobuf-c (an encoder independent of ours).
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "net/utf8.h"
#include "src/bridge.h"
#include "ws/ws.h"

/* ---- a fake ws_session: records what the bridge sends ---- */

#define MAX_SENT 64

struct ws_session {
	void		*data;
	uint8_t		*sent[MAX_SENT];
	size_t		 sentlen[MAX_SENT];
	int		 nsent;
	int		 closed;
	int		 paused;
	uint16_t	 close_code;
};

int
ws_session_send(struct ws_session *s, int opcode, const uint8_t *p, size_t n)
{
	ck_assert_int_eq(opcode, 2);
	ck_assert_int_lt(s->nsent, MAX_SENT);
	s->sent[s->nsent] = malloc(n ? n : 1);
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
	return "test:1";
}

void *
ws_session_grant(const struct ws_session *s)
{
	(void)s;
	return NULL;
}

/* ---- a test backend: answers list offset later, fetch from a table ---- */

static struct bridge_req	*deferred[8];
static int			 ndeferred;
static int			 fetch_records = 10;
static size_t			 fetch_value_len = 100;

static void
t_list_offset(void *be, struct bridge_req *r, const PubSubReq *req)
{
	(void)be;
	(void)req;
	deferred[ndeferred++] = r;
}

static void
t_fetch(void *be, struct bridge_req *r, const PubSubReq *req)
{
	uint8_t	*v;
	int	 i;

	(void)be;
	v = malloc(fetch_value_len);
	memset(v, 'x', fetch_value_len);
	ck_assert_int_eq(bridge_fetch_begin(r), 0);
	for (i = 0; i < fetch_records; i++) {
		v[0] = (uint8_t)('0' + i % 10);
		if (bridge_fetch_add(r, req->cmd_kafka_fetch->offset + i,
		    1700000000000LL + i, i % 2 ? (const uint8_t *)"k" : NULL,
		    i % 2 ? 1 : -1, v, (int32_t)fetch_value_len) != 0)
			break;
	}
	bridge_fetch_end(r);
	free(v);
}

static const struct bridge_backend t_backend = {
	"test",
	{ NULL, bridge_handle_ping, t_fetch, t_list_offset }
};

static struct bridge_route t_route = { "/t", &t_backend, NULL, "/t" };
static struct ws_session sess;
static char topic_t[] = "t";

static void
setup(void)
{
	struct bridge_conf	 c = { 65535, 8, 1000, 0, NULL, 0, NULL };

	memset(&sess, 0, sizeof(sess));
	ndeferred = 0;
	fetch_records = 10;
	fetch_value_len = 100;
	bridge_init(&c);
	bridge_open(NULL, &sess, &t_route);
	ck_assert_ptr_nonnull(sess.data);
}

static void
teardown(void)
{
	int	 i;

	bridge_closed(NULL, &sess);
	for (i = 0; i < sess.nsent; i++)
		free(sess.sent[i]);
	ck_assert_int_eq(bridge_sessions(), 0);
}

static void
send_req(const PubSubReq *req)
{
	uint8_t	 buf[4096];
	size_t	 n;

	n = pub_sub_req__get_packed_size(req);
	ck_assert_uint_le(n, sizeof(buf));
	pub_sub_req__pack(req, buf);
	bridge_message(NULL, &sess, 2, buf, n);
}

static PubSubResp *
sent(int i)
{
	PubSubResp	*r;

	ck_assert_int_gt(sess.nsent, i);
	r = pub_sub_resp__unpack(NULL, sess.sentlen[i], sess.sent[i]);
	ck_assert_ptr_nonnull(r);
	return r;
}

START_TEST(test_ping_echo)
{
	PubSubReq	 req = PUB_SUB_REQ__INIT;
	CmdPing		 ping = CMD_PING__INIT;
	PubSubResp	*r;
	static const uint8_t state[] = { 't', 0, 0xff, 'x' };
	static const int64_t seqs[] = { 0, 1, 1LL << 40, -5, INT64_MAX };
	size_t		 i;

	for (i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		req.sequence = seqs[i];
		req.req_case = PUB_SUB_REQ__REQ_CMD_PING;
		ping.state.data = (uint8_t *)state;
		ping.state.len = sizeof(state);
		req.cmd_ping = &ping;
		send_req(&req);
		r = sent((int)i);
		ck_assert_int_eq(r->sequence, seqs[i]);
		ck_assert_int_eq(r->resp_case, PUB_SUB_RESP__RESP_PONG_RESP);
		ck_assert_uint_eq(r->pong_resp->state.len, sizeof(state));
		ck_assert_mem_eq(r->pong_resp->state.data, state, sizeof(state));
		pub_sub_resp__free_unpacked(r, NULL);
	}
}
END_TEST

START_TEST(test_unknown_and_empty)
{
	PubSubReq	 req = PUB_SUB_REQ__INIT;
	CmdEmpty	 e = CMD_EMPTY__INIT;
	PubSubResp	*r;
	static const uint8_t field35[] = { 0x08, 0x07, 0x9a, 0x02, 0x00 };
	static const uint8_t garbage[] = { 0x21, 0x40, 0x23, 0x24, 0x25, 0x5e,
	    0x26, 0x2a, 0xe4, 0xb8, 0xad, 0xe6, 0x96, 0x87 };

	req.sequence = 3;
	req.req_case = PUB_SUB_REQ__REQ_CMD_EMPTY;
	req.cmd_empty = &e;
	send_req(&req);
	r = sent(0);
	ck_assert_int_eq(r->sequence, 3);
	ck_assert_int_eq(r->resp_case, PUB_SUB_RESP__RESP_ERROR_RESP);
	ck_assert_str_eq(r->error_resp->message, "unknown command");
	ck_assert_int_eq(r->error_resp->code, BRIDGE_E_UNKNOWN_CMD);
	pub_sub_resp__free_unpacked(r, NULL);

	/* An empty frame: no command at all. */
	bridge_message(NULL, &sess, 2, (const uint8_t *)"", 0);
	r = sent(1);
	ck_assert_int_eq(r->resp_case, PUB_SUB_RESP__RESP_ERROR_RESP);
	ck_assert_str_eq(r->error_resp->message, "unknown command");
	pub_sub_resp__free_unpacked(r, NULL);

	/* A future command (field 35) from a newer client: answered. */
	bridge_message(NULL, &sess, 2, field35, sizeof(field35));
	r = sent(2);
	ck_assert_int_eq(r->sequence, 7);
	ck_assert_int_eq(r->resp_case, PUB_SUB_RESP__RESP_ERROR_RESP);
	pub_sub_resp__free_unpacked(r, NULL);

	/* APISIX pubsub.t TEST 8's bytes: always an answer, never silence. */
	bridge_message(NULL, &sess, 2, garbage, sizeof(garbage));
	r = sent(3);
	ck_assert_int_eq(r->resp_case, PUB_SUB_RESP__RESP_ERROR_RESP);
	ck_assert_int_ne(r->error_resp->code, 0);
	pub_sub_resp__free_unpacked(r, NULL);

	/* A text frame is ignored, as APISIX does. */
	bridge_message(NULL, &sess, 1, (const uint8_t *)"test", 4);
	ck_assert_int_eq(sess.nsent, 4);
	ck_assert_int_eq(sess.closed, 0);
}
END_TEST

START_TEST(test_order_kept)
{
	PubSubReq		 req = PUB_SUB_REQ__INIT;
	CmdKafkaListOffset	 lo = CMD_KAFKA_LIST_OFFSET__INIT;
	CmdPing			 ping = CMD_PING__INIT;
	PubSubResp		*r;

	req.sequence = 1;
	req.req_case = PUB_SUB_REQ__REQ_CMD_KAFKA_LIST_OFFSET;
	lo.topic = topic_t;
	req.cmd_kafka_list_offset = &lo;
	send_req(&req);
	req.sequence = 2;
	req.req_case = PUB_SUB_REQ__REQ_CMD_PING;
	req.cmd_ping = &ping;
	send_req(&req);
	/* The ping is answered, but waits behind the list offset. */
	ck_assert_int_eq(sess.nsent, 0);
	ck_assert_int_eq(ndeferred, 1);
	bridge_reply_list_offset(deferred[0], 0);
	ck_assert_int_eq(sess.nsent, 2);
	r = sent(0);
	ck_assert_int_eq(r->sequence, 1);
	ck_assert_int_eq(r->resp_case, PUB_SUB_RESP__RESP_KAFKA_LIST_OFFSET_RESP);
	ck_assert_int_eq(r->kafka_list_offset_resp->offset, 0);
	pub_sub_resp__free_unpacked(r, NULL);
	/* As APISIX: the empty sub-message is still written (92 02 00). */
	ck_assert_uint_eq(sess.sentlen[0], 5);
	ck_assert_mem_eq(sess.sent[0], "\x08\x01\x92\x02\x00", 5);
	r = sent(1);
	ck_assert_int_eq(r->sequence, 2);
	ck_assert_int_eq(r->resp_case, PUB_SUB_RESP__RESP_PONG_RESP);
	pub_sub_resp__free_unpacked(r, NULL);
}
END_TEST

START_TEST(test_error_format)
{
	PubSubReq		 req = PUB_SUB_REQ__INIT;
	CmdKafkaListOffset	 lo = CMD_KAFKA_LIST_OFFSET__INIT;
	PubSubResp		*r;

	req.sequence = 9;
	req.req_case = PUB_SUB_REQ__REQ_CMD_KAFKA_LIST_OFFSET;
	lo.topic = topic_t;
	req.cmd_kafka_list_offset = &lo;
	send_req(&req);
	bridge_reply_error(deferred[0], -1, "failed to list offset, topic: %s, "
	    "partition: %d, err: %s", "t", 0, "UNKNOWN_SERVER_ERROR");
	r = sent(0);
	ck_assert_int_eq(r->sequence, 9);
	ck_assert_int_eq(r->error_resp->code, -1);
	ck_assert_str_eq(r->error_resp->message, "failed to list offset, "
	    "topic: t, partition: 0, err: UNKNOWN_SERVER_ERROR");
	pub_sub_resp__free_unpacked(r, NULL);
}
END_TEST

START_TEST(test_fetch_budget)
{
	PubSubReq	 req = PUB_SUB_REQ__INIT;
	CmdKafkaFetch	 f = CMD_KAFKA_FETCH__INIT;
	PubSubResp	*r;
	size_t		 i;

	req.sequence = 4;
	req.req_case = PUB_SUB_REQ__REQ_CMD_KAFKA_FETCH;
	f.topic = topic_t;
	f.offset = 100;
	req.cmd_kafka_fetch = &f;

	/* Small: everything fits. */
	send_req(&req);
	r = sent(0);
	ck_assert_int_eq(r->resp_case, PUB_SUB_RESP__RESP_KAFKA_FETCH_RESP);
	ck_assert_uint_eq(r->kafka_fetch_resp->n_messages, 10);
	for (i = 0; i < 10; i++) {
		KafkaMessage *m = r->kafka_fetch_resp->messages[i];

		ck_assert_int_eq(m->offset, 100 + (int64_t)i);
		ck_assert_int_eq(m->timestamp, 1700000000000LL + (int64_t)i);
		ck_assert_uint_eq(m->key.len, i % 2 ? 1 : 0);
		ck_assert_uint_eq(m->value.len, 100);
		ck_assert_int_eq(m->value.data[0], '0' + (int)i % 10);
	}
	pub_sub_resp__free_unpacked(r, NULL);

	/* Over budget: cut at a record boundary below 65535 bytes. */
	fetch_records = 1000;
	send_req(&req);
	ck_assert_uint_le(sess.sentlen[1], 65535);
	r = sent(1);
	ck_assert_uint_gt(r->kafka_fetch_resp->n_messages, 500);
	ck_assert_uint_lt(r->kafka_fetch_resp->n_messages, 1000);
	for (i = 0; i < r->kafka_fetch_resp->n_messages; i++)
		ck_assert_int_eq(r->kafka_fetch_resp->messages[i]->offset,
		    100 + (int64_t)i);
	pub_sub_resp__free_unpacked(r, NULL);

	/* One record bigger than the budget still goes, alone. */
	fetch_records = 3;
	fetch_value_len = 100000;
	send_req(&req);
	r = sent(2);
	ck_assert_uint_eq(r->kafka_fetch_resp->n_messages, 1);
	ck_assert_uint_eq(r->kafka_fetch_resp->messages[0]->value.len, 100000);
	pub_sub_resp__free_unpacked(r, NULL);
}
END_TEST

START_TEST(test_close_while_pending)
{
	PubSubReq		 req = PUB_SUB_REQ__INIT;
	CmdKafkaListOffset	 lo = CMD_KAFKA_LIST_OFFSET__INIT;

	req.sequence = 1;
	req.req_case = PUB_SUB_REQ__REQ_CMD_KAFKA_LIST_OFFSET;
	lo.topic = topic_t;
	req.cmd_kafka_list_offset = &lo;
	send_req(&req);
	send_req(&req);
	bridge_closed(NULL, &sess);
	ck_assert_int_eq(bridge_sessions(), 1);	/* kept for the answers */
	bridge_reply_list_offset(deferred[1], 5);
	bridge_reply_error(deferred[0], 1, "late");
	ck_assert_int_eq(sess.nsent, 0);
	ck_assert_int_eq(bridge_sessions(), 0);
	sess.data = NULL;		/* teardown's close is a no-op */
}
END_TEST

START_TEST(test_inflight_limit)
{
	PubSubReq		 req = PUB_SUB_REQ__INIT;
	CmdKafkaListOffset	 lo = CMD_KAFKA_LIST_OFFSET__INIT;
	PubSubResp		*r;
	int			 i;

	req.req_case = PUB_SUB_REQ__REQ_CMD_KAFKA_LIST_OFFSET;
	lo.topic = topic_t;
	req.cmd_kafka_list_offset = &lo;
	for (i = 0; i < 8; i++) {
		req.sequence = i;
		send_req(&req);
	}
	/* At the bound the session is not read any more. */
	ck_assert_int_eq(sess.paused, 1);
	ck_assert_int_eq(bridge_paused(), 1);
	req.sequence = 8;
	send_req(&req);			/* the ninth: refused, in order */
	ck_assert_int_eq(ndeferred, 8);
	for (i = 0; i < 8; i++)
		bridge_reply_list_offset(deferred[i], i);
	ck_assert_int_eq(sess.paused, 0);
	ck_assert_int_eq(bridge_paused(), 0);
	ck_assert_int_eq(sess.nsent, 9);
	r = sent(8);
	ck_assert_int_eq(r->sequence, 8);
	ck_assert_int_eq(r->resp_case, PUB_SUB_RESP__RESP_ERROR_RESP);
	ck_assert_int_eq(r->error_resp->code, BRIDGE_E_BUSY);
	pub_sub_resp__free_unpacked(r, NULL);
}
END_TEST

/* max_rate: a second's worth at once, then as time passes. */
static double	 t_now = 100;

static double
t_clock(void)
{
	return t_now;
}

START_TEST(test_rate_limit)
{
	struct bridge_conf	 c = { 65535, 8, 1000, 2, t_clock, 0, NULL };
	PubSubReq		 req = PUB_SUB_REQ__INIT;
	CmdPing			 ping = CMD_PING__INIT;
	PubSubResp		*r;
	int			 i, want[] = { 0, 0, 1, 0, 1, 0, 0, 1 };

	bridge_init(&c);
	req.req_case = PUB_SUB_REQ__REQ_CMD_PING;
	req.cmd_ping = &ping;
	for (i = 0; i < 8; i++) {
		/* Two at once; then 0.5 s gives one more, 1 s two more. */
		if (i == 3)
			t_now += 0.5;
		if (i == 5)
			t_now += 1.0;
		req.sequence = i;
		send_req(&req);
		r = sent(i);
		ck_assert_int_eq(r->sequence, i);
		if (want[i]) {
			ck_assert_int_eq(r->resp_case,
			    PUB_SUB_RESP__RESP_ERROR_RESP);
			ck_assert_int_eq(r->error_resp->code, BRIDGE_E_RATE);
			ck_assert_str_eq(r->error_resp->message,
			    "too many commands (limit 2 a second)");
		} else
			ck_assert_int_eq(r->resp_case,
			    PUB_SUB_RESP__RESP_PONG_RESP);
		pub_sub_resp__free_unpacked(r, NULL);
	}
}
END_TEST

/* max_bytes_rate: a session in debt is not read until it is paid off. */
static double	 t_wake;

static void
t_wake_at(double at)
{
	t_wake = at;
}

START_TEST(test_bytes_rate)
{
	struct bridge_conf	 c = { 1000, 8, 100000, 0, t_clock, 2000,
				    t_wake_at };
	PubSubReq		 req = PUB_SUB_REQ__INIT;
	CmdPing			 ping = CMD_PING__INIT;
	static uint8_t		 state[900];
	int			 i;

	bridge_init(&c);
	t_now = 500;
	t_wake = 0;
	req.req_case = PUB_SUB_REQ__REQ_CMD_PING;
	req.cmd_ping = &ping;
	ping.state.data = state;
	ping.state.len = sizeof(state);
	/* A second's worth (2000 bytes) goes at once: two answers. */
	for (i = 0; i < 2; i++) {
		req.sequence = i;
		send_req(&req);
		ck_assert_int_eq(sess.paused, 0);
	}
	/* The third puts the session in debt: not read any more. */
	req.sequence = 2;
	send_req(&req);
	ck_assert_int_eq(sess.nsent, 3);
	ck_assert_int_eq(sess.paused, 1);
	ck_assert(t_wake > t_now && t_wake < t_now + 1);
	ck_assert(bridge_tick(t_now) == t_wake);
	ck_assert_int_eq(sess.paused, 1);
	/* Paid off: read again, nothing due any more. */
	ck_assert(bridge_tick(t_wake) == 0);
	ck_assert_int_eq(sess.paused, 0);
}
END_TEST

/* Answers waiting behind a pending request count in bytes too. */
START_TEST(test_held_bytes)
{
	PubSubReq		 req = PUB_SUB_REQ__INIT;
	CmdKafkaListOffset	 lo = CMD_KAFKA_LIST_OFFSET__INIT;
	CmdPing			 ping = CMD_PING__INIT;
	static uint8_t		 state[300];
	int			 i;

	req.sequence = 1;
	req.req_case = PUB_SUB_REQ__REQ_CMD_KAFKA_LIST_OFFSET;
	lo.topic = topic_t;
	req.cmd_kafka_list_offset = &lo;
	send_req(&req);
	req.req_case = PUB_SUB_REQ__REQ_CMD_PING;
	ping.state.data = state;
	ping.state.len = sizeof(state);
	req.cmd_ping = &ping;
	for (i = 0; i < 3; i++) {
		send_req(&req);
		ck_assert_int_eq(sess.paused, 0);
	}
	send_req(&req);			/* 4 x 300+ bytes held > 1000 */
	ck_assert_int_eq(sess.paused, 1);
	ck_assert_int_eq(sess.nsent, 0);
	bridge_reply_list_offset(deferred[0], 0);
	ck_assert_int_eq(sess.nsent, 5);
	ck_assert_int_eq(sess.paused, 0);
}
END_TEST

/* protobuf-c would cut "t\0x" to "t": the wire bytes are checked first. */
START_TEST(test_bad_topic_strings)
{
	static const uint8_t nul[] = { 0x08, 0x05, 0x8a, 0x02, 0x07,
	    0x0a, 0x03, 't', 0x00, 'x', 0x10, 0x00 };
	static const uint8_t bad8[] = { 0x08, 0x06, 0x92, 0x02, 0x06,
	    0x0a, 0x02, 't', 0xff, 0x18, 0x01 };
	static const uint8_t surrogate[] = { 0x08, 0x07, 0x8a, 0x02, 0x05,
	    0x0a, 0x03, 0xed, 0xa0, 0x80 };
	PubSubResp	*r;

	bridge_message(NULL, &sess, 2, nul, sizeof(nul));
	bridge_message(NULL, &sess, 2, bad8, sizeof(bad8));
	bridge_message(NULL, &sess, 2, surrogate, sizeof(surrogate));
	ck_assert_int_eq(ndeferred, 0);	/* the backend never saw them */
	r = sent(0);
	ck_assert_int_eq(r->sequence, 5);
	ck_assert_int_eq(r->error_resp->code, BRIDGE_E_BAD_REQUEST);
	ck_assert_str_eq(r->error_resp->message,
	    "bad request: topic contains a NUL byte");
	pub_sub_resp__free_unpacked(r, NULL);
	r = sent(1);
	ck_assert_int_eq(r->sequence, 6);
	ck_assert_str_eq(r->error_resp->message,
	    "bad request: topic is not valid UTF-8");
	pub_sub_resp__free_unpacked(r, NULL);
	r = sent(2);
	ck_assert_int_eq(r->sequence, 7);
	ck_assert_int_eq(r->error_resp->code, BRIDGE_E_BAD_REQUEST);
	pub_sub_resp__free_unpacked(r, NULL);
}
END_TEST

/* Error messages are valid UTF-8 and bounded, whatever went in. */
START_TEST(test_error_sanitized)
{
	PubSubReq		 req = PUB_SUB_REQ__INIT;
	CmdKafkaListOffset	 lo = CMD_KAFKA_LIST_OFFSET__INIT;
	PubSubResp		*r;
	char			*big, q[BRIDGE_QUOTE_MAX + 4];
	size_t			 n = 1 << 20;

	req.req_case = PUB_SUB_REQ__REQ_CMD_KAFKA_LIST_OFFSET;
	lo.topic = topic_t;
	req.cmd_kafka_list_offset = &lo;
	send_req(&req);
	send_req(&req);
	big = malloc(n + 1);
	ck_assert_ptr_nonnull(big);
	memset(big, 'a', n);
	big[n] = '\0';
	bridge_reply_error(deferred[0], 1, "err: %s", big);
	bridge_reply_error(deferred[1], 1, "err: %s", "bad \xff\xfe bytes");
	r = sent(0);
	ck_assert_uint_le(strlen(r->error_resp->message), 2048);
	ck_assert(utf8_valid(r->error_resp->message,
	    strlen(r->error_resp->message)));
	pub_sub_resp__free_unpacked(r, NULL);
	r = sent(1);
	ck_assert_str_eq(r->error_resp->message, "err: bad \\xff\\xfe bytes");
	pub_sub_resp__free_unpacked(r, NULL);

	/* Quoting a client string: cut, escaped. */
	ck_assert_str_eq(bridge_quote(q, sizeof(q), "ok-topic", 8), "ok-topic");
	(void)bridge_quote(q, sizeof(q), big, n);
	ck_assert_uint_eq(strlen(q), BRIDGE_QUOTE_MAX + 3);
	ck_assert_str_eq(q + BRIDGE_QUOTE_MAX, "...");
	ck_assert_str_eq(bridge_quote(q, sizeof(q), "a\nb\xff", 4),
	    "a\\nb\\xff");
	free(big);

	ck_assert(utf8_valid("\xe4\xb8\xad", 3));
	ck_assert(!utf8_valid("\xc0\x80", 2));
	ck_assert(!utf8_valid("\xf4\x90\x80\x80", 4));
	ck_assert(!utf8_valid("\xe4\xb8", 2));
}
END_TEST

static Suite *
bridge_suite(void)
{
	Suite	*s = suite_create("bridge");
	TCase	*tc;

	tc = tcase_create("commands");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ping_echo);
	tcase_add_test(tc, test_unknown_and_empty);
	tcase_add_test(tc, test_error_format);
	tcase_add_test(tc, test_bad_topic_strings);
	tcase_add_test(tc, test_error_sanitized);
	suite_add_tcase(s, tc);

	tc = tcase_create("order");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_order_kept);
	tcase_add_test(tc, test_close_while_pending);
	tcase_add_test(tc, test_inflight_limit);
	tcase_add_test(tc, test_rate_limit);
	tcase_add_test(tc, test_bytes_rate);
	tcase_add_test(tc, test_held_bytes);
	suite_add_tcase(s, tc);

	tc = tcase_create("fetch");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_fetch_budget);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(bridge_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
