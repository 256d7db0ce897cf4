/*
 * backend_kafka.c -- the Kafka backend of the pubsub bridge: list offset
 * from a shared kcluster; fetch through partition readers (kafka/reader.h:
 * a window decoded once, answered from memory, one Fetch in flight per
 * partition, read-ahead); errors in APISIX's words.
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/cluster.h"
#include "kafka/reader.h"
#include "kafka/record.h"
#include "net/log.h"
#include "src/auth.h"
#include "src/bridge.h"
#include "src/conf.h"
#include "src/kafkagate.h"

struct kreq {
	struct bridge_req	*r;
	char			*topic;
	int32_t			 partition;
	int64_t			 offset;	/* asked for */
	struct kreader		*rd;		/* fetch: the partition's reader */
	struct kreader_req	 rq;
};

static struct kreq *
kreq_new(struct bridge_req *r, const char *topic, int32_t partition,
    int64_t offset)
{
	struct kreq	*k;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	if ((k->topic = strdup(topic ? topic : "")) == NULL) {
		free(k);
		return NULL;
	}
	k->r = r;
	k->partition = partition;
	k->offset = offset;
	return k;
}

static void
kreq_free(struct kreq *k)
{
	free(k->topic);
	free(k);
}

#define KAFKA_ERR_INVALID_TOPIC	17	/* INVALID_TOPIC_EXCEPTION */
#define KAFKA_ERR_TOPIC_AUTHORIZATION_FAILED	29

/*
 * Kafka's topic name rule: 1 to 249 of [A-Za-z0-9._-].  Anything else
 * cannot exist, so it is answered at once without asking the cluster.
 */
static int
kb_topic_valid(const char *t)
{
	size_t	 n;

	for (n = 0; t[n] != '\0'; n++)
		if (!((t[n] >= 'a' && t[n] <= 'z') || (t[n] >= 'A' && t[n] <= 'Z') ||
		    (t[n] >= '0' && t[n] <= '9') || t[n] == '.' || t[n] == '_' ||
		    t[n] == '-') || n == 249)
			return 0;
	return n > 0 && strcmp(t, ".") != 0 && strcmp(t, "..") != 0;
}

/* error_resp.code for a failed operation. */
static int32_t
kb_code(int err, int16_t kafka_error)
{
	if (err == KCE_KAFKA)
		return kafka_error;
	return (int32_t)err;
}

static void
kb_on_list_offset(void *arg, const struct kcluster_result *res)
{
	struct kreq	*k = arg;

	if (res->err != KCE_OK)
		bridge_reply_error(k->r, kb_code((int)res->err, res->kafka_error), "failed to list offset, "
		    "topic: %s, partition: %d, err: %s", k->topic, k->partition,
		    res->errmsg);
	else
		bridge_reply_list_offset(k->r, res->offset);
	kreq_free(k);
}

/*
 * list_offset timestamps: -1 latest (the high watermark), -2 earliest, -3
 * the offset of the record with the largest timestamp (Kafka's
 * MAX_TIMESTAMP, KIP-734), or a time in ms.  Kafka gives other negative
 * values meanings of its own (-4 earliest local, -5 latest tiered) or
 * refuses them; they are refused here, before Kafka sees them.
 */
/*
 * The route's allow-list and the consumer's permissions (src/auth.h):
 * a denied command never reaches Kafka.  One log line per denial.
 */
static int
kb_allowed(struct bridge_req *r, int cmd, const char *topic)
{
	const struct kg_route		*kr;
	const struct auth_consumer	*u = bridge_req_grant(r);
	char				 q[BRIDGE_QUOTE_MAX + 4];

	kr = config_route_of(bridge_req_route(r));
	if (auth_allows(&kr->auth, u, cmd, topic))
		return 1;
	log_client(LOG_LVL_INFO, "auth: %s: route %s%s%s: %s of topic %s "
	    "denied", bridge_req_peer(r), kr->path, u ? ", consumer " : "",
	    u ? u->username : "", cmd == AUTH_CMD_FETCH ? "fetch" :
	    "list_offset", bridge_quote(q, sizeof(q), topic, strlen(topic)));
	return 0;
}

static int
kb_timestamp_valid(int64_t ts)
{
	return ts >= -3;
}

