#!/bin/bash
# failover.sh — kafkagate follows partition leader changes on a real
# three-node Apache Kafka (KRaft) cluster.
#
# Starts three combined broker+controller nodes (tests/broker/kafka-broker.sh
# cluster-start) in a temporary directory, creates topic `ha` (1 partition,
# replicas 1,2,3 so node 1 leads, min.insync.replicas=2), produces HA_RECORDS
# records with kcat (acks=all), starts kafkagate with all three bootstrap
# brokers and runs tests/integration/test_failover.py, which kills, restarts
# and stops nodes and moves the leader while one WebSocket connection stays
# open.  Then the gateway must still be alive, exit 0 on SIGTERM, and its log
# must hold no sanitizer or valgrind report.
#
# Exit status: 0 passed, 1 failure, 77 skipped (Automake's SKIP) when a
# prerequisite is missing — unless CI is set, where a missing prerequisite is
# a failure.  Arguments are passed to test_failover.py (-v, -k).
#
# Environment (all optional):
#   KAFKAGATE_BIN, builddir, srcdir, KAFKAGATE_PYTHON, KAFKAGATE_WRAPPER,
#   KAFKAGATE_TIMEOUT_SCALE, KAFKAGATE_KEEP, CI    as for run.sh
#   KAFKA_VERSION        Kafka release for the cluster (default 4.1.1)
#   KAFKA_CLUSTER_PORT   client port of node 1 (default: the first free
#                        11092 + 100*k); node N uses +1000*(N-1), controllers +1
#   KAFKAGATE_PORT       the gateway's port (default: the first free from 19680)
#   KAFKAGATE_REQUEST_TIMEOUT  the gateway's --request-timeout (default 10)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
prog=failover.sh
. "$here/lib.sh"
HA_TOPIC=ha
HA_RECORDS=20
REQUEST_TIMEOUT=${KAFKAGATE_REQUEST_TIMEOUT:-10}
t_start=$(date +%s)

cluster_ports_free() { # BASE: node ports BASE, BASE+1000, BASE+2000 and each +1
	local n
	for n in 0 1 2; do
		port_free $(($1 + 1000 * n)) && port_free $(($1 + 1000 * n + 1)) || return 1
	done
}

# ---- prerequisites --------------------------------------------------------
need_python
need_client
need_tool kcat
need_java
need_bin

# ---- scratch directory and cleanup ---------------------------------------
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	kill_gateways
	bash "$broker_sh" cluster-stop "$W/cluster" 2>/dev/null || true
	if [ $rc != 0 ] && [ $rc != 77 ]; then
		show_tails 40 "$W/kafkagate.log"
		show_tails 15 "$W"/cluster/n*/broker.log
	fi
	drop_scratch
	say "finished in $(( $(date +%s) - t_start )) s"
	exit $rc
}
scratch kafkagate-fo

# ---- cluster --------------------------------------------------------------
if [ -z "${KAFKA_CLUSTER_PORT:-}" ]; then
	KAFKA_CLUSTER_PORT=11092
	while ! cluster_ports_free "$KAFKA_CLUSTER_PORT"; do
		KAFKA_CLUSTER_PORT=$((KAFKA_CLUSTER_PORT + 100))
		[ "$KAFKA_CLUSTER_PORT" -lt 11900 ] || fail "no free ports for the cluster"
	done
fi
export KAFKA_CLUSTER_PORT
if ! bash "$broker_sh" cluster-start "$W/cluster"; then
	# a cluster that cannot start is a missing prerequisite (no network for
	# Maven, no memory, ...)
	skip_or_fail "the Kafka cluster could not be started (see above)"
fi
bootstrap=$(cat "$W/cluster/bootstrap")

say "creating topic $HA_TOPIC: replicas 1,2,3, min.insync.replicas=2"
bash "$broker_sh" tool "$W/cluster" org.apache.kafka.tools.TopicCommand \
	--bootstrap-server "$bootstrap" --create --topic "$HA_TOPIC" \
	--replica-assignment 1:2:3 --config min.insync.replicas=2 >&2 ||
	fail "creating topic $HA_TOPIC failed"
deadline=$(( $(date +%s) + $(scaled 30) ))
until kcat -L -b "$bootstrap" -t "$HA_TOPIC" -m 5 2>/dev/null |
	grep -q 'partition 0, leader 1, replicas: 1,2,3, isrs: 1,2,3'; do
	[ "$(date +%s)" -lt "$deadline" ] || fail "topic $HA_TOPIC has no leader 1 with the full ISR"
	sleep 0.3
done

say "producing $HA_RECORDS records (acks=all)"
for i in $(seq 0 $((HA_RECORDS - 1))); do printf 'ha-%d\n' "$i"; done |
	kcat -P -b "$bootstrap" -t "$HA_TOPIC" -p 0 -X acks=all -X enable.idempotence=true ||
	fail "kcat could not produce to $HA_TOPIC"
end=$(kcat -Q -b "$bootstrap" -t "$HA_TOPIC:0:-1" -m 10 2>/dev/null | awk '{ print $NF; exit }')
[ "$end" = "$HA_RECORDS" ] || fail "topic $HA_TOPIC has end offset ${end:-?}, expected $HA_RECORDS"

# ---- gateway --------------------------------------------------------------
KAFKAGATE_PORT=${KAFKAGATE_PORT:-$(free_port 19680)} || fail "no free port for kafkagate"
log="$W/kafkagate.log"
start_gateway kafkagate "$log" "$KAFKAGATE_PORT" "$bootstrap" --request-timeout "$REQUEST_TIMEOUT"
gw_pid=$!
wait_gateway kafkagate "$KAFKAGATE_PORT" "$gw_pid" "$log"

# ---- tests ----------------------------------------------------------------
export KAFKAGATE_URL="ws://127.0.0.1:$KAFKAGATE_PORT/kafka"
export KAFKA_CLUSTER_DIR="$W/cluster" KAFKA_BROKER_SH="$broker_sh"
export KAFKA_CLUSTER_BOOTSTRAP="$bootstrap" HA_TOPIC HA_RECORDS
export KAFKAGATE_REQUEST_TIMEOUT=$REQUEST_TIMEOUT
run_tests 300 "$here/test_failover.py" "$@"

# the gateway must still be alive and exit 0 on SIGTERM
stop_gateway kafkagate "$gw_pid" || status=1
gw_pids=()
check_logs "$log" || status=1
if [ $status != 0 ]; then
	# the gateway's view of the fail-overs, for the report
	echo "----- kafkagate retries and errors" >&2
	grep -E 'retry|fail|cannot|closed the connection|error' "$log" | head -n 60 >&2 || true
fi
exit $status
