#!/bin/bash
# kafka-broker.sh — throwaway Apache Kafka (KRaft) brokers for kafkagate's
# integration tests, run from Maven Central jars (no tarball, no Docker):
# a single node, or a three-node cluster for leader fail-over tests.
# See tests/integration/README.md.  Not part of the product.
#
#   kafka-broker.sh start DIR                      resolve jars, configure, format, start, wait
#   kafka-broker.sh stop DIR                       stop the broker started in DIR
#   kafka-broker.sh topic DIR NAME PARTITIONS [k=v...]   create a topic (TopicCommand)
#   kafka-broker.sh seed DIR                       create and fill the integration test topics
#   kafka-broker.sh classpath                      resolve the jars, print the classpath
#
#   kafka-broker.sh cluster-start DIR              three combined broker+controller nodes
#                                                  (static voters), started and waited for
#   kafka-broker.sh cluster-stop DIR               stop every node of the cluster in DIR
#   kafka-broker.sh node-stop DIR N                SIGTERM node N (controlled shutdown), wait
#   kafka-broker.sh node-kill DIR N                SIGKILL node N, wait until it is gone
#   kafka-broker.sh node-start DIR N               restart node N (formatted already), wait
#   kafka-broker.sh tool DIR CLASS [ARGS...]       run a Kafka tool class (TopicCommand,
#                                                  LeaderElectionCommand, ...) with the jars
#
# Environment:
#   KAFKA_VERSION         Kafka release to run (default 4.1.1, the pom's
#                         kafka.version); 3.9.x uses reload4j logging and 4.x
#                         log4j2 (Maven profiles kafka3 / kafka4 in pom.xml)
#   KAFKA_PORT            PLAINTEXT port for `start` (default 19092); the
#                         controller listens on KAFKA_PORT+1
#   KAFKA_CLUSTER_PORT    client port of cluster node 1 (default 11092); node N
#                         listens on KAFKA_CLUSTER_PORT + 1000*(N-1), its
#                         controller on the next port: 11092/11093, 12092/12093,
#                         13092/13093
#   KAFKAGATE_BOOTSTRAP   host:port of an existing broker for `topic`/`seed`
#                         (default: the broker started in DIR, else 127.0.0.1:KAFKA_PORT)
#   KAFKAGATE_KAFKA_LIBS  jar cache (default ~/.cache/kafkagate/kafka-<version>;
#                         set it per version if you set it at all)
#   KAFKAGATE_TIMEOUT_SCALE  multiplies the readiness deadline (default 1)
#   KAFKA_START_TIMEOUT   readiness deadline in seconds before scaling (default 90)
#   KAFKA_SECURE=1        `start` adds the TLS and SASL listeners below (the
#                         default start has PLAINTEXT only and stays as fast)
#   KAFKA_CERTS           certificate directory for KAFKA_SECURE (default
#                         DIR/certs, written by tests/broker/certs.sh if absent)
#   KAFKA_REAUTH_MS       connections.max.reauth.ms of the REAUTH listener
#                         (default 3000)
#
# KAFKA_SECURE=1 listeners, all on 127.0.0.1 and advertised there, P = KAFKA_PORT
# (DIR/listeners lists them as "NAME host:port", one a line):
#   P+0  PLAINTEXT                      seed data, readiness
#   P+1  CONTROLLER
#   P+2  SSL            SSL             certs/broker-ks.pem (signed by certs/ca.pem)
#   P+3  SSLSELF        SSL             certs/self-ks.pem (self-signed, like the
#                                       keystore of APISIX's kafka.t TEST 5/6)
#   P+4  SASL_PLAINTEXT SASL_PLAINTEXT  PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
#   P+5  SASL_SSL       SASL_SSL        the same mechanisms over TLS (broker-ks.pem)
#   P+6  MTLS           SSL             ssl.client.auth=required, trusts certs/ca.pem
#   P+7  REAUTH         SASL_PLAINTEXT  the SASL mechanisms with
#                                       connections.max.reauth.ms=KAFKA_REAUTH_MS
#   P+8  OAUTH          SASL_PLAINTEXT  OAUTHBEARER only, Kafka's default
#                                       validator: unsecured JWS tokens
#                                       (header {"alg":"none"}, empty signature)
#                                       with a "sub" and an "exp" in the future
#                                       (no clock skew allowed, no scope required)
# Users (the same on every SASL listener):
#   PLAIN          admin/admin-secret (APISIX's kafka.t TEST 7), alice/alice-secret
#   SCRAM-SHA-256  alice/alice-secret, carol/carol-secret   (created at format
#   SCRAM-SHA-512  alice/alice-secret, dave/dave-secret      time, --add-scram)
#   OAUTHBEARER    (OAUTH only) whoever the token's "sub" names: nothing checks
#                  a signature, so this listener is for tests only
#   JAVA                  java binary (default: java on PATH)
#
# DIR is created if needed and holds server.properties, log4j2.properties (or
# log4j.properties for 3.9), the KRaft data (DIR/data), broker.pid, broker.log
# and bootstrap (host:port).  A cluster DIR holds the same per node in DIR/n1,
# DIR/n2, DIR/n3, plus DIR/bootstrap (all three host:port, comma-separated).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
pom="$here/pom.xml"
JAVA=${JAVA:-java}
KAFKA_PORT=${KAFKA_PORT:-19092}
KAFKA_CLUSTER_PORT=${KAFKA_CLUSTER_PORT:-11092}
scale=${KAFKAGATE_TIMEOUT_SCALE:-1}

