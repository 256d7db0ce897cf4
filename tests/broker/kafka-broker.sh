#!/bin/bash
# kafka-broker.sh — a throwaway single-node Apache Kafka (KRaft) broker for
# kafkagate's integration tests, run from Maven Central jars (no tarball, no
# Docker).  See shared/reference/kafka-test-broker.md.  Not part of the product.
#
#   kafka-broker.sh start DIR                      resolve jars, configure, format, start, wait
#   kafka-broker.sh stop DIR                       stop the broker started in DIR
#   kafka-broker.sh topic DIR NAME PARTITIONS [k=v...]   create a topic (TopicCommand)
#   kafka-broker.sh seed DIR                       create and fill the integration test topics
#   kafka-broker.sh classpath                      resolve the jars, print the classpath
#
# Environment:
#   KAFKA_PORT            PLAINTEXT port for `start` (default 19092); the
#                         controller listens on KAFKA_PORT+1
#   KAFKAGATE_BOOTSTRAP   host:port of an existing broker for `topic`/`seed`
#                         (default: the broker started in DIR, else 127.0.0.1:KAFKA_PORT)
#   KAFKAGATE_KAFKA_LIBS  jar cache (default ~/.cache/kafkagate/kafka-<version>)
#   KAFKAGATE_TIMEOUT_SCALE  multiplies the readiness deadline (default 1)
#   KAFKA_START_TIMEOUT   readiness deadline in seconds before scaling (default 90)
#   JAVA                  java binary (default: java on PATH)
#
# DIR is created if needed and holds server.properties, log4j2.properties, the
# KRaft data (DIR/data), broker.pid, broker.log and bootstrap (host:port).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
pom="$here/pom.xml"
JAVA=${JAVA:-java}
KAFKA_PORT=${KAFKA_PORT:-19092}
scale=${KAFKAGATE_TIMEOUT_SCALE:-1}

