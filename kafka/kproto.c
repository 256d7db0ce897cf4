/*
 * kproto.c -- Kafka request encoders and response decoders (pure codec).
 *
 * Field layouts follow Apache Kafka's message definitions
 * (the *.json files in clients/src/main/resources/common/message/); the
 * comments name the fields and the versions that carry them.  Decoders
 * read a whole structure through the sticky-error kreader and check the
 * error once per element; every array count is bounded by the bytes left
 * before anything is allocated (kr_array() with the element's smallest
 * encoding).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/kproto.h"

/* Smallest encodings, non-flexible / flexible. */
#define STR_MIN(f)	((size_t)((f) ? 1 : 2))	/* STRING length */
#define ARR_MIN(f)	((size_t)((f) ? 1 : 4))	/* ARRAY count */
#define BYTES_MIN(f)	((size_t)((f) ? 1 : 4))	/* BYTES length */
#define TAGS_MIN(f)	((size_t)((f) ? 1 : 0))	/* empty TAG_BUFFER */
#define IF(c, n)	((size_t)((c) ? (n) : 0))

struct kafka_api_info {
	int16_t		 key;
	int16_t		 min;
	int16_t		 max;
	int16_t		 flex;		/* first flexible version, -1 never */
	int		 impl;		/* encoders/decoders in this file */
};

static const struct kafka_api_info kafka_apis[] = {
	{ KAFKA_API_FETCH,		4, 12, 12, 1 },
	{ KAFKA_API_LIST_OFFSETS,	1,  9,  6, 1 },
	{ KAFKA_API_METADATA,		1, 12,  9, 1 },
	/* v1 only: v0 carries the tokens as raw frames (KIP-152). */
	{ KAFKA_API_SASL_HANDSHAKE,	1,  1, -1, 1 },
	{ KAFKA_API_VERSIONS,		0,  3,  3, 1 },
	{ KAFKA_API_SASL_AUTHENTICATE,	0,  2,  2, 1 },
};

