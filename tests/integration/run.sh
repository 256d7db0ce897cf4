#!/bin/bash
# run.sh — kafkagate's integration tests against a real Apache Kafka broker.
#
# Starts a single-node KRaft broker (tests/broker/kafka-broker.sh) in a
# temporary directory, seeds the test topics, starts two kafkagate instances
# (one on that broker, one on an unreachable broker), runs
# tests/integration/test_pubsub.py against them and stops everything.
#
# Exit status: 0 all passed, 1 failure, 77 skipped (Automake's SKIP) when a
# prerequisite is missing — unless CI is set, where a missing prerequisite
# is a failure.  Arguments are passed to test_pubsub.py (test names, -k).
#
# Environment (all optional):
#   KAFKAGATE_BIN        the daemon (default $builddir/src/kafkagate)
#   builddir, srcdir     top build/source directories (default: the current
#                        directory if it holds src/kafkagate, and the tree
#                        this script is in)
#   KAFKAGATE_BOOTSTRAP  host:port of an existing broker to use (seeded if
#                        its topics are absent) instead of starting one
#   KAFKAGATE_URL        an already running kafkagate to test (its broker
#                        must hold the seeded data); none is started then
#   KAFKAGATE_BAD_URL    an already running kafkagate with an unreachable broker
#   KAFKAGATE_TIMEOUT_SCALE  multiplies every timeout (slow machines, valgrind)
#   KAFKAGATE_WRAPPER    command prefix for the daemon, e.g. "valgrind -q"
#   KAFKAGATE_KEEP=1     keep the temporary directory (logs, broker data)
#   KAFKA_PORT, KAFKAGATE_PORT, KAFKAGATE_BAD_PORT   fixed ports instead of free ones
#   KAFKA_PORT_BASE, KAFKAGATE_PORT_BASE   where the search for free ones starts
#                        (default 19092 and 19480; compat39.sh uses others so
#                        that both can run at once under make -j)
#   KAFKA_VERSION        the Kafka release to start (default 4.1.1; 3.9.x works)
#   KAFKAGATE_PYTHON     Python with websockets + protobuf (default /usr/bin/python3)
#   CI                   set: missing prerequisites fail instead of skip
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=$(cd "${srcdir:-$here/../..}" && pwd)
broker_sh="$top_srcdir/tests/broker/kafka-broker.sh"
PYTHON=${KAFKAGATE_PYTHON:-/usr/bin/python3}
scale=${KAFKAGATE_TIMEOUT_SCALE:-1}
export KAFKAGATE_TIMEOUT_SCALE=$scale
export PYTHONDONTWRITEBYTECODE=1

say() { printf 'run.sh: %s\n' "$*" >&2; }
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

port_free() { # 0 if nothing listens on 127.0.0.1:$1 and it can be bound
	"$PYTHON" - "$1" <<'EOF'
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
EOF
}
# free_port BASE [STEP [WIDTH]]: first port >= BASE with WIDTH free ports
free_port() {
	local p=$1 step=${2:-1} width=${3:-1} i ok
	while [ "$p" -lt 65000 ]; do
		ok=1
		for i in $(seq 0 $((width - 1))); do
			port_free $((p + i)) || { ok=0; break; }
		done
		[ $ok = 1 ] && { echo "$p"; return 0; }
		p=$((p + step))
	done
	return 1
}

