#!/bin/bash
# run.sh — kafkagate's integration tests against a real Apache Kafka broker.
#
# Starts a single-node KRaft broker (tests/broker/kafka-broker.sh) in a
# temporary directory, seeds the test topics, starts two kafkagate instances
# (one on that broker, one on an unreachable broker), runs
# tests/integration/test_pubsub.py and test_transactions.py against them
# and stops everything.
#
# Exit status: 0 all passed, 1 failure, 77 skipped (Automake's SKIP) when a
# prerequisite is missing — unless CI is set, where a missing prerequisite
# is a failure.  Arguments are passed to test_pubsub.py (test names, -k).
#
# Environment (all optional):
#   KAFKAGATE_BIN        the daemon (default $builddir/src/kafkagate, else
#                        $top_builddir/src/kafkagate, else ./src/kafkagate)
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
prog=run.sh
. "$here/lib.sh"

# ---- prerequisites --------------------------------------------------------
need_url=${KAFKAGATE_URL:-}
need_python
need_client
need_tool kcat
if find_bin; then
	:
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
	need_java
fi

# ---- scratch directory and cleanup ---------------------------------------
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	kill_gateways
	if [ $start_broker = 1 ]; then bash "$broker_sh" stop "$W/broker" 2>/dev/null || true; fi
	if [ $rc != 0 ] && [ $rc != 77 ]; then
		show_tails 40 "$W"/kafkagate*.log "$W/broker/broker.log"
	fi
	drop_scratch
	exit $rc
}
scratch kafkagate-it

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
start_gw() { # NAME PORT BOOTSTRAP [FLAGS...]
	local name=$1 port=$2
	shift
	start_gateway "$name" "$W/$name.log" "$@"
	wait_gateway "$name" "$port" "$!" "$W/$name.log"
}
if [ -z "$need_url" ]; then
	KAFKAGATE_PORT=${KAFKAGATE_PORT:-$(free_port "${KAFKAGATE_PORT_BASE:-19480}")} || fail "no free port for kafkagate"
	start_gw kafkagate "$KAFKAGATE_PORT" "$bootstrap"
	export KAFKAGATE_URL="ws://127.0.0.1:$KAFKAGATE_PORT/kafka"
	# the same broker read with --isolation read_committed
	KAFKAGATE_RC_PORT=$(free_port $((KAFKAGATE_PORT + 2))) || fail "no free port for the read_committed kafkagate"
	start_gw kafkagate-rc "$KAFKAGATE_RC_PORT" "$bootstrap" --isolation read_committed
	export KAFKAGATE_RC_URL="ws://127.0.0.1:$KAFKAGATE_RC_PORT/kafka"
fi
if [ -z "${KAFKAGATE_BAD_URL:-}" ] && [ -n "$bin" ]; then
	# nothing listens on 59092 (APISIX's kafka.t uses the same port)
	port_refused 59092 || fail "something listens on 127.0.0.1:59092; the unreachable-broker test needs it closed"
	KAFKAGATE_BAD_PORT=${KAFKAGATE_BAD_PORT:-$(free_port $((${KAFKAGATE_PORT:-${KAFKAGATE_PORT_BASE:-19480}} + 1)))} ||
		fail "no free port for the second kafkagate"
	start_gw kafkagate-bad "$KAFKAGATE_BAD_PORT" 127.0.0.1:59092
	export KAFKAGATE_BAD_URL="ws://127.0.0.1:$KAFKAGATE_BAD_PORT/kafka"
fi

# ---- tests ----------------------------------------------------------------
run_tests 900 "$here/test_pubsub.py" "$@"
pubsub_status=$status
# Transactions (markers that hold offsets but no records): needs the
# broker itself to produce with a transactional producer; with test names
# in the arguments (meant for test_pubsub.py) it is left out.
if [ $# -eq 0 ] && [ -n "$bootstrap" ]; then
	export KAFKAGATE_BOOTSTRAP=$bootstrap
	[ $start_broker = 1 ] && export KAFKAGATE_BROKER_DATA=$W/broker/data
	run_tests 300 "$here/test_transactions.py"
	[ $pubsub_status = 0 ] || status=1
	pubsub_status=$status
	export KAFKAGATE_LOG=$W/kafkagate.log
	run_tests 120 "$here/test_tail.py"
	[ $pubsub_status = 0 ] || status=1
	pubsub_status=$status
	# SIGHUP, sd_notify, two instances: gateways of its own
	if [ -n "$bin" ]; then
		KAFKAGATE_BIN=$bin run_tests 120 "$here/test_reload.py"
		[ $pubsub_status = 0 ] || status=1
		pubsub_status=$status
		KAFKAGATE_BIN=$bin run_tests 120 "$here/test_auth.py"
		[ $pubsub_status = 0 ] || status=1
	fi
fi

# every gateway must still be alive, and exit 0 within 10 s of SIGTERM
for pid in ${gw_pids[@]+"${gw_pids[@]}"}; do
	stop_gateway "kafkagate (pid $pid)" "$pid" || status=1
done
gw_pids=()
check_logs "$W"/kafkagate*.log || status=1
exit $status
