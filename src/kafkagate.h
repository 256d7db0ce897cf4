/*
 * kafkagate.h -- what the daemon's modules share.
 */
#ifndef SRC_KAFKAGATE_H
#define SRC_KAFKAGATE_H

#include <stdint.h>

#include "src/bridge.h"

extern const struct bridge_backend kafka_backend;

/* Bytes to ask the broker for per fetch (derived from the frame budget). */
int32_t	 kafkagate_fetch_bytes(void);

#endif /* SRC_KAFKAGATE_H */
