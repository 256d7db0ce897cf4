#!/bin/bash
# signals.sh -- SIGTERM/SIGHUP behaviour of the real daemon (no Kafka needed).
# Exit 77 (skip) only outside CI when the Python client or the daemon is
# missing; with CI set, that is a failure.
# Environment: KAFKAGATE_BIN, builddir, top_builddir, srcdir, KAFKAGATE_PYTHON,
# KAFKAGATE_PROTO, CI as for run.sh.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
prog=signals.sh
. "$here/lib.sh"
need_python
need_client
need_bin
test_env
exec "$PYTHON" "$here/test_signals.py" "$bin"
