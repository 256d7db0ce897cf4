#!/bin/sh
# demo.sh -- build kafkagate, start a local Apache Kafka (KRaft, jars from
# Maven Central), put five records in topic "demo" as one lz4-compressed
# batch, run kafkagate in front of it and show a client's requests and
# kafkagate's answers.  Installs what it needs (Debian/Ubuntu, through
# scripts/install-deps.sh).  kafkagate keeps serving
# ws://127.0.0.1:9080/kafka until Ctrl-C (or SIGTERM); then kafkagate gets
# one SIGTERM, Kafka is stopped and the scratch directory removed.
#
#   scripts/demo.sh              KAFKA_PORT (19092) and KAFKAGATE_PORT (9080) move them,
#                                KAFKAGATE_KEEP=1 keeps the scratch directory
#   scripts/demo.sh --seed DIR   only create and fill topic demo on the broker that
#                                tests/broker/kafka-broker.sh started in DIR (the
#                                README test uses it: README's examples read this data)
#
# Package installation, configure and make write to build/demo-build.log,
# shown only when they fail; Kafka's and kafkagate's logs go to the scratch
# directory, kept when something fails.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
broker_sh=$top/tests/broker/kafka-broker.sh
PY=${KAFKAGATE_PYTHON:-/usr/bin/python3}
KAFKA_PORT=${KAFKA_PORT:-19092}
PORT=${KAFKAGATE_PORT:-9080}
export KAFKA_PORT
prog=scripts/demo.sh

say() { printf '%s\n' "$*"; }
err() { printf '%s: %s\n' "$prog" "$*" >&2; }

# seed DIR: topic demo (one partition), records key1..key5 = "hello N, ...",
# produced as ONE lz4 batch (offsets 0-4).  The values repeat a sentence so
# that lz4 shrinks the batch: librdkafka sends a batch uncompressed when
# compression does not make it smaller.
seed() {
	bs=$(cat "$1/bootstrap")
	"$broker_sh" topic "$1" demo 1 || return 1
	for i in 1 2 3 4 5; do
		printf 'key%d:hello %d, one of five records in one compressed batch\n' "$i" "$i"
	done | kcat -P -q -b "$bs" -t demo -p 0 -K: -z lz4 -X linger.ms=500 || return 1
	n=$(kcat -C -q -e -b "$bs" -t demo -p 0 -o beginning -f '%o\n' | wc -l)
	[ "$n" -eq 5 ] || { err "topic demo holds $n records, not 5"; return 1; }
}

