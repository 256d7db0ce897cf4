/*
 * metrics.h -- the daemon's metrics in the Prometheus text exposition
 * format (version 0.0.4), without sockets.
 *
 * Two kinds of numbers.  The modules count their own and hand them over
 * when asked: ws_server_stats() (ws/ws.h), bridge_stats() (src/bridge.h),
 * kcache_stats() (kafka/reader.h); the caller collects them into a
 * struct metrics_snapshot.  What has no lasting owner is kept here: the
 * Kafka client's requests, latencies and connections per broker, which
 * it reports through kcluster_set_observer() (kafka/cluster.h) as its
 * connections come and go, and the reloads.  Counting is an add into a
 * table slot found once per connection, never a string operation per
 * event, and nothing here allocates except metrics_render()'s buffer.
 *
 * metrics_render() writes every family with its HELP and TYPE lines,
 * label values escaped (backslash, double quote, newline; octets that
 * are not UTF-8 become '?').  Brokers are told apart up to
 * METRICS_MAX_BROKERS "host:port" label values; later ones share the
 * value "other", so the output stays bounded whatever the metadata says.
 * kafkagate(8), METRICS, lists the families.
 */
#ifndef SRC_METRICS_H
#define SRC_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"
#define METRICS_MAX_BROKERS	256	/* distinct broker label values */

struct bridge_stats;
struct kcache_stats;
struct kcluster_observer;
struct ws_server_stats;

/*
 * A text buffer that grows up to max octets.  The error is sticky: once
 * memory ran out or max would be passed, nothing more is added and err
 * is set; check once at the end.  p is not NUL-terminated.
 */
struct metrics_buf {
	char		*p;
	size_t		 len;
	size_t		 cap;
	size_t		 max;
	int		 err;
};

void	 metrics_buf_init(struct metrics_buf *, size_t max);
void	 metrics_buf_add(struct metrics_buf *, const void *, size_t);
void	 metrics_buf_printf(struct metrics_buf *, const char *, ...)
	    __attribute__((__format__(__printf__, 2, 3)));
void	 metrics_buf_free(struct metrics_buf *);

/*
 * Everything back to zero, the process start time noted (seconds since
 * the epoch), the last successful configuration load set to it, and the
 * Kafka client observed (kcluster_set_observer()).  Call before the
 * first cluster is made; again (tests) to start over.
 */
void	 metrics_init(void);
void	 metrics_init_at(double start);

/*
 * A reload (SIGHUP) finished: ok 1 (the new configuration is in use) or
 * 0 (it was refused; the old one stays).  metrics_reload() takes the
 * wall clock, metrics_reload_at() the time given.
 */
void	 metrics_reload(int ok);
void	 metrics_reload_at(int ok, double now);

/* The observer metrics_init() installs (tests call it directly). */
extern const struct kcluster_observer metrics_kafka_observer;

/* What the modules said when asked; NULL or negative: left out. */
struct metrics_snapshot {
	const char			*version;	/* build_info's label */
	const struct ws_server_stats	*ws;
	const struct bridge_stats	*bridge;
	const struct kcache_stats	*cache;
	double				 cpu_seconds;	/* user + system */
	double				 rss_bytes;	/* resident memory */
};

/*
 * Append the whole exposition to b.  Returns 0, or -1 if b's error is
 * set (out of memory, or over its max).
 */
int	 metrics_render(struct metrics_buf *, const struct metrics_snapshot *);

#endif /* SRC_METRICS_H */