log() { printf 'kafka-broker: %s\n' "$*" >&2; }
die() { printf 'kafka-broker: error: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found in PATH"; }

# seconds * KAFKAGATE_TIMEOUT_SCALE, rounded up, at least 1
scaled() { awk -v s="$1" -v f="$scale" 'BEGIN { v = s * f; i = int(v); if (i < v) i++; if (i < 1) i = 1; print i }'; }

# The Kafka version: $KAFKA_VERSION, else the pom's default kafka.version.
kafka_version() {
	if [ -n "${KAFKA_VERSION:-}" ]; then
		printf '%s\n' "$KAFKA_VERSION"
	else
		sed -n 's:.*<kafka.version>\([^<]*\)</kafka.version>.*:\1:p' "$pom" | head -n1
	fi
}
KAFKA_VERSION=$(kafka_version)
[ -n "$KAFKA_VERSION" ] || die "cannot read kafka.version from $pom"
case $KAFKA_VERSION in
	3.9.*) kafka_major=3 ;;
	[4-9].*) kafka_major=4 ;;
	*) die "KAFKA_VERSION=$KAFKA_VERSION: only 3.9.x and 4.x are supported" ;;
esac
# the Maven profile of pom.xml with the logging backend for this version
if [ $kafka_major = 3 ]; then mvn_profile=kafka3; else mvn_profile=kafka4; fi

# Resolve the runtime jars once into the cache; prints the cache directory.
# The pom is copied to a scratch directory first: the source tree may be
# read-only (make distcheck) and Maven must never write next to it.
resolve_libs() {
	local ver=$KAFKA_VERSION libs sum tmp
	libs=${KAFKAGATE_KAFKA_LIBS:-$HOME/.cache/kafkagate/kafka-$ver}
	# the stamp covers the pom, the version and the profile
	sum="$(cksum < "$pom") $ver $mvn_profile"
	if [ -f "$libs/.complete" ] && [ "$(cat "$libs/.complete")" = "$sum" ]; then
		printf '%s\n' "$libs"
		return 0
	fi
	need mvn
	log "resolving Kafka $ver jars (profile $mvn_profile) with Maven into $libs"
	mkdir -p "$(dirname "$libs")"
	tmp=$(mktemp -d "$(dirname "$libs")/.resolve.XXXXXX")
	cp "$pom" "$tmp/pom.xml"
	if ! mvn -B -q -f "$tmp/pom.xml" -Dkafka.version="$ver" -P "$mvn_profile" \
		org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
		-DincludeScope=runtime -DoutputDirectory="$tmp/libs" >"$tmp/mvn.log" 2>&1; then
		tail -n 30 "$tmp/mvn.log" >&2
		rm -rf "$tmp"
		die "Maven could not resolve the Kafka $ver jars"
	fi
	ls "$tmp/libs/kafka_2.13-$ver.jar" >/dev/null 2>&1 || { rm -rf "$tmp"; die "Maven resolved no kafka_2.13-$ver jar"; }
	printf '%s\n' "$sum" >"$tmp/libs/.complete"
	# replace atomically enough for concurrent runs: last one wins, both complete
	rm -rf "$libs.old"
	[ -d "$libs" ] && mv "$libs" "$libs.old"
	mv "$tmp/libs" "$libs"
	rm -rf "$tmp" "$libs.old"
	printf '%s\n' "$libs"
}

