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
top_srcdir=$(cd "${srcdir:-$here/../..}" && pwd)
broker_sh="$top_srcdir/tests/broker/kafka-broker.sh"
PYTHON=${KAFKAGATE_PYTHON:-/usr/bin/python3}
scale=${KAFKAGATE_TIMEOUT_SCALE:-1}
export KAFKAGATE_TIMEOUT_SCALE=$scale
export PYTHONDONTWRITEBYTECODE=1
HA_TOPIC=ha
HA_RECORDS=20
REQUEST_TIMEOUT=${KAFKAGATE_REQUEST_TIMEOUT:-10}
t_start=$(date +%s)

say() { printf 'failover.sh: %s\n' "$*" >&2; }
fail() { say "FAIL: $*"; exit 1; }
skip_or_fail() {
	if [ -n "${CI:-}" ] && [ "${CI}" != false ] && [ "${CI}" != 0 ]; then
		say "FAIL: $* (CI is set: prerequisites are required)"
		exit 1
	fi
	echo "SKIP: $*"
	exit 77
}
scaled() { awk -v s="$1" -v f="$scale" 'BEGIN { v = s * f; i = int(v); if (i < v) i++; if (i < 1) i = 1; print i }'; }

port_free() { # 0 if nothing listens on 127.0.0.1:$1 (TIME_WAIT is fine: Kafka
	# and kafkagate bind with SO_REUSEADDR, and the previous run leaves some)
	"$PYTHON" - "$1" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
EOF
}
free_port() { # BASE: first free port >= BASE
	local p=$1
	while [ "$p" -lt 65000 ]; do
		port_free "$p" && { echo "$p"; return 0; }
		p=$((p + 1))
	done
	return 1
}
cluster_ports_free() { # BASE: node ports BASE, BASE+1000, BASE+2000 and each +1
	local n
	for n in 0 1 2; do
		port_free $(($1 + 1000 * n)) && port_free $(($1 + 1000 * n + 1)) || return 1
	done
}

# ---- prerequisites --------------------------------------------------------
[ -x "$PYTHON" ] || skip_or_fail "$PYTHON not found"
"$PYTHON" -c 'import websockets, google.protobuf' 2>/dev/null ||
	skip_or_fail "$PYTHON lacks the websockets or protobuf modules (Debian: python3-websockets python3-protobuf)"
command -v "${PROTOC:-protoc}" >/dev/null 2>&1 || skip_or_fail "protoc not found (Debian: protobuf-compiler)"
command -v kcat >/dev/null 2>&1 || skip_or_fail "kcat not found (Debian: kcat)"
command -v java >/dev/null 2>&1 || skip_or_fail "java not found (Kafka needs Java 17)"
jv=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)
[ "${jv:-0}" -ge 17 ] 2>/dev/null || skip_or_fail "Java ${jv:-?} is too old (Kafka needs 17)"

if [ -n "${KAFKAGATE_BIN:-}" ]; then
	bin=$KAFKAGATE_BIN
elif [ -n "${builddir:-}" ]; then
	bin=$builddir/src/kafkagate
elif [ -x ./src/kafkagate ]; then
	bin=./src/kafkagate
else
	bin=$top_srcdir/src/kafkagate
fi
[ -x "$bin" ] || skip_or_fail "kafkagate binary not found at $bin (build it, or set KAFKAGATE_BIN)"
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

