#!/bin/bash
# compat39.sh — the whole integration suite (run.sh) against Apache Kafka 3.9.
#
# kafkagate must work with Kafka 3.9 and 4.x; run.sh tests the default 4.x
# release, this runs the same tests on a 3.9 broker (reload4j logging, ZooKeeper
# still in the jars, KRaft with static voters).  Ports are searched from other
# bases than run.sh's so that both can run at once (make -j check).
#
# Environment: as run.sh, plus
#   KAFKA39_VERSION the 3.9.x release (default 3.9.1); KAFKA_VERSION is
#                   ignored, so that a 4.x setting in the environment does not
#                   turn this into a second run of the 4.x suite
# Exit status: run.sh's (0 pass, 1 fail, 77 skip outside CI).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
export KAFKA_VERSION=${KAFKA39_VERSION:-3.9.1}
export KAFKA_PORT_BASE=${KAFKA_PORT_BASE:-19192}
export KAFKAGATE_PORT_BASE=${KAFKAGATE_PORT_BASE:-19580}
exec bash "$here/run.sh" "$@"
