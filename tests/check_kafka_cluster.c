/*
 * check_kafka_cluster.c -- the cluster logic (metadata cache, routing,
 * retries, coalesced Fetches, connection roles) driven through its I/O
 * interface (kafka/cluster_io.h) with a fake clock and scripted brokers:
 * no sockets, no event loop.
 *
 * The fake connection layer keeps what the logic submits; a test reads
 * each request as the broker would (the real encoders wrote it), and
 * answers with Kafka response bodies written out here field by field
 * (Metadata v8, ListOffsets v5, Fetch v11: the non-flexible versions),
 * which the real decoders (kafka/kproto.c) then parse.
 */
#include "config.h"

#include <sys/queue.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/cluster.h"
#include "kafka/cluster_io.h"
#include "kafka/conn.h"
#include "kafka/kbuf.h"
#include "kafka/kproto.h"

#define V_FETCH		11	/* the versions the fake brokers "negotiate" */
#define V_LIST_OFFSETS	5
#define V_METADATA	8
#define MAXPARTS	16

/* ---- the fake I/O layer ---- */

struct freq {
	TAILQ_ENTRY(freq)	 entry;
	int16_t			 api_key;
	kconn_enc_fn		 enc;
	kconn_resp_fn		 cb;
	void			*arg;
};
TAILQ_HEAD(freqq, freq);

struct kcio {
	TAILQ_ENTRY(kcio)	 entry;
	char			 host[64];
	int			 port;
	int			 role;
	void			*arg;
	enum kcio_state		 state;
	int			 connects;	/* connect() calls that started */
	struct freqq		 reqs;		/* submitted, not answered */
	char			 errmsg[200];
};
TAILQ_HEAD(kcioq, kcio);

static struct kcioq	 conns = TAILQ_HEAD_INITIALIZER(conns);
static double		 now;
static double		 wake_at;	/* what the logic asked for; 0: none */
static int		 refuse_connect;	/* connect() fails at once */
static int		 done_called;
static struct kcluster	*kc;

static double
f_now(void *ctx)
{
	(void)ctx;
	return now;
}

static void
f_wake(void *ctx, double at)
{
	(void)ctx;
	wake_at = at;
}

static struct kcio *
f_conn_new(void *ctx, const char *host, int port, int role, void *arg)
{
	struct kcio	*c;

	(void)ctx;
	c = calloc(1, sizeof(*c));
	ck_assert_ptr_nonnull(c);
	(void)snprintf(c->host, sizeof(c->host), "%s", host);
	c->port = port;
	c->role = role;
	c->arg = arg;
	TAILQ_INIT(&c->reqs);
	TAILQ_INSERT_TAIL(&conns, c, entry);
	return c;
}

static int
f_connect(struct kcio *c, char *err, size_t errlen)
{
	if (c->state != KCIO_DOWN)
		return 0;
	if (refuse_connect) {
		(void)snprintf(err, errlen, "cannot resolve broker %s:%d: out "
		    "of memory", c->host, c->port);
		return -1;
	}
	c->state = KCIO_OPENING;
	c->connects++;
	return 0;
}

static int
f_submit(struct kcio *c, int16_t api_key, kconn_enc_fn enc, kconn_resp_fn cb,
    void *arg)
{
	struct freq	*r;

	if (c->state == KCIO_DOWN) {
		(void)snprintf(c->errmsg, sizeof(c->errmsg), "dead");
		return -1;
	}
	r = calloc(1, sizeof(*r));
	ck_assert_ptr_nonnull(r);
	r->api_key = api_key;
	r->enc = enc;
	r->cb = cb;
	r->arg = arg;
	TAILQ_INSERT_TAIL(&c->reqs, r, entry);
	return 0;
}

static enum kcio_state
f_state(const struct kcio *c)
{
	return c->state;
}

static int
f_idle(const struct kcio *c)
{
	return TAILQ_EMPTY(&c->reqs);
}

static const char *
f_errmsg(const struct kcio *c)
{
	return c->errmsg;
}

/* Every request fails with err, as kconn_fail() does. */
static void
f_fail_reqs(struct kcio *c, int err, const char *msg)
{
	struct freqq	 q;
	struct freq	*r;

	TAILQ_INIT(&q);
	TAILQ_CONCAT(&q, &c->reqs, entry);
	while ((r = TAILQ_FIRST(&q)) != NULL) {
		TAILQ_REMOVE(&q, r, entry);
		r->cb(r->arg, err, msg, 0, NULL, 0);
		free(r);
	}
}

static void
f_fail(struct kcio *c, int err, const char *msg)
{
	if (c->state == KCIO_DOWN)
		return;
	c->state = KCIO_DOWN;
	f_fail_reqs(c, err, msg);
}

static void
f_conn_free(struct kcio *c, const char *why)
{
	c->state = KCIO_DOWN;
	f_fail_reqs(c, KCONN_EDISCONNECT, why);
	TAILQ_REMOVE(&conns, c, entry);
	free(c);
}

static void
f_done(void *ctx)
{
	(void)ctx;
	done_called++;
}

static const struct kcluster_io fake_io = {
	.now = f_now,
	.wake = f_wake,
	.conn_new = f_conn_new,
	.connect = f_connect,
	.submit = f_submit,
	.state = f_state,
	.idle = f_idle,
	.conn_errmsg = f_errmsg,
	.fail = f_fail,
	.conn_free = f_conn_free,
	.done = f_done
};

/* ---- driving it ---- */

/* Run the timers due now, as the loop would, turn after turn. */
static void
settle(void)
{
	int	 turns = 0;

	while (wake_at > 0 && wake_at <= now) {
		ck_assert_int_lt(++turns, 1000);
		kcluster_run(kc, now);
	}
	/* The wake-up asked for is the earliest timer, or none. */
	if (kc != NULL)
		ck_assert(kcluster_next_timer(kc) == wake_at);
}

/* Let the clock run to t, waking the logic whenever it asked. */
static void
advance_to(double t)
{
	settle();
	while (wake_at > 0 && wake_at <= t) {
		now = wake_at;
		settle();
	}
	now = t;
	settle();
}