/* Errors.java, codes -1 to 129. */
static const char *const kafka_err_names[] = {
	"UNKNOWN_SERVER_ERROR",				/* -1 */
	"NONE",
	"OFFSET_OUT_OF_RANGE",
	"CORRUPT_MESSAGE",
	"UNKNOWN_TOPIC_OR_PARTITION",
	"INVALID_FETCH_SIZE",
	"LEADER_NOT_AVAILABLE",
	"NOT_LEADER_OR_FOLLOWER",
	"REQUEST_TIMED_OUT",
	"BROKER_NOT_AVAILABLE",
	"REPLICA_NOT_AVAILABLE",
	"MESSAGE_TOO_LARGE",				/* 10 */
	"STALE_CONTROLLER_EPOCH",
	"OFFSET_METADATA_TOO_LARGE",
	"NETWORK_EXCEPTION",
	"COORDINATOR_LOAD_IN_PROGRESS",
	"COORDINATOR_NOT_AVAILABLE",
	"NOT_COORDINATOR",
	"INVALID_TOPIC_EXCEPTION",
	"RECORD_LIST_TOO_LARGE",
	"NOT_ENOUGH_REPLICAS",
	"NOT_ENOUGH_REPLICAS_AFTER_APPEND",		/* 20 */
	"INVALID_REQUIRED_ACKS",
	"ILLEGAL_GENERATION",
	"INCONSISTENT_GROUP_PROTOCOL",
	"INVALID_GROUP_ID",
	"UNKNOWN_MEMBER_ID",
	"INVALID_SESSION_TIMEOUT",
	"REBALANCE_IN_PROGRESS",
	"INVALID_COMMIT_OFFSET_SIZE",
	"TOPIC_AUTHORIZATION_FAILED",
	"GROUP_AUTHORIZATION_FAILED",			/* 30 */
	"CLUSTER_AUTHORIZATION_FAILED",
	"INVALID_TIMESTAMP",
	"UNSUPPORTED_SASL_MECHANISM",
	"ILLEGAL_SASL_STATE",
	"UNSUPPORTED_VERSION",
	"TOPIC_ALREADY_EXISTS",
	"INVALID_PARTITIONS",
	"INVALID_REPLICATION_FACTOR",
	"INVALID_REPLICA_ASSIGNMENT",
	"INVALID_CONFIG",				/* 40 */
	"NOT_CONTROLLER",
	"INVALID_REQUEST",
	"UNSUPPORTED_FOR_MESSAGE_FORMAT",
	"POLICY_VIOLATION",
	"OUT_OF_ORDER_SEQUENCE_NUMBER",
	"DUPLICATE_SEQUENCE_NUMBER",
	"INVALID_PRODUCER_EPOCH",
	"INVALID_TXN_STATE",
	"INVALID_PRODUCER_ID_MAPPING",
	"INVALID_TRANSACTION_TIMEOUT",			/* 50 */
	"CONCURRENT_TRANSACTIONS",
	"TRANSACTION_COORDINATOR_FENCED",
	"TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
	"SECURITY_DISABLED",
	"OPERATION_NOT_ATTEMPTED",
	"KAFKA_STORAGE_ERROR",
	"LOG_DIR_NOT_FOUND",
	"SASL_AUTHENTICATION_FAILED",
	"UNKNOWN_PRODUCER_ID",
	"REASSIGNMENT_IN_PROGRESS",			/* 60 */
	"DELEGATION_TOKEN_AUTH_DISABLED",
	"DELEGATION_TOKEN_NOT_FOUND",
	"DELEGATION_TOKEN_OWNER_MISMATCH",
	"DELEGATION_TOKEN_REQUEST_NOT_ALLOWED",
	"DELEGATION_TOKEN_AUTHORIZATION_FAILED",
	"DELEGATION_TOKEN_EXPIRED",
	"INVALID_PRINCIPAL_TYPE",
	"NON_EMPTY_GROUP",
	"GROUP_ID_NOT_FOUND",
	"FETCH_SESSION_ID_NOT_FOUND",			/* 70 */
	"INVALID_FETCH_SESSION_EPOCH",
	"LISTENER_NOT_FOUND",
	"TOPIC_DELETION_DISABLED",
	"FENCED_LEADER_EPOCH",
	"UNKNOWN_LEADER_EPOCH",
	"UNSUPPORTED_COMPRESSION_TYPE",
	"STALE_BROKER_EPOCH",
	"OFFSET_NOT_AVAILABLE",
	"MEMBER_ID_REQUIRED",
	"PREFERRED_LEADER_NOT_AVAILABLE",		/* 80 */
	"GROUP_MAX_SIZE_REACHED",
	"FENCED_INSTANCE_ID",
	"ELIGIBLE_LEADERS_NOT_AVAILABLE",
	"ELECTION_NOT_NEEDED",
	"NO_REASSIGNMENT_IN_PROGRESS",
	"GROUP_SUBSCRIBED_TO_TOPIC",
	"INVALID_RECORD",
	"UNSTABLE_OFFSET_COMMIT",
	"THROTTLING_QUOTA_EXCEEDED",
	"PRODUCER_FENCED",				/* 90 */
	"RESOURCE_NOT_FOUND",
	"DUPLICATE_RESOURCE",
	"UNACCEPTABLE_CREDENTIAL",
	"INCONSISTENT_VOTER_SET",
	"INVALID_UPDATE_VERSION",
	"FEATURE_UPDATE_FAILED",
	"PRINCIPAL_DESERIALIZATION_FAILURE",
	"SNAPSHOT_NOT_FOUND",
	"POSITION_OUT_OF_RANGE",
	"UNKNOWN_TOPIC_ID",				/* 100 */
	"DUPLICATE_BROKER_REGISTRATION",
	"BROKER_ID_NOT_REGISTERED",
	"INCONSISTENT_TOPIC_ID",
	"INCONSISTENT_CLUSTER_ID",
	"TRANSACTIONAL_ID_NOT_FOUND",
	"FETCH_SESSION_TOPIC_ID_ERROR",
	"INELIGIBLE_REPLICA",
	"NEW_LEADER_ELECTED",
	"OFFSET_MOVED_TO_TIERED_STORAGE",
	"FENCED_MEMBER_EPOCH",				/* 110 */
	"UNRELEASED_INSTANCE_ID",
	"UNSUPPORTED_ASSIGNOR",
	"STALE_MEMBER_EPOCH",
	"MISMATCHED_ENDPOINT_TYPE",
	"UNSUPPORTED_ENDPOINT_TYPE",
	"UNKNOWN_CONTROLLER_ID",
	"UNKNOWN_SUBSCRIPTION_ID",
	"TELEMETRY_TOO_LARGE",
	"INVALID_REGISTRATION",
	"TRANSACTION_ABORTABLE",			/* 120 */
	"INVALID_RECORD_STATE",
	"SHARE_SESSION_NOT_FOUND",
	"INVALID_SHARE_SESSION_EPOCH",
	"FENCED_STATE_EPOCH",
	"INVALID_VOTER_KEY",
	"DUPLICATE_VOTER",
	"VOTER_NOT_FOUND",
	"INVALID_REGULAR_EXPRESSION",
	"REBOOTSTRAP_REQUIRED",				/* 129 */
};

static const struct kafka_api_info *kafka_api_find(int16_t);
static int	 kafka_enc_ok(int16_t, int16_t);
static void	 kp_cstr(struct kwriter *, int, const char *);
static int	 kafka_enc_fail(struct kwriter *, size_t);
static struct kstr kp_name(struct kreader *, int);
static int32_t	 kp_count(struct kreader *, int, size_t);
static void	 kp_skip_i32s(struct kreader *, int);
static int	 kafka_grow(void **, size_t, int32_t, int32_t);
static int	 kafka_dec_api_versions_at(const uint8_t *, size_t, int16_t,
		    struct kafka_api_versions_resp *);