wait_port() { # PORT PID NAME LOG
	local deadline=$(( $(date +%s) + $(scaled 20) ))
	while ! (: >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
		if ! kill -0 "$2" 2>/dev/null; then
			tail -n 50 "$4" >&2 || true
			fail "$3 exited during start-up (log above)"
		fi
		[ "$(date +%s)" -lt "$deadline" ] || { tail -n 50 "$4" >&2 || true; fail "$3 is not listening on port $1"; }
		sleep 0.2
	done
}

# ---- prerequisites --------------------------------------------------------
need_url=${KAFKAGATE_URL:-}
[ -x "$PYTHON" ] || skip_or_fail "$PYTHON not found"
"$PYTHON" -c 'import websockets, google.protobuf' 2>/dev/null ||
	skip_or_fail "$PYTHON lacks the websockets or protobuf modules (Debian: python3-websockets python3-protobuf)"
command -v "${PROTOC:-protoc}" >/dev/null 2>&1 || skip_or_fail "protoc not found (Debian: protobuf-compiler)"
command -v kcat >/dev/null 2>&1 || skip_or_fail "kcat not found (Debian: kcat)"

bin=""
if [ -n "${KAFKAGATE_BIN:-}" ]; then
	bin=$KAFKAGATE_BIN
elif [ -n "${builddir:-}" ]; then
	bin=$builddir/src/kafkagate
elif [ -x ./src/kafkagate ]; then
	bin=./src/kafkagate
else
	bin=$top_srcdir/src/kafkagate
fi
if [ -x "$bin" ]; then
	bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
elif [ -z "$need_url" ]; then
	skip_or_fail "kafkagate binary not found at $bin (build it, or set KAFKAGATE_BIN / KAFKAGATE_URL)"
else
	bin=""
fi

start_broker=1
[ -n "${KAFKAGATE_BOOTSTRAP:-}" ] && start_broker=0
# an external gateway with no bootstrap given: its broker is not ours to seed
[ -n "$need_url" ] && [ -z "${KAFKAGATE_BOOTSTRAP:-}" ] && start_broker=0
if [ $start_broker = 1 ]; then
	command -v java >/dev/null 2>&1 || skip_or_fail "java not found (Kafka 4 needs Java 17)"
	jv=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)
	[ "${jv:-0}" -ge 17 ] 2>/dev/null || skip_or_fail "Java ${jv:-?} is too old (Kafka 4 needs 17)"
fi