static void
kb_list_offset(void *backend, struct bridge_req *r, const PubSubReq *req)
{
	const CmdKafkaListOffset	*c = req->cmd_kafka_list_offset;
	struct kreq			*k;
	char				 q[BRIDGE_QUOTE_MAX + 4];

	if (!kb_topic_valid(c->topic)) {
		bridge_reply_error(r, KAFKA_ERR_INVALID_TOPIC, "failed to list "
		    "offset, topic: %s, partition: %d, err: not found topic",
		    bridge_quote(q, sizeof(q), c->topic, strlen(c->topic)),
		    c->partition);
		return;
	}
	if (!kb_allowed(r, AUTH_CMD_LIST_OFFSET, c->topic)) {
		bridge_reply_error(r, KAFKA_ERR_TOPIC_AUTHORIZATION_FAILED,
		    "failed to list offset, topic: %s, partition: %d, err: "
		    "Topic authorization failed", c->topic, c->partition);
		return;
	}
	if (!kb_timestamp_valid(c->timestamp)) {
		bridge_reply_error(r, BRIDGE_E_INVALID_ARG, "failed to list "
		    "offset, topic: %s, partition: %d, err: invalid timestamp "
		    "%lld (expected -1 latest, -2 earliest, -3 max timestamp, "
		    "or a time in ms)", c->topic, c->partition,
		    (long long)c->timestamp);
		return;
	}
	if ((k = kreq_new(r, c->topic, c->partition, 0)) == NULL ||
	    kcluster_list_offset(backend, k->topic, c->partition, c->timestamp,
	    kb_on_list_offset, k) != 0) {
		if (k != NULL)
			kreq_free(k);
		bridge_reply_error(r, BRIDGE_E_INTERNAL, "failed to list offset, "
		    "topic: %s, partition: %d, err: out of memory", c->topic,
		    c->partition);
	}
}

static int
kb_on_record(void *arg, const struct kafka_record *rec)
{
	struct kreq	*k = arg;

	return bridge_fetch_add(k->r, rec->offset, rec->timestamp, rec->key,
	    rec->key_len, rec->value, rec->value_len) != 0;
}

/* ---- fetch: partition readers (kafka/reader.h) over the kcluster ---- */

static struct kcache	*kb_cache;

/* One Fetch a reader asked for. */
struct kfetch {
	struct kreader	*rd;
	int64_t		 offset;
};

static void
kb_reader_fetched(void *arg, const struct kcluster_result *res)
{
	struct kfetch		*f = arg;
	struct kreader_fail	 fail;

	if (res->err != KCE_OK) {
		memset(&fail, 0, sizeof(fail));
		fail.err = (int)res->err;
		fail.kafka_error = res->kafka_error;
		fail.errmsg = res->errmsg;
		kreader_failed(f->rd, f->offset, &fail, kafkagate_now());
	} else
		kreader_fetched(f->rd, f->offset, res->records, res->records_len,
		    res->aborted, res->naborted, res->end_offset, kafkagate_now());
	free(f);
}

static int
kb_reader_fetch(void *owner, struct kreader *rd, const char *topic,
    int32_t partition, int64_t offset, int tail)
{
	struct kfetch	*f;

	if ((f = malloc(sizeof(*f))) == NULL)
		return -1;
	f->rd = rd;
	f->offset = offset;
	log_trace("kafka: %s-%d: fetch from %lld%s", topic, partition,
	    (long long)offset, tail ? " (at the end)" : "");
	if (kcluster_fetch_wait(owner, topic, partition, offset,
	    kafkagate_fetch_bytes(), tail, kb_reader_fetched, f) != 0) {
		free(f);
		return -1;
	}
	return 0;
}

/* The answer: the records from the reader's window, cut to the frame. */
static void
kb_answer(struct kreq *k)
{
	int64_t	 next;
	double	 now = kafkagate_now();

	(void)bridge_fetch_begin(k->r);
	if (!bridge_req_gone(k->r))
		(void)kreader_read(k->rd, &k->rq, kb_on_record, k, &next, now);
	else
		next = k->offset;
	bridge_fetch_end(k->r);
	kreader_ahead(k->rd, next, now);
	kreq_free(k);
}

static void
kb_reader_ready(void *owner, struct kreader_req *rq,
    const struct kreader_fail *f)
{
	struct kreq	*k = (struct kreq *)(void *)((char *)rq -
			    offsetof(struct kreq, rq));
	int32_t		 code;
	const char	*msg;

	(void)owner;
	if (f == NULL) {
		kb_answer(k);
		return;
	}
	switch (f->err) {
	case KREADER_ECORRUPT:
		code = BRIDGE_E_CORRUPT;
		log_warnx("kafka: %s-%d at offset %lld: %s", k->topic,
		    k->partition, (long long)k->offset, f->errmsg);
		break;
	case KREADER_ENOMEM:
		code = BRIDGE_E_INTERNAL;
		break;
	default:
		code = kb_code(f->err, f->kafka_error);
		break;
	}
	msg = f->errmsg != NULL ? f->errmsg : "unknown failure";
	bridge_reply_error(k->r, code, "failed to fetch message, topic: %s, "
	    "partition: %d, err: %s", k->topic, k->partition, msg);
	kreq_free(k);
}