const char *
kafka_api_name(int16_t api_key)
{
	static __thread char	 buf[24];

	switch (api_key) {
	case KAFKA_API_FETCH:
		return "Fetch";
	case KAFKA_API_LIST_OFFSETS:
		return "ListOffsets";
	case KAFKA_API_METADATA:
		return "Metadata";
	case KAFKA_API_SASL_HANDSHAKE:
		return "SaslHandshake";
	case KAFKA_API_VERSIONS:
		return "ApiVersions";
	case KAFKA_API_SASL_AUTHENTICATE:
		return "SaslAuthenticate";
	default:
		(void)snprintf(buf, sizeof(buf), "ApiKey %d", api_key);
		return buf;
	}
}

const char *
kafka_err_name(int16_t code)
{
	static _Thread_local char	 buf[32];
	size_t				 n;

	n = sizeof(kafka_err_names) / sizeof(kafka_err_names[0]);
	if (code >= -1 && (size_t)(code + 1) < n)
		return kafka_err_names[code + 1];
	(void)snprintf(buf, sizeof(buf), "UNKNOWN_ERROR_%d", code);
	return buf;
}

static const struct kafka_api_info *
kafka_api_find(int16_t api_key)
{
	size_t	 i;

	for (i = 0; i < sizeof(kafka_apis) / sizeof(kafka_apis[0]); i++)
		if (kafka_apis[i].key == api_key)
			return &kafka_apis[i];
	return NULL;
}

int
kafka_api_supported(int16_t api_key, int16_t *min, int16_t *max)
{
	const struct kafka_api_info	*a;

	if ((a = kafka_api_find(api_key)) == NULL || !a->impl)
		return -1;
	if (min != NULL)
		*min = a->min;
	if (max != NULL)
		*max = a->max;
	return 0;
}

int
kafka_api_flexible(int16_t api_key, int16_t version)
{
	const struct kafka_api_info	*a;

	if ((a = kafka_api_find(api_key)) == NULL || a->flex < 0)
		return 0;
	return version >= a->flex;
}

/* 1 if the API is implemented here at that version. */
static int
kafka_enc_ok(int16_t api_key, int16_t version)
{
	int16_t	 min, max;

	if (kafka_api_supported(api_key, &min, &max) != 0)
		return 0;
	return version >= min && version <= max;
}

/* A C string as STRING or COMPACT_STRING; NULL writes a null string. */
static void
kp_cstr(struct kwriter *w, int flexible, const char *s)
{
	size_t	 len;

	if (s == NULL) {
		kw_str(w, flexible, NULL, -1);
		return;
	}
	len = strlen(s);
	if (len > INT16_MAX) {	/* no Kafka string field is longer */
		w->err = 1;
		return;
	}
	kw_str(w, flexible, s, (int32_t)len);
}

size_t
kafka_req_begin(struct kwriter *w, int16_t api_key, int16_t version,
    int32_t correlation_id, const char *client_id)
{
	size_t	 start = w->len;

	kw_i32(w, 0);				/* size, patched by req_end */
	kw_i16(w, api_key);			/* RequestApiKey */
	kw_i16(w, version);			/* RequestApiVersion */
	kw_i32(w, correlation_id);		/* CorrelationId */
	kp_cstr(w, 0, client_id);		/* ClientId, never compact */
	kw_tags(w, kafka_api_flexible(api_key, version)); /* header v2 */
	return start;
}

int
kafka_req_end(struct kwriter *w, size_t start)
{
	size_t	 size;

	if (w->err || start > w->len || w->len - start < 4)
		return -1;
	size = w->len - start - 4;
	if (size > INT32_MAX) {
		w->err = 1;
		return -1;
	}
	kw_put_i32(w, start, (int32_t)size);
	return w->err ? -1 : 0;
}

/*
 * An encoder failed part way: drop the partial frame so that frames
 * written before it stay intact.  The writer's error stays set.
 */
static int
kafka_enc_fail(struct kwriter *w, size_t start)
{
	if (start <= w->len)
		w->len = start;
	w->err = 1;
	return -1;
}

void
kafka_resp_header_rest(struct kreader *r, int16_t api_key, int16_t version)
{
	/* KIP-511: the ApiVersions response always has header v0. */
	if (api_key == KAFKA_API_VERSIONS)
		return;
	kr_tags(r, kafka_api_flexible(api_key, version));
}

/* A non-nullable STRING: null is malformed. */
static struct kstr
kp_name(struct kreader *r, int flexible)
{
	struct kstr	 s;

	s = kr_str(r, flexible);
	if (s.len < 0)
		kr_fail(r);
	return s;
}

/* A non-nullable ARRAY count: null is malformed.  -1 on error. */
static int32_t
kp_count(struct kreader *r, int flexible, size_t min_elem)
{
	int32_t	 n;

	n = kr_array(r, flexible, min_elem);
	if (n < 0) {
		kr_fail(r);
		return -1;
	}
	return n;
}

/* Skip a non-nullable []int32. */
static void
kp_skip_i32s(struct kreader *r, int flexible)
{
	int32_t	 n;

	if ((n = kp_count(r, flexible, 4)) > 0)
		kr_skip(r, (size_t)n * 4);
}