static struct kcio *
conn_find(const char *host, int port, int role)
{
	struct kcio	*c;

	TAILQ_FOREACH(c, &conns, entry)
		if (c->port == port && c->role == role &&
		    strcmp(c->host, host) == 0)
			return c;
	return NULL;
}

static struct kcio *
conn_get(const char *host, int port, int role)
{
	struct kcio	*c = conn_find(host, port, role);

	ck_assert_msg(c != NULL, "no connection to %s:%d role %d", host, port,
	    role);
	return c;
}

static int
nreqs(const struct kcio *c)
{
	const struct freq	*r;
	int			 n = 0;

	TAILQ_FOREACH(r, &c->reqs, entry)
		n++;
	return n;
}

/* The connection whose first pending request is of this API, or NULL. */
static struct kcio *
conn_with(int16_t api_key)
{
	struct kcio	*c;

	TAILQ_FOREACH(c, &conns, entry)
		if (!TAILQ_EMPTY(&c->reqs) &&
		    TAILQ_FIRST(&c->reqs)->api_key == api_key)
			return c;
	return NULL;
}

static void
conn_up(struct kcio *c)
{
	ck_assert_int_eq(c->state, KCIO_OPENING);
	c->state = KCIO_READY;
	kcluster_conn_up(c->arg);
}

/* The transport failed, as brokerio.c reports it: once, then requests. */
static void
conn_broken(struct kcio *c, int err, const char *msg)
{
	ck_assert_int_ne(c->state, KCIO_DOWN);
	kcluster_conn_failed(c->arg, err, msg);
	c->state = KCIO_DOWN;
	f_fail_reqs(c, err, msg);
}

static int16_t
version_of(int16_t api_key)
{
	switch (api_key) {
	case KAFKA_API_FETCH:
		return V_FETCH;
	case KAFKA_API_LIST_OFFSETS:
		return V_LIST_OFFSETS;
	default:
		return V_METADATA;
	}
}

/* A request as the broker reads it. */
struct reqinfo {
	int16_t		 api_key;
	int16_t		 version;
	int32_t		 max_wait;	/* Fetch */
	int32_t		 min_bytes;
	int		 n;		/* topics (Metadata), partitions */
	char		 topic[MAXPARTS][32];
	int32_t		 partition[MAXPARTS];
	int32_t		 epoch[MAXPARTS];
	int64_t		 value[MAXPARTS];	/* offset or timestamp */
};

static void
kstr_copy(char *dst, size_t size, struct kstr s)
{
	ck_assert_int_ge(s.len, 0);
	ck_assert_uint_lt((size_t)s.len, size);
	memcpy(dst, s.p, (size_t)s.len);
	dst[s.len] = '\0';
}

/* Encode the first request of c with the real encoder, and read it back. */
static void
peek(struct kcio *c, struct reqinfo *ri)
{
	struct freq	*r = TAILQ_FIRST(&c->reqs);
	struct kwriter	 w;
	struct kreader	 rd;
	struct kstr	 name;
	int32_t		 nt, np, i, j;

	ck_assert_ptr_nonnull(r);
	memset(ri, 0, sizeof(*ri));
	kw_init(&w, 1 << 20);
	ck_assert_int_eq(r->enc(&w, version_of(r->api_key), 7, "test",
	    r->arg), 0);
	kr_init(&rd, w.buf, w.len);
	ck_assert_int_eq(kr_i32(&rd) + 4, (int32_t)w.len);
	ri->api_key = kr_i16(&rd);
	ri->version = kr_i16(&rd);
	ck_assert_int_eq(ri->api_key, r->api_key);
	ck_assert_int_eq(kr_i32(&rd), 7);
	(void)kr_str(&rd, 0);				/* client id */
	switch (ri->api_key) {
	case KAFKA_API_METADATA:
		nt = kr_i32(&rd);
		for (i = 0; i < nt && !rd.err; i++) {
			ck_assert_int_lt(ri->n, MAXPARTS);
			kstr_copy(ri->topic[ri->n++], sizeof(ri->topic[0]),
			    kr_str(&rd, 0));
		}
		(void)kr_i8(&rd);			/* AllowAutoTopicCreation */
		(void)kr_i8(&rd);
		(void)kr_i8(&rd);
		break;
	case KAFKA_API_LIST_OFFSETS:
		(void)kr_i32(&rd);			/* ReplicaId */
		(void)kr_i8(&rd);			/* IsolationLevel */
		nt = kr_i32(&rd);
		for (i = 0; i < nt && !rd.err; i++) {
			name = kr_str(&rd, 0);
			np = kr_i32(&rd);
			for (j = 0; j < np && !rd.err; j++) {
				ck_assert_int_lt(ri->n, MAXPARTS);
				kstr_copy(ri->topic[ri->n],
				    sizeof(ri->topic[0]), name);
				ri->partition[ri->n] = kr_i32(&rd);
				ri->epoch[ri->n] = kr_i32(&rd);
				ri->value[ri->n++] = kr_i64(&rd);
			}
		}
		break;
	case KAFKA_API_FETCH:
		(void)kr_i32(&rd);			/* ReplicaId */
		ri->max_wait = kr_i32(&rd);
		ri->min_bytes = kr_i32(&rd);
		(void)kr_i32(&rd);			/* MaxBytes */
		(void)kr_i8(&rd);			/* IsolationLevel */
		(void)kr_i32(&rd);			/* SessionId */
		(void)kr_i32(&rd);			/* SessionEpoch */
		nt = kr_i32(&rd);
		for (i = 0; i < nt && !rd.err; i++) {
			name = kr_str(&rd, 0);
			np = kr_i32(&rd);
			for (j = 0; j < np && !rd.err; j++) {
				ck_assert_int_lt(ri->n, MAXPARTS);
				kstr_copy(ri->topic[ri->n],
				    sizeof(ri->topic[0]), name);
				ri->partition[ri->n] = kr_i32(&rd);
				ri->epoch[ri->n] = kr_i32(&rd);
				ri->value[ri->n++] = kr_i64(&rd);
				(void)kr_i64(&rd);	/* LogStartOffset */
				(void)kr_i32(&rd);	/* PartitionMaxBytes */
			}
		}
		(void)kr_i32(&rd);			/* ForgottenTopicsData */
		(void)kr_str(&rd, 0);			/* RackId */
		break;
	default:
		ck_abort_msg("unexpected API %d", ri->api_key);
	}
	ck_assert(!rd.err);
	ck_assert_uint_eq(kr_left(&rd), 0);
	kw_free(&w);
}

