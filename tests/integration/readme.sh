#!/bin/bash
# readme.sh -- run every command and snippet of README.md as written.
#
# Starts a single-node KRaft broker (tests/broker/kafka-broker.sh), fills
# topic demo exactly as scripts/demo.sh does (`demo.sh --seed`), then runs
# tests/integration/test_readme.py, which executes README.md's fenced
# blocks in order according to the `<!-- readme-test: ... -->` mark before
# each (sh, sh + exit status, output, file, daemon, skip (reason); see
# test_readme.py).  An unmarked block is a failure.  The README's daemons
# (kafkagate -b ... -l ...) are started by the README's own commands, with
# `kafkagate` on PATH the built daemon (through KAFKAGATE_WRAPPER if set)
# and `python3` Debian's (KAFKAGATE_PYTHON); they must still run at the end
# and exit 0 on SIGTERM, with no sanitizer report in their logs.
#
# The README's fixed ports are moved to free ones, so that the test runs
# beside the other suites: 9092 and 19092 (Kafka) to the test broker's
# port, 9080, 9081 and 8080 (kafkagate) to free ports from 19880.
#
# Exit status: 0 all passed, 1 failure, 77 skipped (Automake's SKIP) when a
# prerequisite is missing -- unless CI is set, where that is a failure.
# Arguments go to test_readme.py (-v shows every block's output).
#
# Environment: KAFKAGATE_BIN, builddir, top_builddir, srcdir,
# KAFKAGATE_PYTHON, KAFKAGATE_TIMEOUT_SCALE, KAFKAGATE_WRAPPER,
# KAFKAGATE_KEEP, KAFKA_VERSION, CI as for run.sh; KAFKA_PORT_BASE (19392)
# and KAFKAGATE_PORT_BASE (19880) where the searches for free ports start;
# README (the file to test, default $srcdir/README.md).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
prog=readme.sh
. "$here/lib.sh"

# ---- prerequisites --------------------------------------------------------
need_python
need_client
need_tool kcat
need_bin
need_java
readme=${README:-$top_srcdir/README.md}
[ -f "$readme" ] || fail "no $readme"

# ---- scratch directory and cleanup ---------------------------------------
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	# daemons test_readme.py left behind (it stops them itself unless killed)
	local f pid
	for f in "$W"/logs/*.pid; do
		[ -f "$f" ] && pid=$(cat "$f") && kill -0 "$pid" 2>/dev/null || continue
		gw_pids+=("$pid")
	done
	kill_gateways
	bash "$broker_sh" stop "$W/broker" >/dev/null 2>&1 || true
	if [ $rc != 0 ] && [ $rc != 77 ]; then
		show_tails 40 "$W/broker/broker.log"
	fi
	drop_scratch
	exit $rc
}
scratch kafkagate-readme

# ---- broker and the demo's topic ----------------------------------------------
KAFKA_PORT=$(free_port "${KAFKA_PORT_BASE:-19392}" 2 2) || fail "no free port pair for the broker"
export KAFKA_PORT
say "Kafka ${KAFKA_VERSION:-(default version)} on port $KAFKA_PORT"
if ! bash "$broker_sh" start "$W/broker"; then
	skip_or_fail "the Kafka broker could not be started (see above)"
fi
sh "$top_srcdir/scripts/demo.sh" --seed "$W/broker" || fail "scripts/demo.sh --seed failed"

# ---- ports, PATH ----------------------------------------------------------
p1=$(free_port "${KAFKAGATE_PORT_BASE:-19880}") || fail "no free port for kafkagate"
p2=$(free_port $((p1 + 1))) || fail "no free port for kafkagate"
p3=$(free_port $((p2 + 1))) || fail "no free port for kafkagate"
mkdir -p "$W/bin" "$W/logs"
# shellcheck disable=SC2016
printf '#!/bin/sh\nexec %s "%s" "$@"\n' "$wrapper" "$bin" >"$W/bin/kafkagate"
chmod +x "$W/bin/kafkagate"
ln -s "$(command -v "$PYTHON")" "$W/bin/python3"
export PATH="$W/bin:$PATH"

# ---- the README ---------------------------------------------------------------
run_tests 600 "$here/test_readme.py" --readme "$readme" --srcdir "$top_srcdir" \
    --work "$W/work" --logs "$W/logs" \
    --port "9092=$KAFKA_PORT" --port "19092=$KAFKA_PORT" \
    --port "9080=$p1" --port "9081=$p2" --port "8080=$p3" "$@"
check_logs "$W"/logs/*.log || status=1
exit $status
