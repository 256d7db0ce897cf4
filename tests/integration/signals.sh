#!/bin/sh
# signals.sh -- SIGTERM/SIGHUP behaviour of the real daemon (no Kafka needed).
# Exit 77 (skip) only outside CI when the Python client cannot run.
here=$(cd "$(dirname "$0")" && pwd)
bin=${KAFKAGATE_BIN:-${top_builddir:-.}/src/kafkagate}
export KAFKAGATE_PROTO="${KAFKAGATE_PROTO:-${srcdir:-$here/../..}/proto/pubsub.proto}"
export PYTHONDONTWRITEBYTECODE=1
if ! /usr/bin/python3 -c 'import websockets, google.protobuf' 2>/dev/null ||
    ! command -v protoc >/dev/null 2>&1; then
	if [ -n "${CI:-}" ]; then
		echo "FAIL: /usr/bin/python3 with websockets+protobuf and protoc are needed"
		exit 1
	fi
	echo "SKIP: /usr/bin/python3 with websockets+protobuf and protoc are needed"
	exit 77
fi
exec /usr/bin/python3 "$here/test_signals.py" "$bin"