log() { printf 'kafka-broker: %s\n' "$*" >&2; }
die() { printf 'kafka-broker: error: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found in PATH"; }

# seconds * KAFKAGATE_TIMEOUT_SCALE, rounded up, at least 1
scaled() { awk -v s="$1" -v f="$scale" 'BEGIN { v = s * f; i = int(v); if (i < v) i++; if (i < 1) i = 1; print i }'; }

kafka_version() {
	sed -n 's:.*<kafka.version>\([^<]*\)</kafka.version>.*:\1:p' "$pom" | head -n1
}

# Resolve the runtime jars once into the cache; prints the cache directory.
# The pom is copied to a scratch directory first: the source tree may be
# read-only (make distcheck) and Maven must never write next to it.
resolve_libs() {
	local ver libs sum tmp
	ver=$(kafka_version)
	[ -n "$ver" ] || die "cannot read kafka.version from $pom"
	libs=${KAFKAGATE_KAFKA_LIBS:-$HOME/.cache/kafkagate/kafka-$ver}
	sum=$(cksum < "$pom")
	if [ -f "$libs/.complete" ] && [ "$(cat "$libs/.complete")" = "$sum" ]; then
		printf '%s\n' "$libs"
		return 0
	fi
	need mvn
	log "resolving Kafka $ver jars with Maven into $libs"
	mkdir -p "$(dirname "$libs")"
	tmp=$(mktemp -d "$(dirname "$libs")/.resolve.XXXXXX")
	cp "$pom" "$tmp/pom.xml"
	if ! mvn -B -q -f "$tmp/pom.xml" \
		org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
		-DincludeScope=runtime -DoutputDirectory="$tmp/libs" >"$tmp/mvn.log" 2>&1; then
		tail -n 30 "$tmp/mvn.log" >&2
		rm -rf "$tmp"
		die "Maven could not resolve the Kafka jars"
	fi
	ls "$tmp"/libs/kafka_2.13-*.jar >/dev/null 2>&1 || { rm -rf "$tmp"; die "Maven resolved no kafka_2.13 jar"; }
	printf '%s\n' "$sum" >"$tmp/libs/.complete"
	# replace atomically enough for concurrent runs: last one wins, both complete
	rm -rf "$libs.old"
	[ -d "$libs" ] && mv "$libs" "$libs.old"
	mv "$tmp/libs" "$libs"
	rm -rf "$tmp" "$libs.old"
	printf '%s\n' "$libs"
}

# Run a Kafka tool class with a small JVM.
kj() {
	local libs=$1; shift
	"$JAVA" -Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto \
		-Dlog4j2.configurationFile="$tools_log4j" -cp "$libs/*" "$@"
}

write_tools_log4j() {
	tools_log4j=$1/tools-log4j2.properties
	[ -f "$tools_log4j" ] && return 0
	cat >"$tools_log4j" <<'EOF'
status = warn
appender.err.type = Console
appender.err.name = ERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = ERR
EOF
}

absdir() { mkdir -p "$1" && (cd "$1" && pwd); }

bootstrap_of() {
	if [ -n "${KAFKAGATE_BOOTSTRAP:-}" ]; then
		printf '%s\n' "$KAFKAGATE_BOOTSTRAP"
	elif [ -f "$1/bootstrap" ]; then
		cat "$1/bootstrap"
	else
		printf '127.0.0.1:%s\n' "$KAFKA_PORT"
	fi
}

running_pid() { # prints the pid if the broker of DIR is alive
	local pid
	[ -f "$1/broker.pid" ] || return 1
	pid=$(cat "$1/broker.pid")
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	printf '%s\n' "$pid"
}

cmd_classpath() {
	local libs
	libs=$(resolve_libs)
	printf '%s/*\n' "$libs"
}

cmd_start() {
	local dir libs cport id pid deadline t0 now
	[ $# -eq 1 ] || die "usage: $0 start DIR"
	need "$JAVA"; need kcat
	dir=$(absdir "$1")
	if pid=$(running_pid "$dir"); then
		die "a broker is already running from $dir (pid $pid)"
	fi
	t0=$(date +%s)
	libs=$(resolve_libs)
	write_tools_log4j "$dir"
	cport=$((KAFKA_PORT + 1))
	mkdir -p "$dir/data"
	cat >"$dir/server.properties" <<EOF
# written by kafka-broker.sh: one KRaft node, broker + controller, loopback only
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
# the tests need UNKNOWN_TOPIC_OR_PARTITION (APISIX's CI runs with false too)
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# small machine: few threads, small buffers
num.network.threads=2
num.io.threads=2
background.threads=2
num.recovery.threads.per.data.dir=1
num.replica.fetchers=1
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=16777216
# let test data sit still: no retention or size-based deletion during a run
log.retention.hours=-1
log.retention.check.interval.ms=3600000
EOF
	cat >"$dir/log4j2.properties" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = OUT
logger.started.name = kafka.server.KafkaRaftServer
logger.started.level = INFO
EOF
	if [ -f "$dir/data/meta.properties" ]; then
		log "reusing formatted storage in $dir/data"
	else
		id=$(kj "$libs" kafka.tools.StorageTool random-uuid | tail -n1)
		[ -n "$id" ] || die "StorageTool random-uuid printed nothing"
		printf '%s\n' "$id" >"$dir/cluster.id"
		log "formatting $dir/data (cluster id $id)"
		kj "$libs" kafka.tools.StorageTool format -t "$id" -c "$dir/server.properties" \
			>"$dir/format.log" 2>&1 || { cat "$dir/format.log" >&2; die "storage format failed"; }
	fi
	log "starting broker on 127.0.0.1:$KAFKA_PORT (controller $cport), log $dir/broker.log"
	: >"$dir/broker.log"
	# setsid: the broker is not in the caller's process group, so a ^C to
	# the test run does not kill it behind the trap's back.
	setsid "$JAVA" -Xms256m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto \
		-Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$dir/log4j2.properties" \
		-cp "$libs/*" kafka.Kafka "$dir/server.properties" \
		>>"$dir/broker.log" 2>&1 </dev/null &
	pid=$!
	printf '%s\n' "$pid" >"$dir/broker.pid"
	printf '127.0.0.1:%s\n' "$KAFKA_PORT" >"$dir/bootstrap"

	deadline=$(( $(date +%s) + $(scaled "${KAFKA_START_TIMEOUT:-90}") ))
	while :; do
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 50 "$dir/broker.log" >&2
			rm -f "$dir/broker.pid"
			die "the broker exited during start-up (log above, $dir/broker.log)"
		fi
		if grep -q 'Kafka Server started' "$dir/broker.log" &&
			kcat -L -b "127.0.0.1:$KAFKA_PORT" -m 2 >/dev/null 2>&1; then
			break
		fi
		now=$(date +%s)
		if [ "$now" -ge "$deadline" ]; then
			tail -n 50 "$dir/broker.log" >&2
			cmd_stop "$dir" || true
			die "the broker was not ready within $(scaled "${KAFKA_START_TIMEOUT:-90}") s"
		fi
		sleep 0.5
	done
	log "broker ready (pid $pid) after $(( $(date +%s) - t0 )) s"
}

cmd_stop() {
	local dir pid i
	[ $# -eq 1 ] || die "usage: $0 stop DIR"
	dir=$1
	if ! pid=$(running_pid "$dir"); then
		rm -f "$dir/broker.pid"
		return 0
	fi
	log "stopping broker (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 1 $((10 * $(scaled 10)))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "broker did not stop after TERM, sending KILL"
		kill -KILL "$pid" 2>/dev/null || true
		sleep 0.2
	fi
	rm -f "$dir/broker.pid"
}

# topic DIR NAME PARTITIONS [k=v...]
cmd_topic() {
	local dir name parts bs libs kv
	[ $# -ge 3 ] || die "usage: $0 topic DIR NAME PARTITIONS [k=v...]"
	dir=$(absdir "$1"); name=$2; parts=$3; shift 3
	bs=$(bootstrap_of "$dir")
	libs=$(resolve_libs)
	write_tools_log4j "$dir"
	local args=()
	for kv in "$@"; do args+=(--config "$kv"); done
	log "creating topic $name ($parts partitions${args:+, ${*}}) on $bs"
	kj "$libs" org.apache.kafka.tools.TopicCommand --bootstrap-server "$bs" --create \
		--topic "$name" --partitions "$parts" --replication-factor 1 ${args[@]+"${args[@]}"} >&2
}

# ---- seed ---------------------------------------------------------------

# Partition count of topic $1, or nothing if the topic does not exist.
topic_partitions() {
	kcat -L -b "$bs" -t "$1" -m 10 2>/dev/null |
		awk -v t="$1" '$1 == "topic" && $2 == "\"" t "\"" {
			if ($0 ~ /Broker: Unknown topic/ || $0 ~ /error/) { exit }
			print $4; exit }'
}

# 0 if topic $1 has $2 partitions, each with a leader.
topic_ready() {
	kcat -L -b "$bs" -t "$1" -m 10 2>/dev/null | awk -v t="$1" -v n="$2" '
		$1 == "topic" && $2 == "\"" t "\"" { if ($4 != n || /rror|nknown/) bad = 1 }
		$1 == "partition" { seen++; if ($3 != "leader" || $4 == "-1," || /rror/) bad = 1 }
		END { exit !(seen == n && !bad) }'
}

# High watermark (end offset) of topic $1 partition $2.
end_offset() {
	kcat -Q -b "$bs" -t "$1:$2:-1" -m 10 2>/dev/null | awk '{ print $NF; exit }'
}

# Create topic $1 with $2 partitions and configs $3... unless it exists.
# Returns 1 (no error) if it already existed with the right partition count.
ensure_topic() {
	local name=$1 parts=$2 have
	shift 2
	have=$(topic_partitions "$name")
	if [ -n "$have" ]; then
		[ "$have" = "$parts" ] || die "topic $name exists with $have partitions, the tests need $parts; use a fresh broker"
		return 1
	fi
	cmd_topic "$seed_dir" "$name" "$parts" "$@"
	return 0
}

# check_end TOPIC PARTITION EXPECTED: die unless the end offset is EXPECTED
check_end() {
	local got
	got=$(end_offset "$1" "$2")
	[ "$got" = "$3" ] || die "topic $1 partition $2 has end offset ${got:-?}, expected $3 (stale or partial data? use a fresh broker)"
}

# seed_topic NAME PARTITIONS "P:END ..." [configs...] — create the topic if
# absent; returns 0 if it must be filled, 1 if it already holds the data.
seed_topic() {
	local name=$1 parts=$2 ends=$3 pe
	shift 3
	if ensure_topic "$name" "$parts" "$@"; then
		return 0
	fi
	# It existed: empty means an earlier seed died between create and fill.
	local empty=1
	for pe in $ends; do
		[ "$(end_offset "$name" "${pe%%:*}")" = 0 ] || empty=0
	done
	[ $empty = 1 ] && return 0
	for pe in $ends; do check_end "$name" "${pe%%:*}" "${pe#*:}"; done
	log "topic $name already seeded"
	return 1
}

# create_topics DIR BOOTSTRAP NAME:PARTITIONS[:k=v,k=v]... — all in one JVM
# with the Admin client (a single-file Java program, compiled on the fly).
create_topics() {
	local dir=$1 bs=$2 libs
	shift 2
	libs=$(resolve_libs)
	write_tools_log4j "$dir"
	cat >"$dir/CreateTopics.java" <<'EOF'
import java.util.*;
import org.apache.kafka.clients.admin.*;

/* Creates topics given as NAME:PARTITIONS[:k=v,k=v], replication factor 1. */
public class CreateTopics {
    public static void main(String[] a) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", a[0]);
        List<NewTopic> ts = new ArrayList<>();
        for (int i = 1; i < a.length; i++) {
            String[] f = a[i].split(":", 3);
            NewTopic t = new NewTopic(f[0], Integer.parseInt(f[1]), (short) 1);
            if (f.length > 2 && !f[2].isEmpty()) {
                Map<String, String> c = new HashMap<>();
                for (String kv : f[2].split(",")) {
                    String[] x = kv.split("=", 2);
                    c.put(x[0], x[1]);
                }
                t.configs(c);
            }
            ts.add(t);
        }
        try (Admin admin = Admin.create(p)) {
            admin.createTopics(ts).all().get();
        }
    }
}
EOF
	kj "$libs" "$dir/CreateTopics.java" "$bs" "$@" >&2 || die "creating topics failed"
}

kp() { # kcat producer with delivery checks
	kcat -P -b "$bs" -X message.send.max.retries=0 -X enable.idempotence=false "$@"
}

cmd_seed() {
	local dir i p n
	[ $# -eq 1 ] || die "usage: $0 seed DIR"
	need kcat
	dir=$(absdir "$1")
	seed_dir=$dir
	bs=$(bootstrap_of "$dir")
	kcat -L -b "$bs" -m 5 >/dev/null 2>&1 || die "no broker answers at $bs"
	local t0; t0=$(date +%s)
	local tmp="$dir/seed.tmp"
	mkdir -p "$tmp"
	# Records meant for one batch are read from a file by one kcat; librdkafka
	# waits linger.ms before sending even at end of input, so keep it short
	# but far above the time kcat needs to read a few lines.
	local linger=$(( 200 * $(scaled 1) ))

	# Create all missing topics first, in one JVM (TopicCommand would take a
	# JVM start per topic).  Specs are NAME:PARTITIONS[:k=v,k=v].
	local todo=()
	queue_topic() { # NAME PARTS [CONFIGS]
		local have
		have=$(topic_partitions "$1")
		if [ -n "$have" ]; then
			[ "$have" = "$2" ] || die "topic $1 exists with $have partitions, the tests need $2; use a fresh broker"
		else
			todo+=("$1:$2:${3:-}")
		fi
	}
	queue_topic test-consumer 1
	queue_topic multi-batch 1
	for c in gzip snappy lz4 zstd; do queue_topic "codec-$c" 1 compression.type=producer; done
	queue_topic three-parts 3
	queue_topic big-record 1 max.message.bytes=2097152
	queue_topic keys 1
	queue_topic budget 1
	if [ ${#todo[@]} -gt 0 ]; then
		log "creating topics: ${todo[*]}"
		create_topics "$dir" "$bs" "${todo[@]}"
		# the metadata reaches the broker's cache a moment after CreateTopics
		# returns; producing before that loses records ("Unknown partition")
		local spec deadline=$(( $(date +%s) + $(scaled 30) ))
		for spec in "${todo[@]}"; do
			while ! topic_ready "${spec%%:*}" "$(echo "$spec" | cut -d: -f2)"; do
				[ "$(date +%s)" -lt "$deadline" ] || die "topic ${spec%%:*} has no leader after creation"
				sleep 0.2
			done
		done
	fi

	# test-consumer: testmsg1..testmsg30 at offsets 0..29, null keys, each
	# record its own batch (APISIX CI: 30 separate console-producer runs).
	# batch.num.messages=1 + max.in.flight=1 gives one record per batch
	# in a single kcat run.
	if seed_topic test-consumer 1 "0:30"; then
		log "test-consumer: 30 single-record batches"
		for i in $(seq 1 30); do printf 'testmsg%d\n' "$i"; done |
			kp -t test-consumer -p 0 -X batch.num.messages=1 -X max.in.flight=1 -X linger.ms=0
		check_end test-consumer 0 30
	fi

	# multi-batch: m0..m9 in ONE batch (offsets 0..9).
	if seed_topic multi-batch 1 "0:10"; then
		log "multi-batch: one batch of 10 records"
		for i in $(seq 0 9); do printf 'm%d\n' "$i"; done >"$tmp/multi"
		kp -t multi-batch -p 0 -X linger.ms=$linger -X batch.num.messages=10000 <"$tmp/multi"
		check_end multi-batch 0 10
	fi

	# codec-<c>: 20 keyed records k<i>:v<i>, i = 0..19, one compressed batch.
	# Each record also carries the header pad=<64 x "x">: librdkafka sends a
	# batch uncompressed when compression does not make it smaller, and
	# twenty tiny records do not beat lz4's frame overhead.  The header
	# makes every codec shrink the batch (and exercises header skipping).
	local pad
	pad=$(printf '%064d' 0 | tr 0 x)
	for c in gzip snappy lz4 zstd; do
		if seed_topic "codec-$c" 1 "0:20" compression.type=producer; then
			log "codec-$c: one $c batch of 20 keyed records"
			for i in $(seq 0 19); do printf 'k%d:v%d\n' "$i" "$i"; done >"$tmp/codec"
			kp -t "codec-$c" -p 0 -K: -z "$c" -H "pad=$pad" -X linger.ms=$linger <"$tmp/codec"
			check_end "codec-$c" 0 20
		fi
	done

	# three-parts: partition N holds p<N>-0 .. p<N>-<3+2N-1>, i.e. 3, 5 and 7
	# records in partitions 0, 1 and 2 (different counts catch mix-ups).
	if seed_topic three-parts 3 "0:3 1:5 2:7"; then
		log "three-parts: 3/5/7 records in partitions 0/1/2"
		for p in 0 1 2; do
			n=$((3 + 2 * p))
			for i in $(seq 0 $((n - 1))); do printf 'p%d-%d\n' "$p" "$i"; done |
				kp -t three-parts -p "$p"
		done
		check_end three-parts 0 3; check_end three-parts 1 5; check_end three-parts 2 7
	fi

	# big-record: one record, null key, value of exactly 1 MiB: the lines
	# "0000000\n" .. "0131071\n" (131072 lines of 8 bytes), sha256 known
	# to the test.  Uncompressed.
	if seed_topic big-record 1 "0:1" max.message.bytes=2097152; then
		log "big-record: one 1 MiB record"
		seq -f '%07g' 0 131071 >"$tmp/big"
		[ "$(wc -c <"$tmp/big")" = 1048576 ] || die "big value is not 1 MiB"
		kp -t big-record -p 0 -X message.max.bytes=3000000 "$tmp/big"
		check_end big-record 0 1
	fi

	# keys (tab separates key and value):
	#   offset 0  key null                 value "null-key"
	#   offset 1  key "" (empty, not null) value "empty-key"
	#   offset 2  key 00 62 69 6e ff 00    value "binary-key"   (\0 b i n \xff \0)
	#   offset 3  key "k3"                 value "" (empty, not null)
	#   offset 4  key "tombstone"          value null
	if seed_topic keys 1 "0:5"; then
		log "keys: null, empty, binary keys; empty and null values"
		{
			printf 'null-key\n'
			printf '\tempty-key\n'
			printf '\000bin\377\000\tbinary-key\n'
			printf 'k3\t\n'
		} >"$tmp/keys"
		kp -t keys -p 0 -K '\t' -X max.in.flight=1 <"$tmp/keys"
		printf 'tombstone\t\n' | kp -t keys -p 0 -K '\t' -Z
		check_end keys 0 5
	fi

	# budget: 200 records of exactly 1000 bytes, null keys, offsets 0..199;
	# record i is "budget-%03d-" followed by 989 bytes of the letter
	# chr(ord('a') + i % 26).  Produced in one go (one or a few batches).
	if seed_topic budget 1 "0:200"; then
		log "budget: 200 records of 1000 bytes"
		awk 'BEGIN { for (i = 0; i < 200; i++) {
			c = substr("abcdefghijklmnopqrstuvwxyz", i % 26 + 1, 1); s = ""
			for (j = 0; j < 989; j++) s = s c
			printf "budget-%03d-%s\n", i, s } }' >"$tmp/budget"
		kp -t budget -p 0 -X linger.ms=$linger <"$tmp/budget"
		check_end budget 0 200
	fi

	rm -rf "$tmp"
	log "seeded in $(( $(date +%s) - t0 )) s"
}

[ $# -ge 1 ] || die "usage: $0 start|stop|topic|seed|classpath ..."
sub=$1; shift
case $sub in
	start) cmd_start "$@" ;;
	stop) cmd_stop "$@" ;;
	topic) cmd_topic "$@" ;;
	seed) cmd_seed "$@" ;;
	classpath) cmd_classpath ;;
	*) die "unknown subcommand: $sub" ;;
esac