# write_logcfg DIR NAME broker|tools: writes DIR/NAME.properties in the
# format of this Kafka version (log4j2 for 4.x, reload4j for 3.9) and
# prints the JVM option that selects it.  broker: WARN to stdout, plus the
# KafkaRaftServer INFO line "Kafka Server started" (readiness); tools: WARN
# to stderr.
write_logcfg() {
	local f="$1/$2.properties" kind=$3
	if [ $kafka_major = 3 ]; then
		if [ "$kind" = broker ]; then
			cat >"$f" <<'EOF'
log4j.rootLogger=WARN, out
log4j.appender.out=org.apache.log4j.ConsoleAppender
log4j.appender.out.layout=org.apache.log4j.PatternLayout
log4j.appender.out.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
EOF
		else
			cat >"$f" <<'EOF'
log4j.rootLogger=WARN, err
log4j.appender.err=org.apache.log4j.ConsoleAppender
log4j.appender.err.Target=System.err
log4j.appender.err.layout=org.apache.log4j.PatternLayout
log4j.appender.err.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
		fi
		printf -- '-Dlog4j.configuration=file:%s\n' "$f"
	else
		if [ "$kind" = broker ]; then
			cat >"$f" <<'EOF'
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
		else
			cat >"$f" <<'EOF'
status = warn
appender.err.type = Console
appender.err.name = ERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = ERR
EOF
		fi
		printf -- '-Dlog4j2.configurationFile=%s\n' "$f"
	fi
}

# Run a Kafka tool class with a small JVM (call write_tools_log4j first).
kj() {
	local libs=$1; shift
	"$JAVA" -Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto \
		"$tools_logopt" -cp "$libs/*" "$@"
}