/* Answer the first request of c with this body. */
static void
answer(struct kcio *c, const struct kwriter *body)
{
	struct freq	*r = TAILQ_FIRST(&c->reqs);

	ck_assert_ptr_nonnull(r);
	ck_assert(!body->err);
	TAILQ_REMOVE(&c->reqs, r, entry);
	r->cb(r->arg, KCONN_OK, NULL, version_of(r->api_key), body->buf,
	    body->len);
	free(r);
	kw_free((struct kwriter *)body);
}

/* ---- the scripted cluster: brokers 1 and 2, topic "t" ---- */

static int32_t	 leader[MAXPARTS];
static int32_t	 epoch[MAXPARTS];
static int32_t	 nparts;

static void
map_set(int32_t n, int32_t lead, int32_t ep)
{
	int32_t	 i;

	nparts = n;
	for (i = 0; i < n; i++) {
		leader[i] = lead;
		epoch[i] = ep;
	}
}

/* A Metadata v8 body for the topics asked: "t" from the map, others unknown. */
static void
md_body(struct kwriter *w, const struct reqinfo *ri)
{
	int32_t	 i, p;

	kw_init(w, 1 << 16);
	kw_i32(w, 0);				/* ThrottleTimeMs */
	kw_i32(w, 2);				/* Brokers */
	kw_i32(w, 1);
	kw_str(w, 0, "h1", 2);
	kw_i32(w, 9001);
	kw_str(w, 0, NULL, -1);			/* Rack */
	kw_i32(w, 2);
	kw_str(w, 0, "h2", 2);
	kw_i32(w, 9002);
	kw_str(w, 0, NULL, -1);
	kw_str(w, 0, "cluster", 7);		/* ClusterId */
	kw_i32(w, 1);				/* ControllerId */
	kw_i32(w, ri->n);			/* Topics */
	for (i = 0; i < ri->n; i++) {
		int	 known = strcmp(ri->topic[i], "t") == 0;

		kw_i16(w, known ? 0 : KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
		kw_str(w, 0, ri->topic[i], (int32_t)strlen(ri->topic[i]));
		kw_i8(w, 0);			/* IsInternal */
		kw_i32(w, known ? nparts : 0);	/* Partitions */
		for (p = 0; known && p < nparts; p++) {
			kw_i16(w, 0);
			kw_i32(w, p);
			kw_i32(w, leader[p]);
			kw_i32(w, epoch[p]);
			kw_i32(w, 1);		/* ReplicaNodes */
			kw_i32(w, leader[p]);
			kw_i32(w, 1);		/* IsrNodes */
			kw_i32(w, leader[p]);
			kw_i32(w, 0);		/* OfflineReplicas */
		}
		kw_i32(w, 0);		/* TopicAuthorizedOperations */
	}
	kw_i32(w, 0);			/* ClusterAuthorizedOperations */
}

/* Answer the Metadata request waiting first on c from the map. */
static void
answer_md(struct kcio *c)
{
	struct reqinfo	 ri;
	struct kwriter	 w;

	peek(c, &ri);
	ck_assert_int_eq(ri.api_key, KAFKA_API_METADATA);
	md_body(&w, &ri);
	answer(c, &w);
}

/* Answer the Metadata request pending anywhere; 0 if there was none. */
static int
answer_any_md(void)
{
	struct kcio	*c = conn_with(KAFKA_API_METADATA);

	if (c == NULL)
		return 0;
	if (c->state == KCIO_OPENING)
		conn_up(c);
	answer_md(c);
	return 1;
}

static void
answer_lo(struct kcio *c, int16_t error, int64_t offset)
{
	struct reqinfo	 ri;
	struct kwriter	 w;

	peek(c, &ri);
	ck_assert_int_eq(ri.api_key, KAFKA_API_LIST_OFFSETS);
	ck_assert_int_eq(ri.n, 1);
	kw_init(&w, 4096);
	kw_i32(&w, 0);				/* ThrottleTimeMs */
	kw_i32(&w, 1);				/* Topics */
	kw_str(&w, 0, ri.topic[0], (int32_t)strlen(ri.topic[0]));
	kw_i32(&w, 1);				/* Partitions */
	kw_i32(&w, ri.partition[0]);
	kw_i16(&w, error);
	kw_i64(&w, -1);				/* Timestamp */
	kw_i64(&w, offset);
	kw_i32(&w, epoch[ri.partition[0]]);	/* LeaderEpoch */
	answer(c, &w);
}

/* One partition's part of a Fetch answer. */
struct fpart {
	int32_t		 partition;
	int16_t		 error;
	int64_t		 hw;
	const char	*records;
};

/* A Fetch v11 answer for topic "t" with these parts. */
static void
answer_fetch(struct kcio *c, const struct fpart *parts, int n)
{
	struct kwriter	 w;
	int		 i;

	ck_assert_int_eq(TAILQ_FIRST(&c->reqs)->api_key, KAFKA_API_FETCH);
	kw_init(&w, 1 << 16);
	kw_i32(&w, 0);				/* ThrottleTimeMs */
	kw_i16(&w, 0);				/* ErrorCode */
	kw_i32(&w, 0);				/* SessionId */
	kw_i32(&w, 1);				/* Responses */
	kw_str(&w, 0, "t", 1);
	kw_i32(&w, n);
	for (i = 0; i < n; i++) {
		kw_i32(&w, parts[i].partition);
		kw_i16(&w, parts[i].error);
		kw_i64(&w, parts[i].hw);	/* HighWatermark */
		kw_i64(&w, parts[i].hw);	/* LastStableOffset */
		kw_i64(&w, 0);			/* LogStartOffset */
		kw_i32(&w, -1);			/* AbortedTransactions: null */
		kw_i32(&w, -1);			/* PreferredReadReplica */
		if (parts[i].records == NULL)
			kw_bytes(&w, 0, NULL, -1);
		else
			kw_bytes(&w, 0, parts[i].records,
			    (int32_t)strlen(parts[i].records));
	}
	answer(c, &w);
}

/* ---- results ---- */

struct seen {
	int		 calls;
	enum kcluster_err err;
	int16_t		 kerr;
	char		 msg[300];
	int64_t		 offset;
	char		 records[64];
	int64_t		 hw;
	int64_t		 end;
};

static void
on_result(void *arg, const struct kcluster_result *res)
{
	struct seen	*s = arg;

	s->calls++;
	s->err = res->err;
	s->kerr = res->kafka_error;
	(void)snprintf(s->msg, sizeof(s->msg), "%s",
	    res->errmsg != NULL ? res->errmsg : "");
	s->offset = res->offset;
	ck_assert_uint_lt(res->records_len, sizeof(s->records));
	memcpy(s->records, res->records != NULL ? (const char *)res->records :
	    "", res->records_len);
	s->records[res->records_len] = '\0';
	s->hw = res->high_watermark;
	s->end = res->end_offset;
}

static struct kcluster_conf	 conf;

static void
start(void)
{
	char	 err[200];

	kc = kcluster_new_io(&conf, &fake_io, NULL, err, sizeof(err));
	ck_assert_msg(kc != NULL, "%s", err);
}

static void
setup(void)
{
	now = 1000;
	wake_at = 0;
	refuse_connect = 0;
	done_called = 0;
	kcluster_conf_default(&conf);
	conf.brokers = "boot:9092";
	map_set(4, 1, 5);
	kc = NULL;
}

static void
teardown(void)
{
	kcluster_free(kc);
	kc = NULL;
	ck_assert(TAILQ_EMPTY(&conns));
}

/* Bring the bootstrap connection up and answer its Metadata request. */
static void
bootstrap(void)
{
	struct kcio	*boot;

	settle();
	boot = conn_get("boot", 9092, KCIO_MAIN);
	ck_assert_int_eq(boot->connects, 1);
	conn_up(boot);
	answer_md(boot);
	settle();
}

/* ---- metadata ---- */

START_TEST(test_bootstrap_and_cache)
{
	static struct seen	 a, b, c;
	struct reqinfo	 ri;
	struct kcio	*boot, *h1, *h2;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	map_set(2, 1, 5);
	leader[1] = 2;
	epoch[1] = 7;
	start();
	ck_assert_int_eq(kcluster_list_offset(kc, "t", 0, -1, on_result,
	    &a), 0);
	/* Never from inside the call; nothing happens before the loop turns. */
	ck_assert_int_eq(a.calls, 0);
	ck_assert(TAILQ_EMPTY(&conns));
	ck_assert(wake_at > 0 && wake_at <= now);
	settle();

	/* The bootstrap address, on its main connection: Metadata for "t". */
	boot = conn_get("boot", 9092, KCIO_MAIN);
	ck_assert_int_eq(nreqs(boot), 1);
	peek(boot, &ri);
	ck_assert_int_eq(ri.api_key, KAFKA_API_METADATA);
	ck_assert_int_eq(ri.n, 1);
	ck_assert_str_eq(ri.topic[0], "t");
	conn_up(boot);
	answer_md(boot);
	ck_assert_int_eq(a.calls, 0);

	/* Routed to the leader of partition 0, broker 1, with its epoch. */
	h1 = conn_get("h1", 9001, KCIO_MAIN);
	ck_assert_int_eq(h1->connects, 1);
	peek(h1, &ri);
	ck_assert_int_eq(ri.api_key, KAFKA_API_LIST_OFFSETS);
	ck_assert_str_eq(ri.topic[0], "t");
	ck_assert_int_eq(ri.partition[0], 0);
	ck_assert_int_eq(ri.epoch[0], 5);
	ck_assert_int_eq(ri.value[0], -1);
	conn_up(h1);
	answer_lo(h1, 0, 42);
	ck_assert_int_eq(a.calls, 1);
	ck_assert_int_eq(a.err, KCE_OK);
	ck_assert_int_eq(a.offset, 42);

	/* Cached: partition 1 goes straight to broker 2, no Metadata. */
	now += 30;
	ck_assert_int_eq(kcluster_list_offset(kc, "t", 1, -2, on_result,
	    &b), 0);
	settle();
	ck_assert_ptr_null(conn_with(KAFKA_API_METADATA));
	h2 = conn_get("h2", 9002, KCIO_MAIN);
	peek(h2, &ri);
	ck_assert_int_eq(ri.partition[0], 1);
	ck_assert_int_eq(ri.epoch[0], 7);
	ck_assert_int_eq(ri.value[0], -2);
	conn_up(h2);
	answer_lo(h2, 0, 77);
	ck_assert_int_eq(b.calls, 1);
	ck_assert_int_eq(b.err, KCE_OK);
	ck_assert_int_eq(b.offset, 77);

	/* Past metadata_max_age: refreshed first, on a ready main one. */
	now += 31;
	ck_assert_int_eq(kcluster_list_offset(kc, "t", 0, -1, on_result,
	    &c), 0);
	settle();
	ck_assert_ptr_null(conn_with(KAFKA_API_LIST_OFFSETS));
	ck_assert_int_eq(answer_any_md(), 1);
	settle();
	answer_lo(h1, 0, 43);
	ck_assert_int_eq(c.calls, 1);
	ck_assert_int_eq(c.offset, 43);
	ck_assert_int_eq(boot->connects + h1->connects + h2->connects, 3);
}
END_TEST

/* A topic the cluster does not have fails as such, at once. */
START_TEST(test_unknown_topic)
{
	static struct seen	 a;

	memset(&a, 0, sizeof(a));
	start();
	ck_assert_int_eq(kcluster_fetch(kc, "nope", 0, 0, 1024, on_result,
	    &a), 0);
	bootstrap();
	ck_assert_int_eq(a.calls, 1);
	ck_assert_int_eq(a.err, KCE_KAFKA);
	ck_assert_int_eq(a.kerr, KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
}
END_TEST

/* ---- routing and retries ---- */

START_TEST(test_not_leader_then_success)
{
	static struct seen	 a;
	struct reqinfo	 ri;
	struct kcio	*d1, *d2;
	struct fpart	 p = { 0, KAFKA_ERR_NOT_LEADER_OR_FOLLOWER, -1, NULL };

	memset(&a, 0, sizeof(a));
	start();
	ck_assert_int_eq(kcluster_fetch(kc, "t", 0, 10, 1 << 20, on_result, &a),
	    0);
	bootstrap();
	/* A catch-up Fetch: on broker 1's data connection, answered at once. */
	ck_assert_int_eq(conn_get("h1", 9001, KCIO_MAIN)->connects, 0);
	d1 = conn_get("h1", 9001, KCIO_DATA);
	peek(d1, &ri);
	ck_assert_int_eq(ri.n, 1);
	ck_assert_int_eq(ri.partition[0], 0);
	ck_assert_int_eq(ri.value[0], 10);
	ck_assert_int_eq(ri.epoch[0], 5);
	ck_assert_int_eq(ri.max_wait, 0);
	conn_up(d1);

	/* The leader moved to broker 2: NOT_LEADER_OR_FOLLOWER. */
	map_set(4, 2, 6);
	answer_fetch(d1, &p, 1);
	ck_assert_int_eq(a.calls, 0);
	/* A short pause, then fresh metadata, then broker 2. */
	advance_to(now + 0.05);
	ck_assert_int_eq(answer_any_md(), 1);
	settle();
	ck_assert_int_eq(nreqs(d1), 0);
	d2 = conn_get("h2", 9002, KCIO_DATA);
	peek(d2, &ri);
	ck_assert_int_eq(ri.partition[0], 0);
	ck_assert_int_eq(ri.epoch[0], 6);
	conn_up(d2);
	p.error = 0;
	p.hw = 20;
	p.records = "records-p0";
	answer_fetch(d2, &p, 1);
	ck_assert_int_eq(a.calls, 1);
	ck_assert_int_eq(a.err, KCE_OK);
	ck_assert_str_eq(a.records, "records-p0");
	ck_assert_int_eq(a.hw, 20);
	ck_assert_int_eq(a.end, 20);
	ck_assert_int_eq(a.offset, 10);
}
END_TEST

START_TEST(test_fenced_epoch_then_success)
{
	static struct seen	 a;
	struct reqinfo	 ri;
	struct kcio	*h1;

	memset(&a, 0, sizeof(a));
	start();
	ck_assert_int_eq(kcluster_list_offset(kc, "t", 3, -1, on_result,
	    &a), 0);
	bootstrap();
	h1 = conn_get("h1", 9001, KCIO_MAIN);
	conn_up(h1);
	/* Same leader, newer epoch: the request must carry the new one. */
	map_set(4, 1, 9);
	answer_lo(h1, KAFKA_ERR_FENCED_LEADER_EPOCH, -1);
	ck_assert_int_eq(a.calls, 0);
	advance_to(now + 0.05);
	ck_assert_int_eq(answer_any_md(), 1);
	settle();
	peek(h1, &ri);
	ck_assert_int_eq(ri.api_key, KAFKA_API_LIST_OFFSETS);
	ck_assert_int_eq(ri.partition[0], 3);
	ck_assert_int_eq(ri.epoch[0], 9);
	answer_lo(h1, 0, 5);
	ck_assert_int_eq(a.calls, 1);
	ck_assert_int_eq(a.err, KCE_OK);
	ck_assert_int_eq(a.offset, 5);
}
END_TEST

/* Refused connections: the operation fails with that class, never empty. */
START_TEST(test_unreachable_bootstrap)
{
	static struct seen	 a;
	struct kcio	*boot;

	memset(&a, 0, sizeof(a));
	start();
	ck_assert_int_eq(kcluster_fetch(kc, "t", 0, 0, 1024, on_result, &a), 0);
	settle();
	boot = conn_get("boot", 9092, KCIO_MAIN);
	conn_broken(boot, KCONN_EDISCONNECT,
	    "cannot connect to broker boot:9092: Connection refused");
	ck_assert_int_eq(a.calls, 0);	/* not from inside the failure */
	settle();
	ck_assert_int_eq(a.calls, 1);
	ck_assert_int_eq(a.err, KCE_UNREACHABLE);
	ck_assert_str_eq(a.msg,
	    "cannot connect to broker boot:9092: Connection refused");
}
END_TEST

START_TEST(test_tls_failure_class)
{
	static struct seen	 a;

	memset(&a, 0, sizeof(a));
	start();
	ck_assert_int_eq(kcluster_list_offset(kc, "t", 0, -1, on_result,
	    &a), 0);
	settle();
	conn_broken(conn_get("boot", 9092, KCIO_MAIN), KCONN_ETLS,
	    "broker boot:9092: X509 - Certificate verification failed");
	settle();
	ck_assert_int_eq(a.calls, 1);
	ck_assert_int_eq(a.err, KCE_TLS);
	ck_assert(strstr(a.msg, "Certificate verification failed") != NULL);
}
END_TEST

/* A connection that cannot even start (connect() refuses at once). */
START_TEST(test_connect_refused_at_once)
{
	static struct seen	 a;

	memset(&a, 0, sizeof(a));
	refuse_connect = 1;
	start();
	ck_assert_int_eq(kcluster_list_offset(kc, "t", 0, -1, on_result,
	    &a), 0);
	ck_assert_int_eq(a.calls, 0);
	settle();
	ck_assert_int_eq(a.calls, 1);
	ck_assert_int_eq(a.err, KCE_UNREACHABLE);
	ck_assert_str_eq(a.msg,
	    "cannot resolve broker boot:9092: out of memory");
}
END_TEST

/*
 * The leader's data connection keeps failing: the Fetch retries (fresh
 * metadata each time, reconnecting after the backoff) until its deadline,
 * then fails with the connection's class and message.
 */
START_TEST(test_unreachable_leader_until_deadline)
{
	static struct seen	 a;
	struct kcio	*c;
	double		 t0 = now;
	int		 attempts = 0, turns = 0;

	memset(&a, 0, sizeof(a));
	conf.request_timeout = 3;
	start();
	ck_assert_int_eq(kcluster_fetch(kc, "t", 0, 0, 1024, on_result, &a), 0);
	bootstrap();
	while (a.calls == 0) {
		ck_assert(now < t0 + 10 && ++turns < 1000);
		(void)answer_any_md();
		settle();
		if ((c = conn_find("h1", 9001, KCIO_DATA)) != NULL &&
		    c->state == KCIO_OPENING) {
			attempts++;
			conn_broken(c, KCONN_EDISCONNECT, "cannot connect to "
			    "broker h1:9001: Connection refused");
		}
		if (a.calls == 0 && wake_at > 0)
			advance_to(wake_at);
	}
	ck_assert_int_eq(a.err, KCE_UNREACHABLE);
	ck_assert_str_eq(a.msg,
	    "cannot connect to broker h1:9001: Connection refused");
	ck_assert(now >= t0 + 3 && now < t0 + 3.5);
	/* Reconnected after backoffs of 0.1, 0.2, 0.4, 0.8 s, no sooner. */
	ck_assert_int_ge(attempts, 3);
	ck_assert_int_le(attempts, 5);
}
END_TEST

/* No answer to Metadata: the request deadline fails it, on the clock. */
START_TEST(test_deadline_waiting_for_metadata)
{
	static struct seen	 a;

	memset(&a, 0, sizeof(a));
	start();
	ck_assert_int_eq(kcluster_list_offset(kc, "t", 0, -1, on_result,
	    &a), 0);
	settle();
	conn_up(conn_get("boot", 9092, KCIO_MAIN));
	advance_to(1000 + 9.99);
	ck_assert_int_eq(a.calls, 0);
	advance_to(1000 + 10);
	ck_assert_int_eq(a.calls, 1);
	ck_assert_int_eq(a.err, KCE_TIMEOUT);
	ck_assert_str_eq(a.msg, "timed out waiting for metadata");
}
END_TEST

/* A leader that keeps saying NOT_LEADER: retried until the deadline. */
START_TEST(test_deadline_retrying)
{
	static struct seen	 a;
	struct kcio	*d1;
	struct fpart	 p = { 0, KAFKA_ERR_NOT_LEADER_OR_FOLLOWER, -1, NULL };
	int		 fetches = 0, turns = 0;

	memset(&a, 0, sizeof(a));
	start();
	ck_assert_int_eq(kcluster_fetch(kc, "t", 0, 0, 1024, on_result, &a), 0);
	bootstrap();
	d1 = conn_get("h1", 9001, KCIO_DATA);
	conn_up(d1);
	while (a.calls == 0) {
		ck_assert(now < 1000 + 20 && ++turns < 1000);
		(void)answer_any_md();
		settle();
		if (nreqs(d1) > 0) {
			fetches++;
			answer_fetch(d1, &p, 1);
		}
		if (a.calls == 0 && wake_at > 0)
			advance_to(wake_at);
	}
	ck_assert_int_eq(a.err, KCE_KAFKA);
	ck_assert_int_eq(a.kerr, KAFKA_ERR_NOT_LEADER_OR_FOLLOWER);
	ck_assert_str_eq(a.msg, "NOT_LEADER_OR_FOLLOWER");
	ck_assert(now >= 1000 + 10 && now < 1000 + 10.5);
	/* Pauses of 0.05 s doubling to 1 s: about 14 tries in 10 s. */
	ck_assert_int_ge(fetches, 10);
	ck_assert_int_le(fetches, 16);
}
END_TEST

/* ---- coalesced Fetches and connection roles ---- */

START_TEST(test_coalescing)
{
	static struct seen	 s[5];
	struct reqinfo	 ri;
	struct kcio	*d1;
	struct fpart	 p[3];
	int		 i;

	memset(s, 0, sizeof(s));
	map_set(8, 1, 5);
	start();
	/* Partition 7 first: its Fetch is in flight while the next come. */
	ck_assert_int_eq(kcluster_fetch(kc, "t", 7, 70, 1024, on_result,
	    &s[4]), 0);
	bootstrap();
	d1 = conn_get("h1", 9001, KCIO_DATA);
	conn_up(d1);
	ck_assert_int_eq(nreqs(d1), 1);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(kcluster_fetch(kc, "t", i, 100 + i, 1024,
		    on_result, &s[i]), 0);
	settle();
	ck_assert_int_eq(nreqs(d1), 1);		/* one Fetch in flight */
	p[0].partition = 7;
	p[0].error = 0;
	p[0].hw = 80;
	p[0].records = "r7";
	answer_fetch(d1, p, 1);
	ck_assert_int_eq(s[4].calls, 1);
	ck_assert_str_eq(s[4].records, "r7");
	/* The next goes out from the loop, with the three partitions. */
	ck_assert_int_eq(nreqs(d1), 0);
	settle();
	ck_assert_int_eq(nreqs(d1), 1);
	peek(d1, &ri);
	ck_assert_int_eq(ri.n, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_str_eq(ri.topic[i], "t");
		ck_assert_int_eq(ri.partition[i], i);
		ck_assert_int_eq(ri.value[i], 100 + i);
	}
	/* A fourth, while that one is in flight, waits for the next. */
	ck_assert_int_eq(kcluster_fetch(kc, "t", 3, 103, 1024, on_result,
	    &s[3]), 0);
	settle();
	ck_assert_int_eq(nreqs(d1), 1);
	for (i = 0; i < 3; i++) {
		p[i].partition = i;
		p[i].error = 0;
		p[i].hw = 200 + i;
		p[i].records = i == 0 ? "r0" : i == 1 ? "r1" : "r2";
	}
	answer_fetch(d1, p, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(s[i].calls, 1);
		ck_assert_int_eq(s[i].err, KCE_OK);
		ck_assert_int_eq(s[i].hw, 200 + i);
		ck_assert_int_eq(s[i].records[1], '0' + i);
	}
	ck_assert_int_eq(s[3].calls, 0);
	settle();
	peek(d1, &ri);
	ck_assert_int_eq(ri.n, 1);
	ck_assert_int_eq(ri.partition[0], 3);
	ck_assert_int_eq(ri.value[0], 103);
	p[0].partition = 3;
	p[0].hw = 203;
	p[0].records = "r3";
	answer_fetch(d1, p, 1);
	ck_assert_int_eq(s[3].calls, 1);
	ck_assert_str_eq(s[3].records, "r3");
}
END_TEST

/*
 * Fetches routed in the same loop turn go out in one Fetch: the first
 * does not leave alone with the others queued behind it, which on the
 * poll connection would keep them waiting up to fetch_wait, records or
 * not.
 */
START_TEST(test_coalescing_same_turn)
{
	static struct seen	 s[3], n[3];
	struct reqinfo	 ri;
	struct kcio	*poll;
	struct fpart	 p[3];
	int		 i;

	memset(s, 0, sizeof(s));
	memset(n, 0, sizeof(n));
	conf.fetch_wait = 0.5;
	start();
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(kcluster_fetch_wait(kc, "t", i, 10 + i, 1024,
		    1, on_result, &s[i]), 0);
	/* All three wait for metadata, and are routed when it comes. */
	bootstrap();
	poll = conn_get("h1", 9001, KCIO_POLL);
	conn_up(poll);
	ck_assert_int_eq(nreqs(poll), 1);
	peek(poll, &ri);
	ck_assert_int_eq(ri.n, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(ri.partition[i], i);
		p[i].partition = i;
		p[i].error = 0;
		p[i].hw = 10 + i;
		p[i].records = NULL;
	}
	answer_fetch(poll, p, 3);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(s[i].calls, 1);
	/* The next three, started in one turn with the metadata cached. */
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(kcluster_fetch_wait(kc, "t", i, 10 + i, 1024,
		    1, on_result, &n[i]), 0);
	settle();
	ck_assert_int_eq(nreqs(poll), 1);
	peek(poll, &ri);
	ck_assert_int_eq(ri.n, 3);
	ck_assert_int_eq(ri.max_wait, 500);
}
END_TEST

/* Two identical fetches cost the broker one: the second follows the first. */
START_TEST(test_identical_fetches_follow)
{
	static struct seen	 a, b;
	struct reqinfo	 ri;
	struct kcio	*d1;
	struct fpart	 p = { 1, 0, 50, "same" };

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	start();
	ck_assert_int_eq(kcluster_fetch(kc, "t", 1, 40, 1024, on_result,
	    &a), 0);
	bootstrap();
	d1 = conn_get("h1", 9001, KCIO_DATA);
	ck_assert_int_eq(kcluster_fetch(kc, "t", 1, 40, 1024, on_result,
	    &b), 0);
	settle();
	conn_up(d1);
	ck_assert_int_eq(nreqs(d1), 1);
	peek(d1, &ri);
	ck_assert_int_eq(ri.n, 1);
	answer_fetch(d1, &p, 1);
	ck_assert_int_eq(a.calls, 1);
	ck_assert_int_eq(b.calls, 1);
	ck_assert_str_eq(b.records, "same");
	settle();
	ck_assert_int_eq(nreqs(d1), 0);
}
END_TEST

/* A tail fetch: its own connection, held by the broker up to fetch_wait. */
START_TEST(test_poll_role)
{
	static struct seen	 a, b;
	struct reqinfo	 ri;
	struct kcio	*poll, *data;
	struct fpart	 p = { 0, 0, 10, NULL };

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	conf.fetch_wait = 0.5;
	start();
	ck_assert_int_eq(kcluster_fetch_wait(kc, "t", 0, 10, 1024, 1, on_result,
	    &a), 0);
	ck_assert_int_eq(kcluster_fetch_wait(kc, "t", 1, 3, 1024, 0, on_result,
	    &b), 0);
	bootstrap();
	poll = conn_get("h1", 9001, KCIO_POLL);
	data = conn_get("h1", 9001, KCIO_DATA);
	ck_assert_int_eq(conn_get("h1", 9001, KCIO_MAIN)->connects, 0);
	conn_up(poll);
	conn_up(data);
	peek(poll, &ri);
	ck_assert_int_eq(ri.n, 1);
	ck_assert_int_eq(ri.partition[0], 0);
	ck_assert_int_eq(ri.max_wait, 500);
	ck_assert_int_eq(ri.min_bytes, 1);
	peek(data, &ri);
	ck_assert_int_eq(ri.n, 1);
	ck_assert_int_eq(ri.partition[0], 1);
	ck_assert_int_eq(ri.max_wait, 0);
	ck_assert_int_eq(ri.min_bytes, 0);
	/* The catch-up is answered while the tail one is held. */
	p.partition = 1;
	p.records = "catch-up";
	answer_fetch(data, &p, 1);
	ck_assert_int_eq(b.calls, 1);
	ck_assert_str_eq(b.records, "catch-up");
	ck_assert_int_eq(a.calls, 0);
	/*
	 * Past the request timeout, a retry is still allowed: the broker may
	 * hold a tail Fetch, so its deadline has fetch_wait more.
	 */
	advance_to(now + 10.2);
	p.partition = 0;
	p.error = KAFKA_ERR_NOT_LEADER_OR_FOLLOWER;
	answer_fetch(poll, &p, 1);
	ck_assert_int_eq(a.calls, 0);
	advance_to(now + 0.05);
	ck_assert_int_eq(answer_any_md(), 1);
	settle();
	peek(poll, &ri);
	ck_assert_int_eq(ri.max_wait, 500);
	/* Nothing arrived: answered empty, which is a success. */
	p.error = 0;
	p.records = NULL;
	answer_fetch(poll, &p, 1);
	ck_assert_int_eq(a.calls, 1);
	ck_assert_int_eq(a.err, KCE_OK);
	ck_assert_str_eq(a.records, "");
	ck_assert_int_eq(a.hw, 10);
}
END_TEST

/* fetch_wait 0: a tail fetch is an ordinary one, on the data connection. */
START_TEST(test_poll_role_off)
{
	static struct seen	 a;
	struct reqinfo	 ri;
	struct kcio	*data;

	memset(&a, 0, sizeof(a));
	conf.fetch_wait = 0;
	start();
	ck_assert_int_eq(kcluster_fetch_wait(kc, "t", 0, 10, 1024, 1, on_result,
	    &a), 0);
	bootstrap();
	ck_assert_ptr_null(conn_find("h1", 9001, KCIO_POLL));
	data = conn_get("h1", 9001, KCIO_DATA);
	peek(data, &ri);
	ck_assert_int_eq(ri.max_wait, 0);
}
END_TEST

/*
 * Partition 1's leader changes while its Fetch is queued behind one in
 * flight on broker 1: the queued Fetch still goes to broker 1, is told
 * NOT_LEADER_OR_FOLLOWER, and the retry reaches broker 2 with fresh
 * metadata; the answer comes from there.
 */
START_TEST(test_leader_change_while_queued)
{
	static struct seen	 a, b, c;
	struct reqinfo	 ri;
	struct kcio	*d1, *d2;
	struct fpart	 p = { 0, 0, 11, "p0" };

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	conf.metadata_max_age = 1;
	start();
	ck_assert_int_eq(kcluster_fetch(kc, "t", 0, 10, 1024, on_result,
	    &a), 0);
	bootstrap();
	d1 = conn_get("h1", 9001, KCIO_DATA);
	conn_up(d1);
	ck_assert_int_eq(kcluster_fetch(kc, "t", 1, 20, 1024, on_result,
	    &b), 0);
	settle();
	ck_assert_int_eq(nreqs(d1), 1);		/* partition 1 is queued */

	/* Metadata refreshed meanwhile: partition 1 now on broker 2. */
	leader[1] = 2;
	epoch[1] = 6;
	now += 2;
	ck_assert_int_eq(kcluster_list_offset(kc, "t", 2, -1, on_result,
	    &c), 0);
	settle();
	ck_assert_int_eq(answer_any_md(), 1);
	settle();
	ck_assert_ptr_nonnull(conn_with(KAFKA_API_LIST_OFFSETS));

	/* The Fetch in flight returns; the queued one follows, to broker 1. */
	answer_fetch(d1, &p, 1);
	ck_assert_int_eq(a.calls, 1);
	ck_assert_str_eq(a.records, "p0");
	settle();
	peek(d1, &ri);
	ck_assert_int_eq(ri.n, 1);
	ck_assert_int_eq(ri.partition[0], 1);
	p.partition = 1;
	p.error = KAFKA_ERR_NOT_LEADER_OR_FOLLOWER;
	p.records = NULL;
	answer_fetch(d1, &p, 1);
	ck_assert_int_eq(b.calls, 0);
	advance_to(now + 0.05);
	(void)answer_any_md();
	settle();
	ck_assert_int_eq(nreqs(d1), 0);
	d2 = conn_get("h2", 9002, KCIO_DATA);
	conn_up(d2);
	peek(d2, &ri);
	ck_assert_int_eq(ri.partition[0], 1);
	ck_assert_int_eq(ri.epoch[0], 6);
	ck_assert_int_eq(ri.value[0], 20);
	p.error = 0;
	p.hw = 21;
	p.records = "from-2";
	answer_fetch(d2, &p, 1);
	ck_assert_int_eq(b.calls, 1);
	ck_assert_int_eq(b.err, KCE_OK);
	ck_assert_str_eq(b.records, "from-2");
}
END_TEST

/* ---- shutdown ---- */

START_TEST(test_free_fails_pending)
{
	static struct seen	 a, b;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	start();
	ck_assert_int_eq(kcluster_fetch(kc, "t", 0, 0, 1024, on_result, &a), 0);
	bootstrap();
	conn_up(conn_get("h1", 9001, KCIO_DATA));
	ck_assert_int_eq(kcluster_list_offset(kc, "t", 0, -1, on_result,
	    &b), 0);
	kcluster_free(kc);
	kc = NULL;
	ck_assert_int_eq(a.calls, 1);
	ck_assert_int_eq(a.err, KCE_SHUTDOWN);
	ck_assert_int_eq(b.calls, 1);
	ck_assert_int_eq(b.err, KCE_SHUTDOWN);
	ck_assert_int_eq(done_called, 1);
	ck_assert(TAILQ_EMPTY(&conns));
}
END_TEST

static Suite *
cluster_suite(void)
{
	Suite	*s = suite_create("kafka_cluster");
	TCase	*tc;

	tc = tcase_create("metadata");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_bootstrap_and_cache);
	tcase_add_test(tc, test_unknown_topic);
	suite_add_tcase(s, tc);

	tc = tcase_create("retries");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_not_leader_then_success);
	tcase_add_test(tc, test_fenced_epoch_then_success);
	tcase_add_test(tc, test_unreachable_bootstrap);
	tcase_add_test(tc, test_tls_failure_class);
	tcase_add_test(tc, test_connect_refused_at_once);
	tcase_add_test(tc, test_unreachable_leader_until_deadline);
	tcase_add_test(tc, test_deadline_waiting_for_metadata);
	tcase_add_test(tc, test_deadline_retrying);
	suite_add_tcase(s, tc);

	tc = tcase_create("fetch");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_coalescing);
	tcase_add_test(tc, test_coalescing_same_turn);
	tcase_add_test(tc, test_identical_fetches_follow);
	tcase_add_test(tc, test_poll_role);
	tcase_add_test(tc, test_poll_role_off);
	tcase_add_test(tc, test_leader_change_while_queued);
	tcase_add_test(tc, test_free_fails_pending);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(cluster_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
