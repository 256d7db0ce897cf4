/*
 * backend_kafka.c -- the Kafka backend of the pubsub bridge: list offset
 * and fetch, answered from a shared kcluster, errors in APISIX's words.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "kafka/cluster.h"
#include "kafka/record.h"
#include "net/log.h"
#include "src/bridge.h"
#include "src/kafkagate.h"

struct kreq {
	struct bridge_req	*r;
	void			*backend;	/* the kcluster */
	char			*topic;
	int32_t			 partition;
	int64_t			 offset;	/* asked for */
	int64_t			 next;		/* fetch: where to read next */
	int			 refetches;	/* past offsets without data */
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
	k->next = offset;
	return k;
}

static void
kreq_free(struct kreq *k)
{
	free(k->topic);
	free(k);
}

#define KAFKA_ERR_INVALID_TOPIC	17	/* INVALID_TOPIC_EXCEPTION */

/* Fetches in a row past offsets without data records, for one answer. */
#define KB_MAX_REFETCH		100000

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
kb_code(const struct kcluster_result *res)
{
	if (res->err == KCE_KAFKA)
		return res->kafka_error;
	return (int32_t)res->err;
}

static void
kb_on_list_offset(void *arg, const struct kcluster_result *res)
{
	struct kreq	*k = arg;

	if (res->err != KCE_OK)
		bridge_reply_error(k->r, kb_code(res), "failed to list offset, "
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

static void
kb_on_fetch(void *arg, const struct kcluster_result *res)
{
	struct kreq			*k = arg;
	struct kafka_arena		 arena;
	struct kafka_records_info	 info;

	if (res->err != KCE_OK) {
		bridge_reply_error(k->r, kb_code(res), "failed to fetch message, "
		    "topic: %s, partition: %d, err: %s", k->topic, k->partition,
		    res->errmsg);
		kreq_free(k);
		return;
	}
	if (bridge_req_gone(k->r)) {
		bridge_reply_error(k->r, BRIDGE_E_SHUTDOWN, "client gone");
		kreq_free(k);
		return;
	}
	kafka_arena_init(&arena, 0);
	memset(&info, 0, sizeof(info));
	(void)bridge_fetch_begin(k->r);
	/* Under read_committed, records of aborted transactions are skipped. */
	if (kafka_records_decode_txn(res->records, res->records_len, k->next,
	    res->aborted, res->naborted, &arena, kb_on_record, k, &info) != 0 &&
	    info.delivered == 0) {
		/* Nothing good before the bad batch: say what is wrong. */
		log_warnx("kafka: %s-%d at offset %lld: %s", k->topic,
		    k->partition, (long long)info.next_offset, info.errmsg);
		kafka_arena_free(&arena);
		bridge_reply_error(k->r, BRIDGE_E_CORRUPT, "failed to fetch "
		    "message, topic: %s, partition: %d, err: %s", k->topic,
		    k->partition, info.errmsg);
		kreq_free(k);
		return;
	}
	/*
	 * Nothing to deliver, but the log goes on: the answer held only
	 * offsets without data records (transaction markers; a segment that
	 * ends in a COMMIT marker, since a broker answers from one segment;
	 * a compacted changelog of markers).  An empty answer would make
	 * the client ask for the same offset forever: read on from where
	 * decoding stopped until there are records or the end of the log.
	 * Every round moves forward, so this ends.
	 */
	if (info.delivered == 0 && info.err == KAFKA_RECORDS_OK &&
	    info.next_offset > k->next && info.next_offset < res->end_offset &&
	    k->refetches < KB_MAX_REFETCH) {
		kafka_arena_free(&arena);
		k->next = info.next_offset;
		k->refetches++;
		log_debug("kafka: %s-%d: no data records before offset %lld, "
		    "reading on", k->topic, k->partition, (long long)k->next);
		if (kcluster_fetch(k->backend, k->topic, k->partition, k->next,
		    kafkagate_fetch_bytes(), kb_on_fetch, k) != 0) {
			bridge_reply_error(k->r, BRIDGE_E_INTERNAL, "failed to "
			    "fetch message, topic: %s, partition: %d, err: out of "
			    "memory", k->topic, k->partition);
			kreq_free(k);
		}
		return;
	}
	/*
	 * Records delivered before a bad batch are answered; the next fetch
	 * (from the last offset + 1) meets the bad batch first and reports it.
	 */
	bridge_fetch_end(k->r);
	kafka_arena_free(&arena);
	kreq_free(k);
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
	if ((k = kreq_new(r, c->topic, c->partition, c->offset)) != NULL)
		k->backend = backend;
	if (k == NULL ||
	    kcluster_fetch(backend, k->topic, c->partition, c->offset,
	    kafkagate_fetch_bytes(), kb_on_fetch, k) != 0) {
		if (k != NULL)
			kreq_free(k);
		bridge_reply_error(r, BRIDGE_E_INTERNAL, "failed to fetch message, "
		    "topic: %s, partition: %d, err: out of memory", c->topic,
		    c->partition);
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