write_tools_log4j() {
	local name=tools-log4j2
	[ $kafka_major = 3 ] && name=tools-log4j
	tools_logopt=$(write_logcfg "$1" "$name" tools)
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

# alive PID: the process exists and is not a zombie (whoever reaps the
# setsid'd broker may be slow to do so)
alive() {
	local st
	kill -0 "$1" 2>/dev/null || return 1
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
	[ "$st" != Z ]
}

# Settings shared by the single node and the cluster nodes: a small,
# loopback-only KRaft node whose data sits still during a run.
common_props() {
	cat <<EOF
process.roles=broker,controller
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
# the tests need UNKNOWN_TOPIC_OR_PARTITION (APISIX's CI runs with false too)
auto.create.topics.enable=false
num.partitions=1
offsets.topic.num.partitions=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
# small machine: few threads, small buffers
num.network.threads=2
num.io.threads=2
background.threads=2
num.recovery.threads.per.data.dir=1
num.replica.fetchers=1
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=16777216
# compacted test topics are cleaned within a second, not 15 s
log.cleaner.backoff.ms=500
# let test data sit still: no retention or size-based deletion during a run
log.retention.hours=-1
log.retention.check.interval.ms=3600000
EOF
}

# format_node LIBS DIR ID [ARGS...]: format DIR/data with cluster id ID
# unless done; ARGS go to StorageTool format (--add-scram ...)
format_node() {
	local libs=$1 dir=$2 id=$3
	shift 3
	if [ -f "$dir/data/meta.properties" ]; then
		log "reusing formatted storage in $dir/data"
		return 0
	fi
	mkdir -p "$dir/data"
	printf '%s\n' "$id" >"$dir/cluster.id"
	# static controller.quorum.voters: no --standalone/--initial-controllers
	# (the same command works on 3.9 and 4.x)
	kj "$libs" kafka.tools.StorageTool format -t "$id" -c "$dir/server.properties" "$@" \
		>"$dir/format.log" 2>&1 || { cat "$dir/format.log" >&2; return 1; }
}

# launch_node LIBS DIR HEAP: start kafka.Kafka from DIR/server.properties
# in the background, log appended to DIR/broker.log; sets launch_line to the
# log's line count before the start (readiness is looked for after it).
launch_node() {
	local libs=$1 dir=$2 heap=$3 logopt pid
	if [ $kafka_major = 3 ]; then
		logopt=$(write_logcfg "$dir" log4j broker)
	else
		logopt=$(write_logcfg "$dir" log4j2 broker)
	fi
	touch "$dir/broker.log"
	launch_line=$(wc -l <"$dir/broker.log")
	# setsid: the broker is not in the caller's process group, so a ^C to
	# the test run does not kill it behind the trap's back.
	setsid "$JAVA" -Xms128m -Xmx"$heap" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto \
		-Djava.awt.headless=true "$logopt" \
		-cp "$libs/*" kafka.Kafka "$dir/server.properties" \
		>>"$dir/broker.log" 2>&1 </dev/null &
	pid=$!
	printf '%s\n' "$pid" >"$dir/broker.pid"
}

# node_ready DIR PORT BROKERS: the node of DIR logged "Kafka Server started"
# since its launch and its metadata lists at least BROKERS brokers.
node_ready() {
	local n
	tail -n "+$(( ${launch_line:-0} + 1 ))" "$1/broker.log" | grep -q 'Kafka Server started' || return 1
	n=$(kcat -L -b "127.0.0.1:$2" -m 2 2>/dev/null | awk '$2 == "brokers:" { print $1; exit }')
	[ "${n:-0}" -ge "$3" ]
}

# wait_nodes SECONDS BROKERS DIR:PORT...: wait until every node is ready
wait_nodes() {
	local limit=$1 brokers=$2 deadline pending spec dir pid left
	shift 2
	deadline=$(( $(date +%s) + $(scaled "$limit") ))
	pending=("$@")
	while [ ${#pending[@]} -gt 0 ]; do
		left=()
		for spec in "${pending[@]}"; do
			dir=${spec%:*}
			pid=$(cat "$dir/broker.pid" 2>/dev/null || true)
			if [ -z "$pid" ] || ! alive "$pid"; then
				tail -n 50 "$dir/broker.log" >&2
				rm -f "$dir/broker.pid"
				log "the broker of $dir exited during start-up (log above, $dir/broker.log)"
				return 1
			fi
			node_ready "$dir" "${spec##*:}" "$brokers" || left+=("$spec")
		done
		pending=(${left[@]+"${left[@]}"})
		[ ${#pending[@]} -eq 0 ] && break
		if [ "$(date +%s)" -ge "$deadline" ]; then
			for spec in "${pending[@]}"; do
				echo "----- last 30 lines of ${spec%:*}/broker.log" >&2
				tail -n 30 "${spec%:*}/broker.log" >&2
			done
			log "not ready within $(scaled "$limit") s: ${pending[*]%:*}"
			return 1
		fi
		sleep 0.5
	done
}

# ---- KAFKA_SECURE=1: TLS and SASL listeners on the single node -------------

# secure_listeners: "NAME PROTOCOL PORT" for every client listener of the
# KAFKA_SECURE layout (see the header), PLAINTEXT first
secure_listeners() {
	local p=$KAFKA_PORT
	printf '%s\n' "PLAINTEXT PLAINTEXT $p" "SSL SSL $((p + 2))" "SSLSELF SSL $((p + 3))" \
		"SASL_PLAINTEXT SASL_PLAINTEXT $((p + 4))" "SASL_SSL SASL_SSL $((p + 5))" \
		"MTLS SSL $((p + 6))" "REAUTH SASL_PLAINTEXT $((p + 7))" \
		"OAUTH SASL_PLAINTEXT $((p + 8))"
}

# StorageTool format arguments creating the SCRAM users
secure_scram_args=(
	--add-scram 'SCRAM-SHA-256=[name=alice,password=alice-secret]'
	--add-scram 'SCRAM-SHA-256=[name=carol,password=carol-secret]'
	--add-scram 'SCRAM-SHA-512=[name=alice,password=alice-secret]'
	--add-scram 'SCRAM-SHA-512=[name=dave,password=dave-secret]'
)

# secure_props CERTS: the listener lines of the KAFKA_SECURE layout
secure_props() {
	local certs=$1 cport=$((KAFKA_PORT + 1)) name proto port l a m lname
	l="CONTROLLER://127.0.0.1:$cport"; a=""; m="CONTROLLER:PLAINTEXT"
	while read -r name proto port; do
		l="$l,$name://127.0.0.1:$port"
		a="$a${a:+,}$name://127.0.0.1:$port"
		m="$m,$name:$proto"
	done < <(secure_listeners)
	echo "listeners=$l"
	echo "advertised.listeners=$a"
	echo "listener.security.protocol.map=$m"
	cat <<EOF
# TLS: every SSL and SASL_SSL listener presents the CA-signed certificate
# (PEM keystore: PKCS#8 key, no password), except SSLSELF
ssl.keystore.type=PEM
ssl.keystore.location=$certs/broker-ks.pem
ssl.client.auth=none
listener.name.sslself.ssl.keystore.type=PEM
listener.name.sslself.ssl.keystore.location=$certs/self-ks.pem
# mTLS: a client certificate signed by the test CA is required
listener.name.mtls.ssl.client.auth=required
listener.name.mtls.ssl.truststore.type=PEM
listener.name.mtls.ssl.truststore.location=$certs/ca.pem
# SASL: PLAIN users live in the JAAS line, SCRAM users in the metadata log
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
# OAUTHBEARER on its own listener (the others need no OAUTHBEARER JAAS line).
# No sasl.server.callback.handler.class: Kafka's default for OAUTHBEARER is
# OAuthBearerUnsecuredValidatorCallbackHandler (still so in 4.1), which takes
# an unsecured JWS with a "sub" claim and an "exp" after now; the JAAS line's
# unsecuredLoginStringClaim_sub is the broker's own login token, required by
# the login module though no broker connects through this listener.
listener.name.oauth.sasl.enabled.mechanisms=OAUTHBEARER
listener.name.oauth.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="admin";
# re-authentication (KIP-368): the session lifetime sent in SaslAuthenticate
# v1+; a connection not re-authenticated by then is closed when next used
listener.name.reauth.connections.max.reauth.ms=${KAFKA_REAUTH_MS:-3000}
EOF
	for lname in sasl_plaintext sasl_ssl reauth; do
		cat <<EOF
listener.name.$lname.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-secret" user_alice="alice-secret";
listener.name.$lname.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.$lname.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
EOF
	done
}

cmd_start() {
	local dir libs cport id pid t0 certs="" format_args=()
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
	if [ "${KAFKA_SECURE:-0}" = 1 ]; then
		certs=$(absdir "${KAFKA_CERTS:-$dir/certs}")
		bash "$here/certs.sh" "$certs" || die "generating certificates in $certs failed"
		format_args=("${secure_scram_args[@]}")
	fi
	{
		echo "# written by kafka-broker.sh: one KRaft node (Kafka $KAFKA_VERSION), broker + controller, loopback only${certs:+, KAFKA_SECURE listeners}"
		echo "node.id=1"
		echo "controller.quorum.voters=1@127.0.0.1:$cport"
		if [ -n "$certs" ]; then
			secure_props "$certs"
			echo "log.dirs=$dir/data"
			# secure_props wrote the protocol map
			common_props | grep -v '^listener\.security\.protocol\.map='
		else
			echo "listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$cport"
			echo "advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT"
			echo "log.dirs=$dir/data"
			common_props
		fi
		cat <<EOF
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
# 4.x settings; 3.9 warns that they are unknown
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
EOF
	} >"$dir/server.properties"
	if [ ! -f "$dir/data/meta.properties" ]; then
		id=$(kj "$libs" kafka.tools.StorageTool random-uuid | tail -n1)
		[ -n "$id" ] || die "StorageTool random-uuid printed nothing"
		log "formatting $dir/data (cluster id $id)"
	fi
	format_node "$libs" "$dir" "${id:-}" ${format_args[@]+"${format_args[@]}"} || die "storage format failed"
	log "starting Kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT (controller $cport)${certs:+ with the KAFKA_SECURE listeners on ports up to $((KAFKA_PORT + 8))}, log $dir/broker.log"
	: >"$dir/broker.log"
	launch_node "$libs" "$dir" 512m
	printf '127.0.0.1:%s\n' "$KAFKA_PORT" >"$dir/bootstrap"
	if [ -n "$certs" ]; then
		secure_listeners | awk '{ print $1, "127.0.0.1:" $3 }' >"$dir/listeners"
	else
		rm -f "$dir/listeners"
	fi
	if ! wait_nodes "${KAFKA_START_TIMEOUT:-90}" 1 "$dir:$KAFKA_PORT"; then
		cmd_stop "$dir" || true
		die "the broker did not start"
	fi
	log "broker ready (pid $(cat "$dir/broker.pid")) after $(( $(date +%s) - t0 )) s"
}

# stop_pids SECONDS SIGNAL DIR...: signal the broker of each DIR at once,
# wait up to SECONDS for all, then KILL the rest.
stop_dirs() {
	local limit=$1 sig=$2 dir pid i pids=() dirs=()
	shift 2
	for dir in "$@"; do
		if pid=$(running_pid "$dir"); then
			log "stopping broker of $dir (pid $pid, SIG$sig)"
			kill -"$sig" "$pid" 2>/dev/null || true
			pids+=("$pid"); dirs+=("$dir")
		else
			rm -f "$dir/broker.pid"
		fi
	done
	[ ${#pids[@]} -gt 0 ] || return 0
	for i in $(seq 1 $((10 * $(scaled "$limit")))); do
		local any=0
		for pid in "${pids[@]}"; do alive "$pid" && any=1; done
		[ $any = 0 ] && break
		sleep 0.1
	done
	for pid in "${pids[@]}"; do
		if alive "$pid"; then
			log "broker pid $pid did not stop after $sig, sending KILL"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	for i in $(seq 1 50); do
		local any=0
		for pid in "${pids[@]}"; do alive "$pid" && any=1; done
		[ $any = 0 ] && break
		sleep 0.1
	done
	for dir in "${dirs[@]}"; do rm -f "$dir/broker.pid"; done
}

cmd_stop() {
	[ $# -eq 1 ] || die "usage: $0 stop DIR"
	stop_dirs 10 TERM "$1"
}

# ---- three-node cluster ---------------------------------------------------

cluster_port() { echo $(( KAFKA_CLUSTER_PORT + 1000 * ($1 - 1) )); }

cluster_node_dir() { # DIR N: the node's directory, which must exist
	[ -f "$1/n$2/server.properties" ] || die "no cluster node $2 in $1 (cluster-start first)"
	printf '%s/n%s\n' "$1" "$2"
}

cmd_cluster_start() {
	local dir libs id n p voters="" bs="" t0 specs=() fpids=()
	[ $# -eq 1 ] || die "usage: $0 cluster-start DIR"
	need "$JAVA"; need kcat
	dir=$(absdir "$1")
	for n in 1 2 3; do
		if p=$(running_pid "$dir/n$n"); then die "node $n is already running from $dir/n$n (pid $p)"; fi
	done
	t0=$(date +%s)
	libs=$(resolve_libs)
	write_tools_log4j "$dir"
	for n in 1 2 3; do
		p=$(cluster_port $n)
		voters="$voters${voters:+,}$n@127.0.0.1:$((p + 1))"
		bs="$bs${bs:+,}127.0.0.1:$p"
	done
	for n in 1 2 3; do
		p=$(cluster_port $n)
		mkdir -p "$dir/n$n"
		{
			echo "# written by kafka-broker.sh: node $n of 3 (Kafka $KAFKA_VERSION), broker + controller, static voters"
			echo "node.id=$n"
			echo "controller.quorum.voters=$voters"
			echo "listeners=PLAINTEXT://127.0.0.1:$p,CONTROLLER://127.0.0.1:$((p + 1))"
			echo "advertised.listeners=PLAINTEXT://127.0.0.1:$p"
			echo "log.dirs=$dir/n$n/data"
			common_props
			cat <<EOF
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
# default true: would move leadership back to the preferred replica
auto.leader.rebalance.enable=false
# default 9000: how long a SIGKILLed broker keeps leadership
broker.session.timeout.ms=4000
# default 2000; must stay below the session timeout
broker.heartbeat.interval.ms=1000
EOF
		} >"$dir/n$n/server.properties"
	done
	printf '%s\n' "$bs" >"$dir/bootstrap"
	if [ -f "$dir/cluster.id" ]; then
		id=$(cat "$dir/cluster.id")
	else
		id=$(kj "$libs" kafka.tools.StorageTool random-uuid | tail -n1)
		[ -n "$id" ] || die "StorageTool random-uuid printed nothing"
		printf '%s\n' "$id" >"$dir/cluster.id"
	fi
	log "formatting the three nodes in $dir (cluster id $id)"
	for n in 1 2 3; do
		format_node "$libs" "$dir/n$n" "$id" &
		fpids+=($!)
	done
	for p in "${fpids[@]}"; do wait "$p" || die "storage format failed"; done
	for n in 1 2 3; do
		: >"$dir/n$n/broker.log"
		launch_node "$libs" "$dir/n$n" 384m
		specs+=("$dir/n$n:$(cluster_port $n)")
	done
	launch_line=0
	log "starting Kafka $KAFKA_VERSION nodes on $bs"
	if ! wait_nodes "${KAFKA_START_TIMEOUT:-90}" 3 "${specs[@]}"; then
		cmd_cluster_stop "$dir" || true
		die "the cluster did not start"
	fi
	log "cluster ready after $(( $(date +%s) - t0 )) s"
}

cmd_cluster_stop() {
	local dir
	[ $# -eq 1 ] || die "usage: $0 cluster-stop DIR"
	dir=$1
	[ -d "$dir" ] || return 0
	# KILL, not TERM: a node's controlled shutdown waits for a controller
	# quorum that the other nodes, stopping too, take away; the data of a
	# test cluster is thrown away anyway
	stop_dirs 5 KILL "$dir/n1" "$dir/n2" "$dir/n3"
}

cmd_node_stop() {
	local d
	[ $# -eq 2 ] || die "usage: $0 node-stop DIR N"
	d=$(cluster_node_dir "$1" "$2")
	stop_dirs 30 TERM "$d"
}

cmd_node_kill() {
	local d
	[ $# -eq 2 ] || die "usage: $0 node-kill DIR N"
	d=$(cluster_node_dir "$1" "$2")
	stop_dirs 5 KILL "$d"
}

cmd_node_start() {
	local d libs pid t0
	[ $# -eq 2 ] || die "usage: $0 node-start DIR N"
	d=$(cluster_node_dir "$1" "$2")
	if pid=$(running_pid "$d"); then die "node $2 is already running (pid $pid)"; fi
	t0=$(date +%s)
	libs=$(resolve_libs)
	log "restarting node $2 on 127.0.0.1:$(cluster_port "$2")"
	launch_node "$libs" "$d" 384m
	wait_nodes "${KAFKA_START_TIMEOUT:-90}" 3 "$d:$(cluster_port "$2")" || die "node $2 did not start"
	log "node $2 ready after $(( $(date +%s) - t0 )) s"
}

# tool DIR CLASS [ARGS...]: run a Kafka tool class (the jars of
# KAFKA_VERSION, WARN logging to stderr)
cmd_tool() {
	local dir libs
	[ $# -ge 2 ] || die "usage: $0 tool DIR CLASS [ARGS...]"
	dir=$(absdir "$1"); shift
	libs=$(resolve_libs)
	write_tools_log4j "$dir"
	kj "$libs" "$@"
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

[ $# -ge 1 ] || die "usage: $0 start|stop|topic|seed|classpath|cluster-start|cluster-stop|node-stop|node-kill|node-start|tool ..."
sub=$1; shift
case $sub in
	start) cmd_start "$@" ;;
	stop) cmd_stop "$@" ;;
	topic) cmd_topic "$@" ;;
	seed) cmd_seed "$@" ;;
	classpath) cmd_classpath ;;
	cluster-start) cmd_cluster_start "$@" ;;
	cluster-stop) cmd_cluster_stop "$@" ;;
	node-stop) cmd_node_stop "$@" ;;
	node-kill) cmd_node_kill "$@" ;;
	node-start) cmd_node_start "$@" ;;
	tool) cmd_tool "$@" ;;
	*) die "unknown subcommand: $sub" ;;
esac
