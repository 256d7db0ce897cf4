#!/bin/bash
# admin.sh — the admin endpoint (--admin-listen) of the real daemon against
# a real Kafka broker: /metrics (the Prometheus text format, checked with
# `promtool check metrics' when installed), counters that move with
# traffic, /healthz, /readyz, HTTP errors, the read deadline and the
# connection cap, reloads (SIGHUP) counted.
#
# Starts a single-node broker (tests/broker/kafka-broker.sh), seeds the
# test topics and starts two gateways: "kafkagate-admin", whose one route
# reaches the broker (admin address given with --admin-listen), and
# "kafkagate-admin-dead", with a second route /dead to a port where
# nothing listens (admin address given with the YAML key admin_listen).
# Runs tests/integration/test_admin.py; then each gateway must still run,
# exit 0 on SIGTERM and leave no sanitizer report.  About 30 s.
#
# Exit status: 0 all passed, 1 failure, 77 skipped (Automake's SKIP) when a
# prerequisite is missing (Java, kcat, the Python client, the daemon, a
# daemon without --admin-listen) — unless CI is set, where that is a
# failure.  promtool (Debian: prometheus) is checked by its own test,
# which skips without it, or fails when CI is set.  Arguments are passed
# to test_admin.py (test names, -k SUBSTRING, -v).
#
# Environment (all optional): KAFKAGATE_BIN, builddir, top_builddir, srcdir,
# KAFKAGATE_TIMEOUT_SCALE, KAFKAGATE_WRAPPER, KAFKAGATE_KEEP=1,
# KAFKA_VERSION (as run.sh); KAFKA_PORT_BASE, KAFKAGATE_PORT_BASE where
# the search for free ports starts (default 19292 and 19680).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
prog=admin.sh
. "$here/lib.sh"

need_python
need_client
need_tool kcat
need_bin
need_java
"$bin" --help 2>&1 | grep -q -- '--admin-listen' ||
	skip_or_fail "$bin has no --admin-listen option"

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	kill_gateways
	bash "$broker_sh" stop "$W/broker" 2>/dev/null || true
	if [ $rc != 0 ] && [ $rc != 77 ]; then
		show_tails 40 "$W"/kafkagate*.log "$W/broker/broker.log"
	fi
	drop_scratch
	exit $rc
}
scratch kafkagate-admin

# ---- broker -----------------------------------------------------------------
KAFKA_PORT=$(free_port "${KAFKA_PORT_BASE:-19292}" 2 2) || fail "no free port pair for the broker"
export KAFKA_PORT
say "Kafka ${KAFKA_VERSION:-(default version)} on port $KAFKA_PORT"
bash "$broker_sh" start "$W/broker" || skip_or_fail "the Kafka broker could not be started (see above)"
bootstrap=$(cat "$W/broker/bootstrap")
KAFKAGATE_BOOTSTRAP=$bootstrap bash "$broker_sh" seed "$W/broker" || fail "seeding the test topics failed"

# ---- gateways ---------------------------------------------------------------
# Four ports in a row: WebSocket and admin of each gateway; then a port
# where nothing listens, for the dead route.
base=$(free_port "${KAFKAGATE_PORT_BASE:-19680}" 8 4) || fail "no free ports for the gateways"
ws1=$base admin1=$((base + 1)) ws2=$((base + 2)) admin2=$((base + 3))
dead=$(free_port $((base + 4))) || fail "no free port for the dead route"
port_refused "$dead" || fail "something accepts connections on 127.0.0.1:$dead"

cat >"$W/live.yaml" <<EOF
listen: 127.0.0.1:$ws1
routes:
  - uri: /kafka
    upstream:
      scheme: kafka
      nodes:
        "$bootstrap": 1
EOF
cat >"$W/dead.yaml" <<EOF
listen: 127.0.0.1:$ws2
admin_listen: 127.0.0.1:$admin2
routes:
  - uri: /kafka
    upstream:
      scheme: kafka
      nodes:
        "$bootstrap": 1
  - uri: /dead
    upstream:
      scheme: kafka
      nodes:
        "127.0.0.1:$dead": 1
EOF

start_gw() { # NAME WSPORT ADMINPORT FLAGS...
	local name=$1 port=$2 aport=$3 log="$W/$1.log"
	shift 3
	say "starting $name: ${wrapper:+$wrapper }$bin $* -v"
	# shellcheck disable=SC2086
	$wrapper "$bin" "$@" -v >"$log" 2>&1 </dev/null 9>&- &
	gw_pids+=($!)
	wait_gateway "$name" "$port" "$!" "$log"
	wait_gateway "$name (admin)" "$aport" "$!" "$log"
}
start_gw kafkagate-admin "$ws1" "$admin1" -c "$W/live.yaml" --admin-listen "127.0.0.1:$admin1"
start_gw kafkagate-admin-dead "$ws2" "$admin2" -c "$W/dead.yaml"
dead_pid=$!

# ---- tests ------------------------------------------------------------------
export KAFKAGATE_URL="ws://127.0.0.1:$ws1/kafka"
export KAFKAGATE_ADMIN="127.0.0.1:$admin1" KAFKAGATE_ADMIN_DEAD="127.0.0.1:$admin2"
export KAFKAGATE_DEAD_BROKER="127.0.0.1:$dead" KAFKAGATE_BOOTSTRAP=$bootstrap
export KAFKAGATE_DEAD_PID=$dead_pid KAFKAGATE_DEAD_CONFIG="$W/dead.yaml"
run_tests 300 "$here/test_admin.py" "$@"

for pid in ${gw_pids[@]+"${gw_pids[@]}"}; do
	stop_gateway "kafkagate (pid $pid)" "$pid" || status=1
done
gw_pids=()
check_logs "$W"/kafkagate*.log || status=1
exit $status
