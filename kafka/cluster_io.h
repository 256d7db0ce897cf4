/*
 * cluster_io.h -- the seam between the cluster logic (cluster.c: metadata
 * cache, routing, retries, coalesced Fetches, connection roles) and the
 * I/O under it (brokerio.c: sockets, TLS, name resolution, libev).
 *
 * The logic owns no socket, no watcher and no clock.  It asks the I/O
 * layer, through struct kcluster_io, for a connection to (host, port,
 * role), submits Kafka requests on it exactly as on a struct kconn (an
 * encoder in, a response callback out), and hears about the transport
 * through kcluster_conn_up() and kcluster_conn_failed().  It reads the
 * time from io->now(), keeps its own timers, and asks for one wake-up at a
 * time with io->wake(); the I/O layer then calls kcluster_run().  Reconnect
 * backoff is the logic's: it calls io->connect() when it wants a new
 * attempt.
 *
 * kafka/brokerio.c implements this on a libev loop (kcluster_new() in
 * cluster.h); tests/check_kafka_cluster.c implements it with a fake clock
 * and scripted brokers.
 */
#ifndef KAFKA_CLUSTER_IO_H
#define KAFKA_CLUSTER_IO_H

#include <stddef.h>
#include <stdint.h>

#include "kafka/conn.h"

struct kcio;		/* one broker connection, the I/O layer's */
struct kcluster;
struct kcluster_conf;

/*
 * Connection roles.  Kafka answers the requests of one connection in
 * order, so a Fetch the broker holds would hold every request behind it:
 * each broker gets a main connection (Metadata, ListOffsets), one for
 * Fetches that find data and one for Fetches at the end of the log.
 */
#define KCIO_MAIN		0
#define KCIO_DATA		1
#define KCIO_POLL		2

enum kcio_state {
	KCIO_DOWN = 0,		/* none, or dead: io->connect() makes one */
	KCIO_OPENING,		/* resolving, connecting, TLS, ApiVersions,
				   SASL: requests submitted now wait */
	KCIO_READY		/* requests go out (a SASL re-authentication
				   may hold them a round trip) */
};

struct kcluster_io {
	/* The time, in seconds; the same clock as kcluster_run()'s now. */
	double	 (*now)(void *ctx);
	/*
	 * Call kcluster_run() at `at' (or as soon as possible if that is
	 * past), never from inside this call; replaces the previous wake-up.
	 * at 0: no wake-up needed.
	 */
	void	 (*wake)(void *ctx, double at);
	/*
	 * A connection handle for (host, port, role), not connected yet.
	 * arg is handed back to kcluster_conn_up() and kcluster_conn_failed().
	 * NULL if out of memory.  host is copied.
	 */
	struct kcio *(*conn_new)(void *ctx, const char *host, int port,
		    int role, void *arg);
	/*
	 * Start a connection attempt (closing a dead one first): resolve,
	 * connect, TLS, then the protocol (ApiVersions, SASL).  Requests may
	 * be submitted at once.  Returns 0, or -1 with the reason in err if
	 * the attempt failed before it began (nothing is called back then).
	 * Then, never from inside this call, kcluster_conn_up() when the
	 * transport is up, and kcluster_conn_failed() if the attempt or the
	 * connection fails.
	 */
	int	 (*connect)(struct kcio *, char *err, size_t errlen);
	/*
	 * Queue a request, as kconn_submit(): returns 0, or -1 (the
	 * callback is not called then; conn_errmsg() says why).  cb is
	 * called exactly once, with the response or a KCONN_E* error; when
	 * the connection fails, kcluster_conn_failed() comes before the
	 * failed requests' callbacks.
	 */
	int	 (*submit)(struct kcio *, int16_t api_key, kconn_enc_fn,
		    kconn_resp_fn, void *arg);
	enum kcio_state (*state)(const struct kcio *);
	/* 1 if no request waits or is in flight on it. */
	int	 (*idle)(const struct kcio *);
	/* Why the last submit was refused or the connection died. */
	const char *(*conn_errmsg)(const struct kcio *);
	/*
	 * Kill the connection now: every request fails with err (a KCONN_E*)
	 * and msg, from inside this call.  The I/O layer closes the
	 * transport when control comes back to it, and reports that through
	 * kcluster_conn_failed() (unless conn_free() comes first).
	 */
	void	 (*fail)(struct kcio *, int err, const char *msg);
	/*
	 * Close and release the handle; requests still queued fail with
	 * KCONN_EDISCONNECT and why.  Nothing else is called back.
	 */
	void	 (*conn_free)(struct kcio *, const char *why);
	/* The cluster is freed: last call, after every conn_free(). */
	void	 (*done)(void *ctx);
};

/*
 * A cluster over the given I/O layer; io must outlive it (a static
 * table).  Returns NULL with a message in err if the broker list is
 * invalid or memory is short; io->done() is not called then.
 */
struct kcluster	*kcluster_new_io(const struct kcluster_conf *,
		    const struct kcluster_io *io, void *ctx, char *err,
		    size_t errlen);
/* Run the timers due at now (io->wake() asked for this). */
void		 kcluster_run(struct kcluster *, double now);
/* The I/O layer's context given to kcluster_new_io(). */
void		*kcluster_io_ctx(const struct kcluster *);
/* New deadlines for operations started from now on (a reload). */
void		 kcluster_set_timeouts(struct kcluster *, double request_timeout,
		    double fetch_wait);
/* When kcluster_run() is next due; 0: no timer is armed. */
double		 kcluster_next_timer(const struct kcluster *);

/*
 * From the I/O layer, about the connection made with arg: it is up
 * (transport connected; the protocol starts), or the attempt or the
 * connection failed with err (a KCONN_E*: KCONN_ETLS for TLS, else
 * KCONN_EDISCONNECT or what killed it) and msg ("cannot connect to broker
 * host:port: Connection refused").  Once per attempt; msg is valid during
 * the call only.
 */
void		 kcluster_conn_up(void *arg);
void		 kcluster_conn_failed(void *arg, int err, const char *msg);

#endif /* KAFKA_CLUSTER_IO_H */