# ---- scratch directory and cleanup ---------------------------------------
W=$(mktemp -d "${TMPDIR:-/tmp}/kafkagate-it.XXXXXX")
gw_pids=()
cleanup() {
	local rc=$? pid
	trap - EXIT INT TERM
	for pid in ${gw_pids[@]+"${gw_pids[@]}"}; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in ${gw_pids[@]+"${gw_pids[@]}"}; do
		for _ in $(seq 1 $((10 * $(scaled 5)))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	done
	if [ $start_broker = 1 ]; then bash "$broker_sh" stop "$W/broker" 2>/dev/null || true; fi
	if [ $rc != 0 ] && [ $rc != 77 ]; then
		for f in "$W"/kafkagate*.log "$W/broker/broker.log"; do
			[ -s "$f" ] || continue
			echo "----- last 40 lines of $f" >&2
			tail -n 40 "$f" >&2
		done
	fi
	if [ -n "${KAFKAGATE_KEEP:-}" ]; then
		say "kept $W"
	else
		rm -rf "$W"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- broker ---------------------------------------------------------------
if [ $start_broker = 1 ]; then
	KAFKA_PORT=${KAFKA_PORT:-$(free_port "${KAFKA_PORT_BASE:-19092}" 2 2)} || fail "no free port pair for the broker"
	export KAFKA_PORT
	say "Kafka ${KAFKA_VERSION:-(default version)} on port $KAFKA_PORT"
	if ! bash "$broker_sh" start "$W/broker"; then
		# start printed the reason; a broker that cannot start is a missing
		# prerequisite (no network for Maven, no memory, ...)
		skip_or_fail "the Kafka broker could not be started (see above)"
	fi
	bootstrap=$(cat "$W/broker/bootstrap")
elif [ -n "${KAFKAGATE_BOOTSTRAP:-}" ]; then
	bootstrap=$KAFKAGATE_BOOTSTRAP
	kcat -L -b "$bootstrap" -m 10 >/dev/null 2>&1 || skip_or_fail "no broker answers at KAFKAGATE_BOOTSTRAP=$bootstrap"
else
	bootstrap=""
fi
if [ -n "$bootstrap" ]; then
	KAFKAGATE_BOOTSTRAP=$bootstrap bash "$broker_sh" seed "$W/broker" || fail "seeding the test topics failed"
fi

# ---- gateways -------------------------------------------------------------
wrapper=${KAFKAGATE_WRAPPER:-}
start_gw() { # NAME PORT BOOTSTRAP
	local log="$W/$1.log"
	say "starting $1: ${wrapper:+$wrapper }$bin -l 127.0.0.1:$2 -b $3 -p /kafka -v"
	# shellcheck disable=SC2086
	$wrapper "$bin" -l "127.0.0.1:$2" -b "$3" -p /kafka -v >"$log" 2>&1 </dev/null &
	gw_pids+=($!)
	wait_port "$2" "$!" "$1" "$log"
}
if [ -z "$need_url" ]; then
	KAFKAGATE_PORT=${KAFKAGATE_PORT:-$(free_port "${KAFKAGATE_PORT_BASE:-19480}")} || fail "no free port for kafkagate"
	start_gw kafkagate "$KAFKAGATE_PORT" "$bootstrap"
	export KAFKAGATE_URL="ws://127.0.0.1:$KAFKAGATE_PORT/kafka"
fi
if [ -z "${KAFKAGATE_BAD_URL:-}" ] && [ -n "$bin" ]; then
	# nothing listens on 59092 (APISIX's kafka.t uses the same port)
	port_free 59092 || fail "something listens on 127.0.0.1:59092; the unreachable-broker test needs it closed"
	KAFKAGATE_BAD_PORT=${KAFKAGATE_BAD_PORT:-$(free_port $((${KAFKAGATE_PORT:-${KAFKAGATE_PORT_BASE:-19480}} + 1)))} ||
		fail "no free port for the second kafkagate"
	start_gw kafkagate-bad "$KAFKAGATE_BAD_PORT" 127.0.0.1:59092
	export KAFKAGATE_BAD_URL="ws://127.0.0.1:$KAFKAGATE_BAD_PORT/kafka"
fi

# ---- tests ----------------------------------------------------------------
export KAFKAGATE_PROTO=${KAFKAGATE_PROTO:-$top_srcdir/proto/pubsub.proto}
export srcdir=$top_srcdir
set +e
timeout --foreground "$(scaled 900)" "$PYTHON" "$here/test_pubsub.py" "$@"
status=$?
set -e
[ $status = 124 ] && say "the test program timed out"
[ $status = 0 ] || status=1

# every gateway must still be alive, and shut down cleanly on TERM
for pid in ${gw_pids[@]+"${gw_pids[@]}"}; do
	if ! kill -0 "$pid" 2>/dev/null; then
		say "FAIL: a kafkagate process (pid $pid) died during the tests"
		status=1
	fi
done
for pid in ${gw_pids[@]+"${gw_pids[@]}"}; do kill -TERM "$pid" 2>/dev/null || true; done
for pid in ${gw_pids[@]+"${gw_pids[@]}"}; do
	for _ in $(seq 1 $((10 * $(scaled 10)))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then
		say "FAIL: kafkagate (pid $pid) did not exit within $(scaled 10) s of SIGTERM"
		status=1
	fi
done
gw_pids_left=()
for pid in ${gw_pids[@]+"${gw_pids[@]}"}; do kill -0 "$pid" 2>/dev/null && gw_pids_left+=("$pid"); done
gw_pids=(${gw_pids_left[@]+"${gw_pids_left[@]}"})
for f in "$W"/kafkagate*.log; do
	[ -f "$f" ] || continue
	if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|ERROR SUMMARY: [1-9]' "$f"; then
		say "FAIL: sanitizer or valgrind report in $f"
		grep -E -A 20 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|ERROR SUMMARY: [1-9]' "$f" | head -n 60 >&2
		status=1
	fi
done
exit $status
