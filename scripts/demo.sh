#!/bin/sh
# demo.sh -- build kafkagate, start a local Apache Kafka (KRaft, jars from
# Maven Central), put a few records in a topic, run kafkagate in front of
# it and show it answering APISIX pubsub commands.  Installs what it needs
# (Debian/Ubuntu).  kafkagate keeps serving ws://127.0.0.1:9080/kafka
# until Ctrl-C; then everything is stopped.
#
#   scripts/demo.sh           (KAFKA_PORT=19092 and KAFKAGATE_PORT=9080 to move them)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
"$top/scripts/install-deps.sh"

[ -x configure ] || autoreconf -fi
mkdir -p build
(cd build && { [ -f Makefile ] || ../configure; } && make -j"$(nproc 2>/dev/null || echo 2)")

KAFKA_PORT=${KAFKA_PORT:-19092}
PORT=${KAFKAGATE_PORT:-9080}
export KAFKA_PORT
work=$(mktemp -d "${TMPDIR:-/tmp}/kafkagate-demo.XXXXXX")
gate_pid=
cleanup() {
	[ -n "$gate_pid" ] && kill "$gate_pid" 2>/dev/null && wait "$gate_pid" 2>/dev/null
	"$top/tests/broker/kafka-broker.sh" stop "$work/kafka" || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== starting Apache Kafka on 127.0.0.1:$KAFKA_PORT (first run downloads the jars)"
"$top/tests/broker/kafka-broker.sh" start "$work/kafka"
"$top/tests/broker/kafka-broker.sh" topic "$work/kafka" demo 1
for i in 1 2 3 4 5; do echo "key$i:hello $i"; done |
    kcat -P -q -b "127.0.0.1:$KAFKA_PORT" -t demo -K: -z lz4

echo "== starting kafkagate on ws://127.0.0.1:$PORT/kafka"
"$top/build/src/kafkagate" -l "127.0.0.1:$PORT" -b "127.0.0.1:$KAFKA_PORT" &
gate_pid=$!
sleep 1

client="/usr/bin/python3 $top/tests/integration/pubsub_client.py ws://127.0.0.1:$PORT/kafka"
export KAFKAGATE_PROTO="$top/proto/pubsub.proto"
echo "== ping";                         $client ping hello
echo "== list offset demo/0 latest";    $client list_offset demo 0 -1
echo "== fetch demo/0 from offset 2";   $client fetch demo 0 2
echo "== a topic that does not exist";  $client list_offset nope 0 -1 || true

echo "== kafkagate is serving ws://127.0.0.1:$PORT/kafka (topic 'demo'); Ctrl-C stops it"
wait "$gate_pid"