# ---- scratch directory and cleanup ---------------------------------------
W=$(mktemp -d "${TMPDIR:-/tmp}/kafkagate-fo.XXXXXX")
gw_pid=""
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$gw_pid" ]; then
		kill -TERM "$gw_pid" 2>/dev/null || true
		for _ in $(seq 1 $((10 * $(scaled 5)))); do kill -0 "$gw_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$gw_pid" 2>/dev/null || true
	fi
	bash "$broker_sh" cluster-stop "$W/cluster" 2>/dev/null || true
	if [ $rc != 0 ] && [ $rc != 77 ]; then
		if [ -s "$W/kafkagate.log" ]; then
			echo "----- last 40 lines of $W/kafkagate.log" >&2
			tail -n 40 "$W/kafkagate.log" >&2
		fi
		for f in "$W"/cluster/n*/broker.log; do
			[ -s "$f" ] || continue
			echo "----- last 15 lines of $f" >&2
			tail -n 15 "$f" >&2
		done
	fi
	if [ -n "${KAFKAGATE_KEEP:-}" ]; then
		say "kept $W"
	else
		rm -rf "$W"
	fi
	say "finished in $(( $(date +%s) - t_start )) s"
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

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
wrapper=${KAFKAGATE_WRAPPER:-}
log="$W/kafkagate.log"
say "starting kafkagate: ${wrapper:+$wrapper }$bin -l 127.0.0.1:$KAFKAGATE_PORT -b $bootstrap -p /kafka --request-timeout $REQUEST_TIMEOUT -v"
# shellcheck disable=SC2086
$wrapper "$bin" -l "127.0.0.1:$KAFKAGATE_PORT" -b "$bootstrap" -p /kafka \
	--request-timeout "$REQUEST_TIMEOUT" -v >"$log" 2>&1 </dev/null &
gw_pid=$!
deadline=$(( $(date +%s) + $(scaled 20) ))
while ! (: >"/dev/tcp/127.0.0.1/$KAFKAGATE_PORT") 2>/dev/null; do
	kill -0 "$gw_pid" 2>/dev/null || { gw_pid=""; fail "kafkagate exited during start-up"; }
	[ "$(date +%s)" -lt "$deadline" ] || fail "kafkagate is not listening on port $KAFKAGATE_PORT"
	sleep 0.2
done

# ---- tests ----------------------------------------------------------------
export KAFKAGATE_URL="ws://127.0.0.1:$KAFKAGATE_PORT/kafka"
export KAFKA_CLUSTER_DIR="$W/cluster" KAFKA_BROKER_SH="$broker_sh"
export KAFKA_CLUSTER_BOOTSTRAP="$bootstrap" HA_TOPIC HA_RECORDS
export KAFKAGATE_REQUEST_TIMEOUT=$REQUEST_TIMEOUT
export KAFKAGATE_PROTO=${KAFKAGATE_PROTO:-$top_srcdir/proto/pubsub.proto}
export srcdir=$top_srcdir
set +e
timeout --foreground "$(scaled 300)" "$PYTHON" "$here/test_failover.py" "$@"
status=$?
set -e
[ $status = 124 ] && say "the test program timed out"
[ $status = 0 ] || status=1

# the gateway must still be alive and exit 0 on SIGTERM
if ! kill -0 "$gw_pid" 2>/dev/null; then
	wait "$gw_pid"; rc=$?
	say "FAIL: kafkagate died during the tests (exit status $rc)"
	gw_pid=""
	status=1
else
	kill -TERM "$gw_pid"
	for _ in $(seq 1 $((10 * $(scaled 10)))); do kill -0 "$gw_pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$gw_pid" 2>/dev/null; then
		say "FAIL: kafkagate did not exit within $(scaled 10) s of SIGTERM"
		status=1
	else
		rc=0; wait "$gw_pid" || rc=$?
		gw_pid=""
		if [ $rc != 0 ]; then
			say "FAIL: kafkagate exited with status $rc on SIGTERM"
			status=1
		fi
	fi
fi
if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|ERROR SUMMARY: [1-9]' "$log"; then
	say "FAIL: sanitizer or valgrind report in $log"
	grep -E -A 20 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|ERROR SUMMARY: [1-9]' "$log" | head -n 60 >&2
	status=1
fi
if [ $status != 0 ]; then
	# the gateway's view of the fail-overs, for the report
	echo "----- kafkagate retries and errors" >&2
	grep -E 'retry|fail|cannot|closed the connection|error' "$log" | head -n 60 >&2 || true
fi
exit $status