/*
 * Make room for more elements in a flattened result array of have
 * elements.  The counts were bounded by the input size, so the sum cannot
 * overflow.
 */
static int
kafka_grow(void **arr, size_t elem, int32_t have, int32_t more)
{
	void	*p;
	size_t	 n;

	if (more <= 0)
		return 0;
	n = (size_t)have + (size_t)more;
	if (n > SIZE_MAX / elem)
		return -1;
	if ((p = realloc(*arr, n * elem)) == NULL)
		return -1;
	*arr = p;
	return 0;
}

/* ---- ApiVersions (18) ---- */

int
kafka_enc_api_versions(struct kwriter *w, int16_t version, int32_t corr,
    const char *client_id, const char *sw_name, const char *sw_version)
{
	size_t	 start;

	if (!kafka_enc_ok(KAFKA_API_VERSIONS, version))
		return -1;
	if (version >= 3 && (sw_name == NULL || sw_version == NULL))
		return -1;
	start = kafka_req_begin(w, KAFKA_API_VERSIONS, version, corr,
	    client_id);
	if (version >= 3) {
		kp_cstr(w, 1, sw_name);		/* ClientSoftwareName */
		kp_cstr(w, 1, sw_version);	/* ClientSoftwareVersion */
		kw_tags(w, 1);
	}
	if (kafka_req_end(w, start) != 0)
		return kafka_enc_fail(w, start);
	return 0;
}

/* Decode the body strictly as the given version. */
static int
kafka_dec_api_versions_at(const uint8_t *buf, size_t len, int16_t version,
    struct kafka_api_versions_resp *resp)
{
	struct kreader	 r;
	int		 flex = version >= 3;
	int32_t		 i, n;

	memset(resp, 0, sizeof(*resp));
	kr_init(&r, buf, len);
	resp->error_code = kr_i16(&r);			/* ErrorCode */
	n = kp_count(&r, flex, 6 + TAGS_MIN(flex));	/* ApiKeys */
	if (r.err)
		return -1;
	if (n > 0 && (resp->apis = calloc((size_t)n,
	    sizeof(*resp->apis))) == NULL)
		return -1;
	for (i = 0; i < n && !r.err; i++) {
		resp->apis[i].api_key = kr_i16(&r);	/* ApiKey */
		resp->apis[i].min = kr_i16(&r);		/* MinVersion */
		resp->apis[i].max = kr_i16(&r);		/* MaxVersion */
		kr_tags(&r, flex);
	}
	resp->count = n;
	if (version >= 1)
		resp->throttle_ms = kr_i32(&r);		/* ThrottleTimeMs */
	kr_tags(&r, flex);	/* SupportedFeatures, FinalizedFeatures, ... */
	if (r.err) {
		kafka_api_versions_free(resp);
		return -1;
	}
	return 0;
}

int
kafka_dec_api_versions(const uint8_t *buf, size_t len, int16_t version,
    struct kafka_api_versions_resp *resp)
{
	struct kreader	 r;
	int16_t		 err;

	memset(resp, 0, sizeof(*resp));
	if (version < 0 || version > 3)
		return -1;
	kr_init(&r, buf, len);
	err = kr_i16(&r);
	if (r.err)
		return -1;
	if (err != KAFKA_ERR_UNSUPPORTED_VERSION)
		return kafka_dec_api_versions_at(buf, len, version, resp);

	/*
	 * KIP-511: a broker that does not know the version we sent answers
	 * with a v0 body.  Try v0 first, then the version we sent (as the
	 * Java client does), and if neither parses (the librdkafka 2.0.2
	 * mock answers v3 with a malformed body) still report the error
	 * with an empty list so that the caller retries a lower version.
	 */
	if (kafka_dec_api_versions_at(buf, len, 0, resp) == 0)
		return 0;
	if (version != 0 &&
	    kafka_dec_api_versions_at(buf, len, version, resp) == 0)
		return 0;
	memset(resp, 0, sizeof(*resp));
	resp->error_code = err;
	return 0;
}

void
kafka_api_versions_free(struct kafka_api_versions_resp *resp)
{
	free(resp->apis);
	memset(resp, 0, sizeof(*resp));
}

/* ---- Metadata (3) ---- */

int
kafka_enc_metadata(struct kwriter *w, int16_t version, int32_t corr,
    const char *client_id, const char *const *topics, int ntopics)
{
	static const uint8_t	 zero_uuid[16];
	size_t			 start;
	int			 flex, i;

	if (!kafka_enc_ok(KAFKA_API_METADATA, version))
		return -1;
	if (ntopics < 0 || (topics == NULL && ntopics > 0))
		return -1;
	for (i = 0; i < ntopics; i++)
		if (topics[i] == NULL)
			return -1;
	flex = kafka_api_flexible(KAFKA_API_METADATA, version);
	start = kafka_req_begin(w, KAFKA_API_METADATA, version, corr,
	    client_id);
	/* Topics: null = all topics (v1+), empty = none. */
	kw_array(w, flex, topics == NULL ? -1 : ntopics);
	for (i = 0; i < ntopics; i++) {
		if (version >= 10)
			kw_raw(w, zero_uuid, sizeof(zero_uuid)); /* TopicId */
		kp_cstr(w, flex, topics[i]);		/* Name */
		kw_tags(w, flex);
	}
	if (version >= 4)
		kw_i8(w, 0);		/* AllowAutoTopicCreation */
	if (version >= 8 && version <= 10)
		kw_i8(w, 0);		/* IncludeClusterAuthorizedOperations */
	if (version >= 8)
		kw_i8(w, 0);		/* IncludeTopicAuthorizedOperations */
	kw_tags(w, flex);
	if (kafka_req_end(w, start) != 0)
		return kafka_enc_fail(w, start);
	return 0;
}