static const struct kreader_ops kb_reader_ops = {
	kb_reader_fetch,
	kb_reader_ready
};

int
kafka_backend_init(size_t cache_budget)
{
	if (kb_cache == NULL &&
	    (kb_cache = kcache_new(cache_budget, &kb_reader_ops)) == NULL)
		return -1;
	return 0;
}

void
kafka_backend_sweep(double now, double idle)
{
	struct kcache_stats	 st;

	if (kb_cache == NULL)
		return;
	kcache_sweep(kb_cache, now, idle);
	if (!log_enabled(LOG_LVL_DEBUG))
		return;
	kcache_stats(kb_cache, &st);
	log_debug("cache: %zu of %zu bytes in %zu chunks, %zu readers; "
	    "%llu hits, %llu misses, %llu fetches (%llu bytes), %llu evicted",
	    st.bytes, st.budget, st.chunks, st.readers,
	    (unsigned long long)st.hits, (unsigned long long)st.misses,
	    (unsigned long long)st.fetches,
	    (unsigned long long)st.fetched_bytes,
	    (unsigned long long)st.evicted);
}

void
kafka_backend_forget(void *cluster)
{
	if (kb_cache != NULL)
		kcache_forget(kb_cache, cluster);
}

void
kafka_backend_set_budget(size_t budget)
{
	if (kb_cache != NULL)
		kcache_set_budget(kb_cache, budget);
}

void
kafka_backend_stats(struct kcache_stats *st)
{
	if (kb_cache == NULL)
		memset(st, 0, sizeof(*st));
	else
		kcache_stats(kb_cache, st);
}

void
kafka_backend_free(void)
{
	kcache_free(kb_cache);
	kb_cache = NULL;
}

static void
kb_fetch(void *backend, struct bridge_req *r, const PubSubReq *req)
{
	const CmdKafkaFetch	*c = req->cmd_kafka_fetch;
	struct kreq		*k;
	char			 q[BRIDGE_QUOTE_MAX + 4];

	if (!kb_topic_valid(c->topic)) {
		bridge_reply_error(r, KAFKA_ERR_INVALID_TOPIC, "failed to fetch "
		    "message, topic: %s, partition: %d, err: not found topic",
		    bridge_quote(q, sizeof(q), c->topic, strlen(c->topic)),
		    c->partition);
		return;
	}
	if (!kb_allowed(r, AUTH_CMD_FETCH, c->topic)) {
		bridge_reply_error(r, KAFKA_ERR_TOPIC_AUTHORIZATION_FAILED,
		    "failed to fetch message, topic: %s, partition: %d, err: "
		    "Topic authorization failed", c->topic, c->partition);
		return;
	}
	if ((k = kreq_new(r, c->topic, c->partition, c->offset)) == NULL ||
	    (kb_cache == NULL && kafka_backend_init(0) != 0) ||
	    (k->rd = kcache_reader(kb_cache, backend, c->topic,
	    c->partition)) == NULL) {
		if (k != NULL)
			kreq_free(k);
		bridge_reply_error(r, BRIDGE_E_INTERNAL, "failed to fetch message, "
		    "topic: %s, partition: %d, err: out of memory", c->topic,
		    c->partition);
		return;
	}
	switch (kreader_submit(k->rd, &k->rq, c->offset, kafkagate_now())) {
	case KREADER_READY:
		kb_answer(k);
		break;
	case KREADER_WAIT:
		break;			/* kb_reader_ready() answers */
	default:
		kreq_free(k);
		bridge_reply_error(r, BRIDGE_E_INTERNAL, "failed to fetch message, "
		    "topic: %s, partition: %d, err: out of memory", c->topic,
		    c->partition);
		break;
	}
}

const struct bridge_backend kafka_backend = {
	"kafka",
	{
		NULL,			/* 31 cmd_empty: "unknown command" */
		bridge_handle_ping,	/* 32 cmd_ping */
		kb_fetch,		/* 33 cmd_kafka_fetch */
		kb_list_offset		/* 34 cmd_kafka_list_offset */
	}
};
