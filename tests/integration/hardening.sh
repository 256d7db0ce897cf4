#!/bin/bash
# hardening.sh — failures that must never look like success, clients that
# must not grow the process, hostile input: the real daemon, no Kafka.
#
# Runs tests/integration/test_hardening.py, which starts one kafkagate per
# scenario (an unresolvable broker name, a process out of file descriptors,
# a broker that accepts and never answers, a name server that never
# answers) and drives it with a raw WebSocket client and the Python
# protobuf module.  The slow-DNS scenario needs root (a mount namespace
# whose /etc/resolv.conf points at a silent name server on 127.0.0.2); it
# skips without, and fails in CI.  About 40 s.
#
# Exit status: 0 all passed, 1 failure, 77 skipped (Automake's SKIP) when a
# prerequisite is missing — unless CI is set, where that is a failure.
# Arguments are passed to test_hardening.py (test names, -k SUBSTRING, -v).
#
# Environment (all optional): KAFKAGATE_BIN, builddir, top_builddir, srcdir,
# KAFKAGATE_TIMEOUT_SCALE, KAFKAGATE_WRAPPER, KAFKAGATE_KEEP=1 (as run.sh).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
prog=hardening.sh
. "$here/lib.sh"

need_python
need_client
need_bin
need_tool prlimit

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ $rc != 0 ] && [ $rc != 77 ]; then
		show_tails 30 "$W"/*.log
	fi
	drop_scratch
	exit $rc
}
scratch kafkagate-hard

export KAFKAGATE_BIN=$bin KAFKAGATE_SCRATCH=$W KAFKAGATE_WRAPPER=${wrapper:-}
run_tests 300 "$here/test_hardening.py" "$@"
exit $status
