/*
 * kproto.h -- Kafka request encoders and response decoders (pure codec).
 *
 * No sockets, no clock.  Encoders append one complete frame (INT32 size +
 * request header + body) to a kwriter.  Decoders take the response body
 * that follows the response header's correlation id (the connection layer
 * reads the size and the correlation id and matches the request) and fill
 * a result structure.  Strings in results are views into the response
 * buffer unless the comment says otherwise; the caller keeps the buffer
 * alive while it uses them.  Arrays in results are allocated and released
 * with the matching *_free() function.
 *
 * Field names follow Apache Kafka's message definitions
 * (the *.json files in clients/src/main/resources/common/message/).
 */
#ifndef KAFKA_KPROTO_H
#define KAFKA_KPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "kafka/kbuf.h"
#include "kafka/record.h"	/* struct kafka_aborted_txn */

#define KAFKA_API_FETCH			 1
#define KAFKA_API_LIST_OFFSETS		 2
#define KAFKA_API_METADATA		 3
#define KAFKA_API_SASL_HANDSHAKE	17
#define KAFKA_API_VERSIONS		18
#define KAFKA_API_SASL_AUTHENTICATE	36
#define KAFKA_API_MAX			100	/* table size for negotiated ranges */

/* Error codes used by name in the client (Errors.java). */
#define KAFKA_ERR_UNKNOWN_SERVER_ERROR		-1
#define KAFKA_ERR_NONE				 0
#define KAFKA_ERR_OFFSET_OUT_OF_RANGE		 1
#define KAFKA_ERR_CORRUPT_MESSAGE		 2
#define KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION	 3
#define KAFKA_ERR_LEADER_NOT_AVAILABLE		 5
#define KAFKA_ERR_NOT_LEADER_OR_FOLLOWER	 6
#define KAFKA_ERR_REQUEST_TIMED_OUT		 7
#define KAFKA_ERR_REPLICA_NOT_AVAILABLE		 9
#define KAFKA_ERR_NETWORK_EXCEPTION		13
#define KAFKA_ERR_UNSUPPORTED_SASL_MECHANISM	33
#define KAFKA_ERR_ILLEGAL_SASL_STATE		34
#define KAFKA_ERR_UNSUPPORTED_VERSION		35
#define KAFKA_ERR_INVALID_REQUEST		42
#define KAFKA_ERR_KAFKA_STORAGE_ERROR		56
#define KAFKA_ERR_SASL_AUTHENTICATION_FAILED	58
#define KAFKA_ERR_FENCED_LEADER_EPOCH		74
#define KAFKA_ERR_UNKNOWN_LEADER_EPOCH		75
#define KAFKA_ERR_OFFSET_NOT_AVAILABLE		78

/* The Kafka name of an error code ("OFFSET_OUT_OF_RANGE"), or "UNKNOWN_ERROR_<n>"
 * rendered into a static per-thread buffer for codes we do not know. */
const char	*kafka_err_name(int16_t);

/* "Fetch", "ListOffsets", ... or "ApiKey <n>" (static per-thread buffer). */
const char	*kafka_api_name(int16_t api_key);

/* The versions this client implements, per API: [min, max]. */
int		 kafka_api_supported(int16_t api_key, int16_t *min, int16_t *max);
/* 1 if the given version of the API uses the flexible encoding. */
int		 kafka_api_flexible(int16_t api_key, int16_t version);

/*
 * Frame helpers.  kafka_req_begin() writes the size placeholder and the
 * request header (v1, or v2 when the API version is flexible) and returns
 * the frame's start offset; kafka_req_end() back-patches the size.
 * Returns -1 on writer error.
 */
size_t		 kafka_req_begin(struct kwriter *, int16_t api_key, int16_t version,
		    int32_t correlation_id, const char *client_id);
int		 kafka_req_end(struct kwriter *, size_t start);
/*
 * Skip the rest of the response header after the correlation id: the
 * TAG_BUFFER of response header v1 (flexible versions, except ApiVersions,
 * which always answers with header v0).
 */
void		 kafka_resp_header_rest(struct kreader *, int16_t api_key, int16_t version);

/* ---- ApiVersions (18), v0-v3 ---- */

struct kafka_api_range {
	int16_t		 api_key;
	int16_t		 min;
	int16_t		 max;
};

struct kafka_api_versions_resp {
	int16_t			 error_code;
	int32_t			 count;
	struct kafka_api_range	*apis;		/* allocated */
	int32_t			 throttle_ms;
};

int	 kafka_enc_api_versions(struct kwriter *, int16_t version, int32_t corr,
	    const char *client_id, const char *sw_name, const char *sw_version);
/*
 * Decode an ApiVersions body.  If the error code is UNSUPPORTED_VERSION the
 * body is v0-encoded whatever version was sent (KIP-511): the decoder
 * re-parses it as v0 itself.  Returns 0, or -1 if malformed.
 */
int	 kafka_dec_api_versions(const uint8_t *, size_t, int16_t version,
	    struct kafka_api_versions_resp *);
void	 kafka_api_versions_free(struct kafka_api_versions_resp *);

/* ---- Metadata (3), v1-v12 ---- */

struct kafka_md_broker {
	int32_t		 node_id;
	struct kstr	 host;
	int32_t		 port;
};

struct kafka_md_partition {
	int16_t		 error_code;
	int32_t		 partition;
	int32_t		 leader_id;
	int32_t		 leader_epoch;		/* -1 before v7 */
};