int
kafka_dec_metadata(const uint8_t *buf, size_t len, int16_t version,
    struct kafka_metadata_resp *resp)
{
	struct kreader			 r;
	struct kafka_md_broker		*b;
	struct kafka_md_topic		*t;
	struct kafka_md_partition	*p;
	size_t				 bmin, tmin, pmin;
	int32_t				 i, j, n;
	int				 flex;

	memset(resp, 0, sizeof(*resp));
	if (!kafka_enc_ok(KAFKA_API_METADATA, version))
		return -1;
	flex = kafka_api_flexible(KAFKA_API_METADATA, version);
	/* Smallest broker, topic and partition encodings at this version. */
	bmin = 4 + STR_MIN(flex) + 4 + IF(version >= 1, STR_MIN(flex)) +
	    TAGS_MIN(flex);
	tmin = 2 + STR_MIN(flex) + IF(version >= 10, 16) + IF(version >= 1, 1) +
	    ARR_MIN(flex) + IF(version >= 8, 4) + TAGS_MIN(flex);
	pmin = 2 + 4 + 4 + IF(version >= 7, 4) + 2 * ARR_MIN(flex) +
	    IF(version >= 5, ARR_MIN(flex)) + TAGS_MIN(flex);

	kr_init(&r, buf, len);
	if (version >= 3)
		(void)kr_i32(&r);			/* ThrottleTimeMs */
	n = kp_count(&r, flex, bmin);			/* Brokers */
	if (r.err)
		goto bad;
	if (n > 0 && (resp->brokers = calloc((size_t)n,
	    sizeof(*resp->brokers))) == NULL)
		goto bad;
	resp->broker_count = n;
	for (i = 0; i < n && !r.err; i++) {
		b = &resp->brokers[i];
		b->node_id = kr_i32(&r);		/* NodeId */
		b->host = kp_name(&r, flex);		/* Host */
		b->port = kr_i32(&r);			/* Port */
		if (version >= 1)
			(void)kr_str(&r, flex);		/* Rack, nullable */
		kr_tags(&r, flex);
	}
	if (version >= 2)
		(void)kr_str(&r, flex);		/* ClusterId, nullable */
	resp->controller_id = -1;
	if (version >= 1)
		resp->controller_id = kr_i32(&r);	/* ControllerId */

	n = kp_count(&r, flex, tmin);			/* Topics */
	if (r.err)
		goto bad;
	if (n > 0 && (resp->topics = calloc((size_t)n,
	    sizeof(*resp->topics))) == NULL)
		goto bad;
	resp->topic_count = n;
	for (i = 0; i < n && !r.err; i++) {
		t = &resp->topics[i];
		t->error_code = kr_i16(&r);		/* ErrorCode */
		if (version >= 12)
			t->name = kr_str(&r, flex);	/* Name, nullable */
		else
			t->name = kp_name(&r, flex);	/* Name */
		if (version >= 10)
			kr_skip(&r, 16);		/* TopicId */
		if (version >= 1)
			(void)kr_i8(&r);		/* IsInternal */
		t->partition_count = kp_count(&r, flex, pmin); /* Partitions */
		if (r.err)
			break;
		if (t->partition_count > 0 &&
		    (t->partitions = calloc((size_t)t->partition_count,
		    sizeof(*t->partitions))) == NULL)
			goto bad;
		for (j = 0; j < t->partition_count && !r.err; j++) {
			p = &t->partitions[j];
			p->error_code = kr_i16(&r);	/* ErrorCode */
			p->partition = kr_i32(&r);	/* PartitionIndex */
			p->leader_id = kr_i32(&r);	/* LeaderId */
			p->leader_epoch = -1;
			if (version >= 7)
				p->leader_epoch = kr_i32(&r); /* LeaderEpoch */
			kp_skip_i32s(&r, flex);		/* ReplicaNodes */
			kp_skip_i32s(&r, flex);		/* IsrNodes */
			if (version >= 5)
				kp_skip_i32s(&r, flex);	/* OfflineReplicas */
			kr_tags(&r, flex);
		}
		if (version >= 8)
			(void)kr_i32(&r);	/* TopicAuthorizedOperations */
		kr_tags(&r, flex);
	}
	if (version >= 8 && version <= 10)
		(void)kr_i32(&r);	/* ClusterAuthorizedOperations */
	kr_tags(&r, flex);
	if (r.err)
		goto bad;
	return 0;
bad:
	kafka_metadata_free(resp);
	return -1;
}

