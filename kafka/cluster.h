/*
 * cluster.h -- a Kafka cluster seen from one process: bootstrap, metadata
 * cache, partition -> leader routing, one connection per broker and role
 * shared by every caller, retries on leader changes.  Runs on a libev
 * loop: kcluster_new() puts the logic (cluster.c) over the socket, TLS and
 * resolver glue (brokerio.c); cluster_io.h is the interface between the
 * two, for other I/O layers and for tests.
 */
#ifndef KAFKA_CLUSTER_H
#define KAFKA_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct kafka_aborted_txn;
struct kcluster;
struct ksasl_conf;
struct ntls_config;

struct kcluster_conf {
	const char	*brokers;		/* "host:port[,host:port...]" */
	const char	*client_id;		/* default "kafkagate" */
	double		 request_timeout;	/* seconds, default 10 */
	double		 connect_timeout;	/* seconds, default 5 */
	double		 metadata_max_age;	/* seconds, default 60 */
	size_t		 max_response;		/* bytes, default 64 MiB */
	struct ntls_config *tls;		/* TLS to the brokers, or NULL */
	const struct ksasl_conf *sasl;		/* SASL, or NULL; kept by the
						   caller while the cluster lives */
	int		 isolation;		/* 0 read_uncommitted (the default),
						   1 read_committed */
	double		 fetch_wait;		/* seconds the broker may hold a
						   Fetch at the end of the log
						   (kcluster_fetch_wait); 0: none */
};

/*
 * Outcome classes.  Broker errors carry the Kafka error code; the others
 * are the gateway's own, numbered from 1000 so they never clash with a
 * Kafka code (see kafkagate(8), ERRORS).
 */
enum kcluster_err {
	KCE_OK = 0,
	KCE_KAFKA = 1,			/* kafka_error holds the broker's code */
	KCE_UNREACHABLE = 1001,		/* no broker could be reached */
	KCE_TIMEOUT = 1002,		/* no answer in time */
	KCE_PROTOCOL = 1003,		/* malformed answer, unsupported version */
	KCE_CORRUPT = 1004,		/* records failed CRC or could not be decoded */
	KCE_SHUTDOWN = 1005,		/* the gateway is stopping */
	KCE_TLS = 1006,			/* TLS to the broker failed */
	KCE_AUTH = 1007			/* SASL authentication failed */
};

struct kcluster_result {
	enum kcluster_err err;
	int16_t		 kafka_error;		/* KCE_KAFKA */
	const char	*errmsg;		/* err text in APISIX's format */
	int64_t		 offset;		/* list offset */
	const uint8_t	*records;		/* fetch: raw record set, valid */
	size_t		 records_len;		/*   during the callback only */
	const struct kafka_aborted_txn *aborted; /* fetch, read_committed: the
						   aborted transactions in this
						   answer (callback only) */
	size_t		 naborted;
	int64_t		 high_watermark;
	int64_t		 end_offset;		/* fetch: where readable data ends:
						   the high watermark, or the last
						   stable offset (read_committed) */
	int64_t		 log_start_offset;
	int64_t		 last_stable_offset;
};

typedef void	(*kcluster_cb)(void *arg, const struct kcluster_result *);

void		 kcluster_conf_default(struct kcluster_conf *);
/* Returns NULL with a message in err if the broker list is invalid. */
struct kcluster	*kcluster_new(struct ev_loop *, const struct kcluster_conf *,
		    char *err, size_t errlen);
/* Fails every pending operation with KCE_SHUTDOWN and frees everything. */
void		 kcluster_free(struct kcluster *);
/*
 * A reload: conf's TLS, SASL and timeouts apply from now on (connections
 * up keep theirs); its brokers, client id and isolation are ignored.
 * 0, or -1 if out of memory (nothing changed).
 */
int		 kcluster_reconfigure(struct kcluster *,
		    const struct kcluster_conf *);

/*
 * Operations.  The callback is called exactly once, never from inside the
 * call that started the operation.  Returns 0, or -1 if out of memory.
 */
int	 kcluster_list_offset(struct kcluster *, const char *topic, int32_t partition,
	    int64_t timestamp, kcluster_cb, void *arg);
int	 kcluster_fetch(struct kcluster *, const char *topic, int32_t partition,
	    int64_t offset, int32_t max_bytes, kcluster_cb, void *arg);
/*
 * The same; with wait, the offset is at the end of the log as last seen,
 * and the broker may hold the Fetch up to conf.fetch_wait until records
 * arrive (it goes on a connection of its own, coalesced with the other
 * partitions waiting there).
 */
int	 kcluster_fetch_wait(struct kcluster *, const char *topic,
	    int32_t partition, int64_t offset, int32_t max_bytes, int wait,
	    kcluster_cb, void *arg);

/*
 * Whether the cluster can be reached, for a readiness check: 1 if a
 * broker connection is ready now (connected, versions negotiated,
 * authenticated), or if some broker answered a request after its last
 * failed connection attempt; else 0 with the reason in why: the latest
 * failure ("cannot connect to broker 127.0.0.1:59092: Connection
 * refused"), or that the first connection is still being made.  A
 * ready connection that the broker closed (an idle connection, say)
 * is not a failure; the next attempt decides.
 *
 * The cluster connects only when a client asks for something, so the
 * check itself keeps the answer fresh: when no connection is ready, or
 * the last check was more than 15 s ago, it sends a Metadata request
 * without topics to one broker (a ready one, else the next out of its
 * reconnect backoff), whose outcome the next call sees.  Never blocks,
 * never calls back.
 */
int	 kcluster_reachable(struct kcluster *, char *why, size_t whylen);

/*
 * Statistics, for the daemon's metrics (process-wide; NULL: none, the
 * default).  Every broker connection asks broker() once for a slot for
 * its "host:port" (any int of the observer's; -1: none) and reports
 * with it: request() when a request that went out is done (err KCONN_OK
 * with the seconds from written to answered, or the KCONN_E* that failed
 * it; role KCIO_MAIN, KCIO_DATA or KCIO_POLL, see cluster_io.h), conn()
 * when its transport (TCP, TLS) comes up (1) and when it goes down after
 * that (0), failed() when an attempt or a connection fails.  Called on
 * the loop; each must be cheap and must not call into the cluster.  obs
 * must outlive every cluster; set it before the first cluster is made.
 */
struct kcluster_observer {
	int	 (*broker)(void *arg, const char *name);
	void	 (*request)(void *arg, int slot, int role, int16_t api_key,
		    int err, double seconds);
	void	 (*conn)(void *arg, int slot, int up);
	void	 (*failed)(void *arg, int slot);
};
void	 kcluster_set_observer(const struct kcluster_observer *, void *arg);

#endif /* KAFKA_CLUSTER_H */