struct kafka_md_topic {
	int16_t				 error_code;
	struct kstr			 name;
	int32_t				 partition_count;
	struct kafka_md_partition	*partitions;	/* allocated */
};

struct kafka_metadata_resp {
	int32_t			 broker_count;
	struct kafka_md_broker	*brokers;		/* allocated */
	int32_t			 controller_id;
	int32_t			 topic_count;
	struct kafka_md_topic	*topics;		/* allocated */
};

/* topics == NULL with ntopics 0 asks for all topics. Auto-creation off. */
int	 kafka_enc_metadata(struct kwriter *, int16_t version, int32_t corr,
	    const char *client_id, const char *const *topics, int ntopics);
int	 kafka_dec_metadata(const uint8_t *, size_t, int16_t version,
	    struct kafka_metadata_resp *);
void	 kafka_metadata_free(struct kafka_metadata_resp *);

/* ---- ListOffsets (2), v1-v9 ---- */

struct kafka_lo_req {
	const char	*topic;
	int32_t		 partition;
	int32_t		 current_leader_epoch;	/* -1 unknown */
	int64_t		 timestamp;		/* -1 latest, -2 earliest, or ms */
};

struct kafka_lo_result {
	struct kstr	 topic;
	int32_t		 partition;
	int16_t		 error_code;
	int64_t		 timestamp;
	int64_t		 offset;
	int32_t		 leader_epoch;
};

struct kafka_list_offsets_resp {
	int32_t			 count;
	struct kafka_lo_result	*results;	/* allocated, flattened */
};

/* Requests are grouped by topic in the order given (same topic adjacent). */
int	 kafka_enc_list_offsets(struct kwriter *, int16_t version, int32_t corr,
	    const char *client_id, int8_t isolation_level,
	    const struct kafka_lo_req *, int n);
int	 kafka_dec_list_offsets(const uint8_t *, size_t, int16_t version,
	    struct kafka_list_offsets_resp *);
void	 kafka_list_offsets_free(struct kafka_list_offsets_resp *);

/* ---- Fetch (1), v4-v12 (topic names; v13+ needs topic ids) ---- */

struct kafka_fetch_part_req {
	const char	*topic;
	int32_t		 partition;
	int32_t		 current_leader_epoch;	/* -1 unknown */
	int64_t		 fetch_offset;
	int32_t		 partition_max_bytes;
};

struct kafka_fetch_req {
	int32_t				 max_wait_ms;
	int32_t				 min_bytes;
	int32_t				 max_bytes;
	int8_t				 isolation_level;
	const struct kafka_fetch_part_req *parts;	/* same topic adjacent */
	int				 nparts;
};

struct kafka_fetch_part {
	struct kstr	 topic;
	int32_t		 partition;
	int16_t		 error_code;
	int64_t		 high_watermark;
	int64_t		 last_stable_offset;	/* -1 if absent */
	int64_t		 log_start_offset;	/* -1 if absent */
	int32_t		 preferred_read_replica; /* -1 if absent */
	/* AbortedTransactions as sent (unsorted); NULL, 0 if null or empty */
	struct kafka_aborted_txn *aborted;	/* allocated */
	int32_t		 naborted;
	const uint8_t	*records;		/* view; NULL if null */
	size_t		 records_len;
};

struct kafka_fetch_resp {
	int32_t			 throttle_ms;
	int16_t			 error_code;	/* top level, v7+ */
	int32_t			 count;
	struct kafka_fetch_part	*parts;		/* allocated, flattened */
};

int	 kafka_enc_fetch(struct kwriter *, int16_t version, int32_t corr,
	    const char *client_id, const struct kafka_fetch_req *);
int	 kafka_dec_fetch(const uint8_t *, size_t, int16_t version,
	    struct kafka_fetch_resp *);
void	 kafka_fetch_free(struct kafka_fetch_resp *);

/*
 * ---- SaslHandshake (17), v0-v1; SaslAuthenticate (36), v0-v2 ----
 *
 * SaslHandshake is never flexible (KAFKA-9577).  The client negotiates v1
 * only (tokens in SaslAuthenticate requests); the encoder and decoder also
 * take v0, whose layout is the same.  SaslAuthenticate is flexible from v2.
 */

struct kafka_sasl_handshake_resp {
	int16_t		 error_code;
	int32_t		 count;
	struct kstr	*mechanisms;	/* allocated array of views */
};

struct kafka_sasl_authenticate_resp {
	int16_t		 error_code;
	struct kstr	 error_message;		/* len -1: null */
	struct kstr	 auth_bytes;
	int64_t		 session_lifetime_ms;	/* 0 before v1 */
};

int	 kafka_enc_sasl_handshake(struct kwriter *, int16_t version, int32_t corr,
	    const char *client_id, const char *mechanism);
int	 kafka_dec_sasl_handshake(const uint8_t *, size_t, int16_t version,
	    struct kafka_sasl_handshake_resp *);
void	 kafka_sasl_handshake_free(struct kafka_sasl_handshake_resp *);

int	 kafka_enc_sasl_authenticate(struct kwriter *, int16_t version,
	    int32_t corr, const char *client_id, const uint8_t *auth,
	    size_t authlen);
/* Nothing allocated: the result is views into the buffer. */
int	 kafka_dec_sasl_authenticate(const uint8_t *, size_t, int16_t version,
	    struct kafka_sasl_authenticate_resp *);

#endif /* KAFKA_KPROTO_H */