void
kafka_metadata_free(struct kafka_metadata_resp *resp)
{
	int32_t	 i;

	free(resp->brokers);
	for (i = 0; i < resp->topic_count && resp->topics != NULL; i++)
		free(resp->topics[i].partitions);
	free(resp->topics);
	memset(resp, 0, sizeof(*resp));
}

/* ---- ListOffsets (2) ---- */

int
kafka_enc_list_offsets(struct kwriter *w, int16_t version, int32_t corr,
    const char *client_id, int8_t isolation_level,
    const struct kafka_lo_req *req, int n)
{
	size_t	 start;
	int	 flex, i, j, ntopics;

	if (!kafka_enc_ok(KAFKA_API_LIST_OFFSETS, version))
		return -1;
	if (n < 0 || (req == NULL && n > 0))
		return -1;
	ntopics = 0;
	for (i = 0; i < n; i++) {
		if (req[i].topic == NULL)
			return -1;
		if (i == 0 || strcmp(req[i].topic, req[i - 1].topic) != 0)
			ntopics++;
	}
	flex = kafka_api_flexible(KAFKA_API_LIST_OFFSETS, version);
	start = kafka_req_begin(w, KAFKA_API_LIST_OFFSETS, version, corr,
	    client_id);
	kw_i32(w, -1);				/* ReplicaId: a consumer */
	if (version >= 2)
		kw_i8(w, isolation_level);	/* IsolationLevel */
	kw_array(w, flex, ntopics);		/* Topics */
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n; j++)
			if (strcmp(req[j].topic, req[i].topic) != 0)
				break;
		kp_cstr(w, flex, req[i].topic);	/* Name */
		kw_array(w, flex, j - i);	/* Partitions */
		for (; i < j; i++) {
			kw_i32(w, req[i].partition);	/* PartitionIndex */
			if (version >= 4)		/* CurrentLeaderEpoch */
				kw_i32(w, req[i].current_leader_epoch);
			kw_i64(w, req[i].timestamp);	/* Timestamp */
			kw_tags(w, flex);
		}
		kw_tags(w, flex);
	}
	/* TimeoutMs is v10+, above what we implement. */
	kw_tags(w, flex);
	if (kafka_req_end(w, start) != 0)
		return kafka_enc_fail(w, start);
	return 0;
}

int
kafka_dec_list_offsets(const uint8_t *buf, size_t len, int16_t version,
    struct kafka_list_offsets_resp *resp)
{
	struct kreader		 r;
	struct kafka_lo_result	*res;
	struct kstr		 topic;
	size_t			 tmin, pmin;
	int32_t			 i, j, nt, np;
	int			 flex;

	memset(resp, 0, sizeof(*resp));
	if (!kafka_enc_ok(KAFKA_API_LIST_OFFSETS, version))
		return -1;
	flex = kafka_api_flexible(KAFKA_API_LIST_OFFSETS, version);
	tmin = STR_MIN(flex) + ARR_MIN(flex) + TAGS_MIN(flex);
	pmin = 4 + 2 + 8 + 8 + IF(version >= 4, 4) + TAGS_MIN(flex);

	kr_init(&r, buf, len);
	if (version >= 2)
		(void)kr_i32(&r);			/* ThrottleTimeMs */
	nt = kp_count(&r, flex, tmin);			/* Topics */
	for (i = 0; i < nt && !r.err; i++) {
		topic = kp_name(&r, flex);		/* Name */
		np = kp_count(&r, flex, pmin);		/* Partitions */
		if (r.err)
			break;
		if (kafka_grow((void **)&resp->results,
		    sizeof(*resp->results), resp->count, np) != 0)
			goto bad;
		for (j = 0; j < np && !r.err; j++) {
			res = &resp->results[resp->count++];
			res->topic = topic;
			res->partition = kr_i32(&r);	/* PartitionIndex */
			res->error_code = kr_i16(&r);	/* ErrorCode */
			res->timestamp = kr_i64(&r);	/* Timestamp */
			res->offset = kr_i64(&r);	/* Offset */
			res->leader_epoch = -1;
			if (version >= 4)	/* LeaderEpoch */
				res->leader_epoch = kr_i32(&r);
			kr_tags(&r, flex);
		}
		kr_tags(&r, flex);
	}
	kr_tags(&r, flex);
	if (r.err)
		goto bad;
	return 0;
bad:
	kafka_list_offsets_free(resp);
	return -1;
}

void
kafka_list_offsets_free(struct kafka_list_offsets_resp *resp)
{
	free(resp->results);
	memset(resp, 0, sizeof(*resp));
}

/* ---- Fetch (1) ---- */