if [ "${1:-}" = --seed ]; then
	[ $# -eq 2 ] || { err "usage: $prog --seed DIR"; exit 2; }
	seed "$2"
	exit
fi
[ $# -eq 0 ] || { err "usage: $prog [--seed DIR]"; exit 2; }

# alive PID: the process runs (not a zombie waiting to be reaped)
alive() {
	kill -0 "$1" 2>/dev/null || return 1
	[ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# step LOG COMMAND...: run COMMAND in the background, output appended to
# LOG, and wait for it.  In the background, so that a SIGTERM to this
# script runs the cleanup at once (the shell defers traps while a
# foreground command runs); cleanup() stops it.
child=
step() {
	_log=$1
	shift
	"$@" >>"$_log" 2>&1 </dev/null &
	child=$!
	_rc=0
	wait "$child" || _rc=$?
	child=
	return $_rc
}

# failed WHAT LOG: one line saying what failed, the log's last lines, exit 1
failed() {
	err "$1 (last lines of $2 below)"
	tail -n "${3:-15}" "$2" | sed 's/^/  | /' >&2
	exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/kafkagate-demo.XXXXXX")
gate_pid=
broker_started=
cleanup() {
	rc=$?
	stopped=
	trap '' INT TERM
	trap - EXIT
	[ -n "$child" ] && kill "$child" 2>/dev/null
	if [ -n "$gate_pid" ] && alive "$gate_pid"; then
		# one SIGTERM: kafkagate closes its clients (1001) and exits
		kill -TERM "$gate_pid"
		i=0
		while alive "$gate_pid" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
		alive "$gate_pid" && kill -KILL "$gate_pid"
		wait "$gate_pid" 2>/dev/null || true
		stopped="kafkagate"
	fi
	if [ -n "$broker_started" ]; then
		"$broker_sh" stop "$work/kafka" >>"$work/kafka.log" 2>&1 || true
		stopped="${stopped:+$stopped and }Kafka"
	fi
	if [ $rc = 0 ] || [ $rc = 130 ] || [ $rc = 143 ]; then
		[ -n "$stopped" ] && printf '\n%s\n' "demo: stopped $stopped."
		if [ -n "${KAFKAGATE_KEEP:-}" ]; then say "demo: kept $work"; else rm -rf "$work"; fi
	else
		err "logs kept in $work"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "kafkagate demo: Apache Kafka, kafkagate in front of it, and an APISIX pubsub client."
say ""

# ---- build ------------------------------------------------------------------
mkdir -p "$top/build"
blog=$top/build/demo-build.log
: >"$blog"
t0=$(date +%s)
printf '  installing packages and building kafkagate (log: build/demo-build.log) ... '
step "$blog" "$top/scripts/install-deps.sh" || { say "failed"; failed "installing packages failed" "$blog"; }
if [ ! -x "$top/configure" ]; then
	step "$blog" sh -c 'cd "$1" && autoreconf -fi' sh "$top" || { say "failed"; failed "autoreconf failed" "$blog"; }
fi
if [ ! -f "$top/build/Makefile" ]; then
	step "$blog" sh -c 'cd "$1/build" && ../configure' sh "$top" || { say "failed"; failed "configure failed" "$blog"; }
fi
step "$blog" make -C "$top/build" -j"$(nproc 2>/dev/null || echo 2)" ||
    { say "failed"; failed "the build failed" "$blog" 30; }
say "done ($(( $(date +%s) - t0 )) s)"

# ---- Kafka --------------------------------------------------------------------
# port_free PORT: nothing listens on 127.0.0.1:PORT
port_free() {
	"$PY" -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}
for p in "$KAFKA_PORT" $((KAFKA_PORT + 1)); do
	port_free "$p" || { err "port $p is in use, Kafka needs $KAFKA_PORT and $((KAFKA_PORT + 1)); KAFKA_PORT=... moves them"; exit 1; }
done
printf '  starting Apache Kafka on 127.0.0.1:%s (the first run downloads its jars, about a minute) ... ' "$KAFKA_PORT"
t0=$(date +%s)
broker_started=1
step "$work/kafka.log" "$broker_sh" start "$work/kafka" || {
	say "failed"
	failed "Kafka did not start" "$work/kafka.log"
}
say "done ($(( $(date +%s) - t0 )) s)"
printf '  topic demo: five records, key1..key5, produced as one lz4 batch ... '
step "$work/kafka.log" seed "$work/kafka" || { say "failed"; failed "creating topic demo failed" "$work/kafka.log"; }
say "done"

# ---- kafkagate ------------------------------------------------------------------
url=ws://127.0.0.1:$PORT/kafka
printf '  starting kafkagate on %s ... ' "$url"
# setsid: a Ctrl-C in the terminal reaches this script only; kafkagate gets
# exactly one SIGTERM from cleanup() (a second signal would make it exit
# without closing its clients).
setsid "$top/build/src/kafkagate" -l "127.0.0.1:$PORT" -b "127.0.0.1:$KAFKA_PORT" \
    >"$work/kafkagate.log" 2>&1 </dev/null &
gate_pid=$!
# listening: kafkagate logged it (another process may hold the port: a
# connection alone proves nothing) and the port accepts connections
listening() {
	grep -q "listening on 127.0.0.1:$PORT" "$work/kafkagate.log" &&
	    "$PY" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
	    "$PORT" 2>/dev/null
}
i=0
until listening; do
	if ! alive "$gate_pid"; then
		rc=0
		wait "$gate_pid" || rc=$?
		gate_pid=
		say "failed"
		failed "kafkagate did not start (exit status $rc; is port $PORT in use? KAFKAGATE_PORT=... moves it)" \
		    "$work/kafkagate.log" 5
	fi
	i=$((i + 1))
	[ $i -lt 100 ] || { say "failed"; failed "kafkagate is not listening on 127.0.0.1:$PORT after 20 s" "$work/kafkagate.log" 5; }
	sleep 0.2
done
say "done"
say ""

# ---- the transcript -------------------------------------------------------------
cat >"$work/client.py" <<'EOF'
"""A client's requests and kafkagate's answers, one line each."""
import asyncio, struct, sys

top, url, segment = sys.argv[1:4]
sys.path.insert(0, top + "/tests/integration")
from pubsub_client import PubSubClient, load_proto

CODECS = ["uncompressed", "gzip", "snappy", "lz4", "zstd"]


def batches(path):
    """(first offset, last offset, codec) of each record batch Kafka stored."""
    out = []
    with open(path, "rb") as f:
        data = f.read()
    i = 0
    while i + 61 <= len(data):
        base, length = struct.unpack(">qi", data[i:i + 12])
        attrs, last = struct.unpack(">hi", data[i + 21:i + 27])
        out.append((base, base + last, CODECS[attrs & 7] if attrs & 7 < 5 else "?"))
        i += 12 + length
    return out


def answer(resp):
    which = resp.WhichOneof("resp")
    if which == "pong_resp":
        return ['pong_resp{state: "%s"}' % resp.pong_resp.state.decode()]
    if which == "kafka_list_offset_resp":
        return ["kafka_list_offset_resp{offset: %d}" % resp.kafka_list_offset_resp.offset]
    if which == "error_resp":
        return ['error_resp{code: %d, message: "%s"}' % (resp.error_resp.code, resp.error_resp.message)]
    ms = resp.kafka_fetch_resp.messages
    return (["kafka_fetch_resp: %d records" % len(ms)] +
            ["    offset %d  %s = %s" % (m.offset, m.key.decode(errors="replace"),
                                         m.value.decode(errors="replace")) for m in ms])


def show(request, resp):
    lines = answer(resp)
    print("  > %s" % request)
    print("  < %s" % lines[0])
    for line in lines[1:]:
        print("  %s" % line)


async def main():
    stored = batches(segment)
    print("Kafka stored topic demo as %s." % "; ".join(
        "one %s batch holding offsets %d-%d" % (c, a, b) for a, b, c in stored))
    print("A client sends APISIX pubsub requests (protobuf in binary WebSocket frames) to")
    print("%s; kafkagate answers from Kafka:" % url)
    print()
    async with await PubSubClient.connect(url, load_proto(top + "/proto/pubsub.proto")) as c:
        show('cmd_ping{state: "hello"}', await c.ping(b"hello"))
        show("cmd_kafka_list_offset{topic: demo, partition: 0, timestamp: -2}   (earliest)",
             await c.list_offset("demo", 0, -2))
        show("cmd_kafka_list_offset{topic: demo, partition: 0, timestamp: -1}   (latest)",
             await c.list_offset("demo", 0, -1))
        show("cmd_kafka_fetch{topic: demo, partition: 0, offset: 0}", await c.fetch("demo", 0, 0))
        show("cmd_kafka_fetch{topic: no-such-topic, partition: 0, offset: 0}",
             await c.fetch("no-such-topic", 0, 0))
        print()
        print("What APISIX cannot do: a fetch from the middle of a compressed batch.")
        show("cmd_kafka_fetch{topic: demo, partition: 0, offset: 3}", await c.fetch("demo", 0, 3))
        print("  Offset 3 lies inside the lz4 batch 0-4.  kafkagate decompresses the batch")
        print("  and answers with records 3 and 4 only.  APISIX answers a fetch with whole")
        print("  batches, records below the asked offset included (apache/apisix#9779), and")
        print("  cannot decode a compressed batch; kafkagate decodes gzip, snappy, lz4 and zstd.")


try:
    asyncio.run(main())
except Exception as e:  # one line, not a traceback
    sys.exit("cannot talk to %s: %s: %s" % (url, type(e).__name__, e))
EOF
step "$work/client.log" "$PY" "$work/client.py" "$top" "$url" "$work/kafka/data/demo-0/00000000000000000000.log" ||
    failed "the demo client failed" "$work/client.log" 5
cat "$work/client.log"
say ""
say "Try it yourself: kafkagate serves $url (topic demo) until Ctrl-C."
say "In another terminal, from $top:"
say "  $PY tests/integration/pubsub_client.py $url fetch demo 0 3"
say "or the Python client in README.md.  kafkagate's log: $work/kafkagate.log"

rc=0
wait "$gate_pid" || rc=$?
gate_pid=
failed "kafkagate exited on its own (exit status $rc)" "$work/kafkagate.log"
