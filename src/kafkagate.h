/*
 * kafkagate.h -- what the daemon's modules share.
 */
#ifndef SRC_KAFKAGATE_H
#define SRC_KAFKAGATE_H

#include <stddef.h>
#include <stdint.h>

#include "src/bridge.h"

struct kcache_stats;

extern const struct bridge_backend kafka_backend;

/* Bytes to ask the broker for per fetch (derived from the frame budget). */
int32_t	 kafkagate_fetch_bytes(void);
/* The event loop's time (ev_now). */
double	 kafkagate_now(void);

/*
 * The Kafka backend's partition readers: init with the cache budget in
 * bytes (0: the default), sweep from a timer (chunks unread for `idle'
 * seconds and empty readers go; the use is logged at -v), free at exit.
 */
int	 kafka_backend_init(size_t cache_budget);
/* The cache's statistics (zeros before kafka_backend_init()). */
void	 kafka_backend_stats(struct kcache_stats *);
void	 kafka_backend_sweep(double now, double idle);
/* A cluster was freed: drop its partition readers. */
void	 kafka_backend_forget(void *cluster);
/* A reload: the cache's new budget. */
void	 kafka_backend_set_budget(size_t);
void	 kafka_backend_free(void);

#endif /* SRC_KAFKAGATE_H */