int
kafka_enc_fetch(struct kwriter *w, int16_t version, int32_t corr,
    const char *client_id, const struct kafka_fetch_req *req)
{
	const struct kafka_fetch_part_req	*pr;
	size_t					 start;
	int					 flex, i, j, n, ntopics;

	if (!kafka_enc_ok(KAFKA_API_FETCH, version) || req == NULL)
		return -1;
	n = req->nparts;
	pr = req->parts;
	if (n < 0 || (pr == NULL && n > 0))
		return -1;
	ntopics = 0;
	for (i = 0; i < n; i++) {
		if (pr[i].topic == NULL)
			return -1;
		if (i == 0 || strcmp(pr[i].topic, pr[i - 1].topic) != 0)
			ntopics++;
	}
	flex = kafka_api_flexible(KAFKA_API_FETCH, version);
	start = kafka_req_begin(w, KAFKA_API_FETCH, version, corr, client_id);
	kw_i32(w, -1);				/* ReplicaId: a consumer */
	kw_i32(w, req->max_wait_ms);		/* MaxWaitMs */
	kw_i32(w, req->min_bytes);		/* MinBytes */
	kw_i32(w, req->max_bytes);		/* MaxBytes */
	kw_i8(w, req->isolation_level);		/* IsolationLevel */
	if (version >= 7) {
		kw_i32(w, 0);			/* SessionId: sessionless */
		kw_i32(w, -1);			/* SessionEpoch: FINAL_EPOCH */
	}
	kw_array(w, flex, ntopics);		/* Topics */
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n; j++)
			if (strcmp(pr[j].topic, pr[i].topic) != 0)
				break;
		kp_cstr(w, flex, pr[i].topic);	/* Topic */
		kw_array(w, flex, j - i);	/* Partitions */
		for (; i < j; i++) {
			kw_i32(w, pr[i].partition);	/* Partition */
			if (version >= 9)		/* CurrentLeaderEpoch */
				kw_i32(w, pr[i].current_leader_epoch);
			kw_i64(w, pr[i].fetch_offset);	/* FetchOffset */
			if (version >= 12)
				kw_i32(w, -1);		/* LastFetchedEpoch */
			if (version >= 5)
				kw_i64(w, -1);		/* LogStartOffset */
			kw_i32(w, pr[i].partition_max_bytes);
			kw_tags(w, flex);
		}
		kw_tags(w, flex);
	}
	if (version >= 7)
		kw_array(w, flex, 0);		/* ForgottenTopicsData */
	if (version >= 11)
		kp_cstr(w, flex, "");		/* RackId */
	kw_tags(w, flex);			/* ClusterId (tag 0) not sent */
	if (kafka_req_end(w, start) != 0)
		return kafka_enc_fail(w, start);
	return 0;
}

int
kafka_dec_fetch(const uint8_t *buf, size_t len, int16_t version,
    struct kafka_fetch_resp *resp)
{
	struct kreader		 r;
	struct kafka_fetch_part	*p;
	struct kstr		 topic, rec;
	size_t			 tmin, pmin;
	int32_t			 i, j, k, nt, np, na;
	int			 flex;

	memset(resp, 0, sizeof(*resp));
	if (!kafka_enc_ok(KAFKA_API_FETCH, version))
		return -1;
	flex = kafka_api_flexible(KAFKA_API_FETCH, version);
	tmin = STR_MIN(flex) + ARR_MIN(flex) + TAGS_MIN(flex);
	pmin = 4 + 2 + 8 + 8 + IF(version >= 5, 8) + ARR_MIN(flex) +
	    IF(version >= 11, 4) + BYTES_MIN(flex) + TAGS_MIN(flex);

	kr_init(&r, buf, len);
	resp->throttle_ms = kr_i32(&r);			/* ThrottleTimeMs */
	if (version >= 7) {
		resp->error_code = kr_i16(&r);		/* ErrorCode */
		(void)kr_i32(&r);			/* SessionId */
	}
	nt = kp_count(&r, flex, tmin);			/* Responses */
	for (i = 0; i < nt && !r.err; i++) {
		topic = kp_name(&r, flex);		/* Topic */
		np = kp_count(&r, flex, pmin);		/* Partitions */
		if (r.err)
			break;
		if (kafka_grow((void **)&resp->parts, sizeof(*resp->parts),
		    resp->count, np) != 0)
			goto bad;
		for (j = 0; j < np && !r.err; j++) {
			p = &resp->parts[resp->count++];
			memset(p, 0, sizeof(*p));
			p->topic = topic;
			p->partition = kr_i32(&r);	/* PartitionIndex */
			p->error_code = kr_i16(&r);	/* ErrorCode */
			p->high_watermark = kr_i64(&r);	/* HighWatermark */
			/* LastStableOffset: v4+, always here */
			p->last_stable_offset = kr_i64(&r);
			p->log_start_offset = -1;
			if (version >= 5)		/* LogStartOffset */
				p->log_start_offset = kr_i64(&r);
			/* AbortedTransactions, nullable; bounded */
			na = kr_array(&r, flex, 16 + TAGS_MIN(flex));
			if (na > 0 && (p->aborted = calloc((size_t)na,
			    sizeof(*p->aborted))) == NULL)
				goto bad;
			for (k = 0; k < na && !r.err; k++) {
				/* ProducerId, FirstOffset */
				p->aborted[k].producer_id = kr_i64(&r);
				p->aborted[k].first_offset = kr_i64(&r);
				kr_tags(&r, flex);
			}
			if (na > 0)
				p->naborted = na;
			p->preferred_read_replica = -1;
			if (version >= 11)	/* PreferredReadReplica */
				p->preferred_read_replica = kr_i32(&r);
			rec = kr_bytes(&r, flex);	/* Records, nullable */
			p->records = rec.len < 0 ? NULL : rec.p;
			p->records_len = rec.len < 0 ? 0 : (size_t)rec.len;
			/* DivergingEpoch, CurrentLeader, SnapshotId, ... */
			kr_tags(&r, flex);
		}
		kr_tags(&r, flex);
	}
	kr_tags(&r, flex);		/* NodeEndpoints (v16+), ... */
	if (r.err)
		goto bad;
	return 0;
bad:
	kafka_fetch_free(resp);
	return -1;
}

void
kafka_fetch_free(struct kafka_fetch_resp *resp)
{
	int32_t	 i;

	for (i = 0; i < resp->count; i++)
		free(resp->parts[i].aborted);
	free(resp->parts);
	memset(resp, 0, sizeof(*resp));
}

/* ---- SaslHandshake (17) ---- */

int
kafka_enc_sasl_handshake(struct kwriter *w, int16_t version, int32_t corr,
    const char *client_id, const char *mechanism)
{
	size_t	 start;

	/* v0 and v1 have the same body; only v1 is negotiated (see above). */
	if (version < 0 || version > 1 || mechanism == NULL)
		return -1;
	start = kafka_req_begin(w, KAFKA_API_SASL_HANDSHAKE, version, corr,
	    client_id);
	kp_cstr(w, 0, mechanism);			/* Mechanism */
	if (kafka_req_end(w, start) != 0)
		return kafka_enc_fail(w, start);
	return 0;
}

int
kafka_dec_sasl_handshake(const uint8_t *buf, size_t len, int16_t version,
    struct kafka_sasl_handshake_resp *resp)
{
	struct kreader	 r;
	int32_t		 i, n;

	memset(resp, 0, sizeof(*resp));
	if (version < 0 || version > 1)
		return -1;
	kr_init(&r, buf, len);
	resp->error_code = kr_i16(&r);			/* ErrorCode */
	n = kp_count(&r, 0, STR_MIN(0));		/* Mechanisms */
	if (r.err)
		return -1;
	if (n > 0 && (resp->mechanisms = calloc((size_t)n,
	    sizeof(*resp->mechanisms))) == NULL)
		return -1;
	for (i = 0; i < n && !r.err; i++)
		resp->mechanisms[i] = kp_name(&r, 0);
	resp->count = n;
	if (r.err) {
		kafka_sasl_handshake_free(resp);
		return -1;
	}
	return 0;
}

void
kafka_sasl_handshake_free(struct kafka_sasl_handshake_resp *resp)
{
	free(resp->mechanisms);
	memset(resp, 0, sizeof(*resp));
}

/* ---- SaslAuthenticate (36) ---- */

int
kafka_enc_sasl_authenticate(struct kwriter *w, int16_t version, int32_t corr,
    const char *client_id, const uint8_t *auth, size_t authlen)
{
	static const uint8_t	 empty[1];
	size_t			 start;
	int			 flex;

	if (!kafka_enc_ok(KAFKA_API_SASL_AUTHENTICATE, version))
		return -1;
	if ((auth == NULL && authlen > 0) || authlen > INT32_MAX)
		return -1;
	if (auth == NULL)
		auth = empty;
	flex = kafka_api_flexible(KAFKA_API_SASL_AUTHENTICATE, version);
	start = kafka_req_begin(w, KAFKA_API_SASL_AUTHENTICATE, version, corr,
	    client_id);
	kw_bytes(w, flex, auth, (int32_t)authlen);	/* AuthBytes */
	kw_tags(w, flex);
	if (kafka_req_end(w, start) != 0)
		return kafka_enc_fail(w, start);
	return 0;
}

int
kafka_dec_sasl_authenticate(const uint8_t *buf, size_t len, int16_t version,
    struct kafka_sasl_authenticate_resp *resp)
{
	struct kreader	 r;
	int		 flex;

	memset(resp, 0, sizeof(*resp));
	if (!kafka_enc_ok(KAFKA_API_SASL_AUTHENTICATE, version))
		return -1;
	flex = kafka_api_flexible(KAFKA_API_SASL_AUTHENTICATE, version);
	kr_init(&r, buf, len);
	resp->error_code = kr_i16(&r);			/* ErrorCode */
	resp->error_message = kr_str(&r, flex);		/* ErrorMessage? */
	resp->auth_bytes = kr_bytes(&r, flex);		/* AuthBytes */
	if (resp->auth_bytes.len < 0)			/* not nullable */
		kr_fail(&r);
	if (version >= 1)
		resp->session_lifetime_ms = kr_i64(&r);	/* SessionLifetimeMs */
	kr_tags(&r, flex);
	if (r.err) {
		memset(resp, 0, sizeof(*resp));
		return -1;
	}
	return 0;
}
