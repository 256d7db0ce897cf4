#!/bin/bash
# security.sh — kafkagate with TLS, SASL (PLAIN, SCRAM, OAUTHBEARER), mTLS,
# SASL re-authentication and wss:// against a real Apache Kafka broker.
#
# Generates a test CA and certificates (tests/broker/certs.sh), starts one
# KRaft node with every security listener (tests/broker/kafka-broker.sh
# start with KAFKA_SECURE=1; the layout is in that script's header), seeds
# the test topics through PLAINTEXT, checks the broker side on its own with
# kcat, openssl and a raw SASL probe, then starts one gateway per case (the
# table below) and runs tests/integration/test_security.py against them.
# Afterwards every gateway must still be alive, exit 0 on SIGTERM, and its
# log must hold no sanitizer or valgrind report.
#
#   security.sh [TEST-ARGS...]      everything (arguments go to test_security.py: -v, -k)
#   security.sh --broker-only       the broker and its checks only, no gateway
#
# Exit status: 0 passed, 1 failure, 77 skipped (Automake's SKIP) when a
# prerequisite is missing — unless CI is set, where a missing prerequisite is
# a failure.
#
# Environment (all optional):
#   KAFKAGATE_BIN, builddir, srcdir, KAFKAGATE_PYTHON, KAFKAGATE_WRAPPER,
#   KAFKAGATE_TIMEOUT_SCALE, KAFKAGATE_KEEP, CI    as for run.sh
#   KAFKA_VERSION        Kafka release (default 4.1.1; 3.9.x works)
#   KAFKA_PORT           the broker's first port (default: the first free
#                        block of 9 from 19292, step 10); it uses KAFKA_PORT..+8
#   KAFKAGATE_PORT_BASE  where the search for the gateways' ports starts (19780)
#   KAFKAGATE_REQUEST_TIMEOUT  the gateways' --request-timeout (default 5)
#   KAFKA_REAUTH_MS      the REAUTH listener's session lifetime (default 3000)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
prog=security.sh
. "$here/lib.sh"
REQUEST_TIMEOUT=${KAFKAGATE_REQUEST_TIMEOUT:-5}
export KAFKA_REAUTH_MS=${KAFKA_REAUTH_MS:-3000}
t_start=$(date +%s)

mode=full
if [ "${1:-}" = --broker-only ]; then
	mode=broker
	shift
fi

# ---- prerequisites --------------------------------------------------------
need_python
need_tool kcat
need_tool openssl
need_java
bin=""
if [ $mode = full ]; then
	need_client
	need_bin
fi

# ---- scratch directory and cleanup ---------------------------------------
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	kill_gateways
	bash "$broker_sh" stop "$W/broker" 2>/dev/null || true
	if [ $rc != 0 ] && [ $rc != 77 ]; then
		show_tails 20 "$W"/gw-*.log "$W/broker/broker.log"
	fi
	drop_scratch
	say "finished in $(( $(date +%s) - t_start )) s"
	exit $rc
}
scratch kafkagate-sec

# ---- broker ---------------------------------------------------------------
if [ -z "${KAFKA_PORT:-}" ]; then
	KAFKA_PORT=$(free_port 19292 10 9) || fail "no block of 9 free ports for the broker"
fi
export KAFKA_PORT
say "Kafka ${KAFKA_VERSION:-(default version)} with the security listeners on ports $KAFKA_PORT..$((KAFKA_PORT + 8))"
if ! KAFKA_SECURE=1 bash "$broker_sh" start "$W/broker"; then
	# a broker that cannot start is a missing prerequisite (no network for
	# Maven, no memory, ...)
	skip_or_fail "the Kafka broker could not be started (see above)"
fi
certs=$W/broker/certs
listeners=$W/broker/listeners
addr() { awk -v n="$1" '$1 == n { print $2 }' "$listeners"; }
bash "$broker_sh" seed "$W/broker" || fail "seeding the test topics failed"
t_broker=$(date +%s)

# ---- OAUTHBEARER tokens ---------------------------------------------------
# Unsecured JWS (alg "none", empty signature) that the OAUTH listener's
# default validator takes or refuses; made by test_security.py --jwt.  They
# sit in files like the passwords below, and must not reach a gateway's log.
mkdir -p "$W/secrets"
chmod 700 "$W/secrets"
"$PYTHON" "$here/test_security.py" --jwt admin 3600 >"$W/secrets/admin.jwt" ||
	fail "making a JWT failed"
"$PYTHON" "$here/test_security.py" --jwt admin -3600 >"$W/secrets/expired.jwt" ||
	fail "making a JWT failed"
# b64token characters that the broker's parser takes, but no JWS at all
printf 'kafkagate-not-a-jwt-%s\n' "$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" \
	>"$W/secrets/garbage.jwt"
# characters kafkagate sends, but an '=' inside: no b64token (RFC 6750 2.1),
# so Kafka's client-first message parser (3.9 and 4.1) refuses it before validation
printf 'a2Fma2Fn+YXRl/bm90=YSBqd3Q\n' >"$W/secrets/malformed.jwt"
chmod 600 "$W/secrets"/*.jwt
JWT_OK=$(head -n1 "$W/secrets/admin.jwt")
JWT_EXPIRED=$(head -n1 "$W/secrets/expired.jwt")
JWT_GARBAGE=$(head -n1 "$W/secrets/garbage.jwt")
JWT_MALFORMED=$(head -n1 "$W/secrets/malformed.jwt")

# ---- broker-side checks ---------------------------------------------------
# Independent of kafkagate: kcat (librdkafka 2.0.2), openssl s_client and the
# raw SASL probe in test_security.py.  librdkafka before 2.6.1 cannot do
# SCRAM with Kafka 4.x (it repeats the client nonce in client-final-message,
# librdkafka#4895), so SCRAM is checked with the probe only.  All checks run
# at once; each is "NAME EXPECT PATTERN CMD...": EXPECT ok|fail, PATTERN an
# extended regex the output must match.
mkdir -p "$W/checks"
check_names=()
check() {
	local name=$1 expect=$2 pattern=$3 n=${#check_names[@]}
	shift 3
	check_names+=("$name")
	printf '%s\n%s\n' "$expect" "$pattern" >"$W/checks/$n.spec"
	( set +e; timeout "$(scaled 40)" "$@" >"$W/checks/$n.out" 2>&1 </dev/null; echo $? >"$W/checks/$n.rc" ) &
}
# KQ ADDR [-X k=v...]: the end offset of test-consumer/0 through ADDR
KQ=(kcat -Q -t test-consumer:0:-1 -m 5 -b)
PROBE=("$PYTHON" "$here/test_security.py" --probe)
SSL_CA=(-X security.protocol=SSL -X ssl.ca.location="$certs/ca.pem")
SP=(-X security.protocol=SASL_PLAINTEXT)
OFF30='test-consumer \[0\] offset 30'
VFAIL='certificate verify failed'
AUTHFAIL='SASL authentication error: Authentication failed'

say "checking the broker's listeners with kcat, openssl and the SASL probe"
check "SSL, CA-signed, verified with ca.pem (hostname 127.0.0.1 checked)" ok "$OFF30" \
	"${KQ[@]}" "$(addr SSL)" "${SSL_CA[@]}"
check "SSL, CA-signed, verified with another CA" fail "$VFAIL" \
	"${KQ[@]}" "$(addr SSL)" -X security.protocol=SSL -X ssl.ca.location="$certs/other-ca.pem"
check "SSLSELF, self-signed, verified with ca.pem (kafka.t TEST 6)" fail "$VFAIL" \
	"${KQ[@]}" "$(addr SSLSELF)" "${SSL_CA[@]}"
check "SSLSELF, verification off (kafka.t TEST 5)" ok "$OFF30" \
	"${KQ[@]}" "$(addr SSLSELF)" -X security.protocol=SSL -X enable.ssl.certificate.verification=false \
	-X ssl.endpoint.identification.algorithm=none
check "SSLSELF, self.pem pinned as the CA" ok "$OFF30" \
	"${KQ[@]}" "$(addr SSLSELF)" -X security.protocol=SSL -X ssl.ca.location="$certs/self.pem"
check "SSLSELF, openssl s_client says self-signed (TEST 6's log pattern)" ok \
	'Verify return code: 18 \(self-signed certificate\)' \
	openssl s_client -connect "$(addr SSLSELF)" -servername localhost
check "SASL_PLAINTEXT, PLAIN admin (kafka.t TEST 7)" ok "$OFF30" \
	"${KQ[@]}" "$(addr SASL_PLAINTEXT)" "${SP[@]}" -X sasl.mechanisms=PLAIN -X sasl.username=admin -X sasl.password=admin-secret
check "SASL_PLAINTEXT, PLAIN admin, wrong password" fail "$AUTHFAIL" \
	"${KQ[@]}" "$(addr SASL_PLAINTEXT)" "${SP[@]}" -X sasl.mechanisms=PLAIN -X sasl.username=admin -X sasl.password=wrong
check "SASL_PLAINTEXT, PLAIN, wrong password (probe)" fail '^error 58 .*Invalid username or password' \
	"${PROBE[@]}" "$(addr SASL_PLAINTEXT)" PLAIN admin wrong
check "SASL_PLAINTEXT, SCRAM-SHA-256 carol (probe)" ok '^ok session_lifetime_ms=0$' \
	"${PROBE[@]}" "$(addr SASL_PLAINTEXT)" SCRAM-SHA-256 carol carol-secret
check "SASL_PLAINTEXT, SCRAM-SHA-512 dave (probe)" ok '^ok session_lifetime_ms=0$' \
	"${PROBE[@]}" "$(addr SASL_PLAINTEXT)" SCRAM-SHA-512 dave dave-secret
check "SASL_PLAINTEXT, SCRAM-SHA-256 dave: no such SHA-256 user (probe)" fail '^error 58 ' \
	"${PROBE[@]}" "$(addr SASL_PLAINTEXT)" SCRAM-SHA-256 dave dave-secret
check "SASL_PLAINTEXT, SCRAM-SHA-512 alice, wrong password (probe)" fail '^error 58 ' \
	"${PROBE[@]}" "$(addr SASL_PLAINTEXT)" SCRAM-SHA-512 alice wrong
check "SASL_SSL, PLAIN alice over TLS" ok "$OFF30" \
	"${KQ[@]}" "$(addr SASL_SSL)" -X security.protocol=SASL_SSL -X ssl.ca.location="$certs/ca.pem" \
	-X sasl.mechanisms=PLAIN -X sasl.username=alice -X sasl.password=alice-secret
check "SASL_SSL, SCRAM-SHA-512 alice over TLS (probe)" ok '^ok session_lifetime_ms=0$' \
	"${PROBE[@]}" "$(addr SASL_SSL)" SCRAM-SHA-512 alice alice-secret --tls "$certs/ca.pem"
check "MTLS, client certificate signed by the CA" ok "$OFF30" \
	"${KQ[@]}" "$(addr MTLS)" "${SSL_CA[@]}" -X ssl.certificate.location="$certs/client.pem" \
	-X ssl.key.location="$certs/client.key"
check "MTLS, no client certificate" fail 'alert|certificate' \
	"${KQ[@]}" "$(addr MTLS)" "${SSL_CA[@]}"
check "REAUTH, PLAIN admin with kcat" ok "$OFF30" \
	"${KQ[@]}" "$(addr REAUTH)" "${SP[@]}" -X sasl.mechanisms=PLAIN -X sasl.username=admin -X sasl.password=admin-secret
check "REAUTH, PLAIN: lifetime $KAFKA_REAUTH_MS ms, closed when used after it (probe)" ok \
	"^ok session_lifetime_ms=$KAFKA_REAUTH_MS"$'\n'"closed-after-expiry" \
	"${PROBE[@]}" "$(addr REAUTH)" PLAIN alice alice-secret --expire
check "REAUTH, SCRAM-SHA-256: lifetime $KAFKA_REAUTH_MS ms (probe)" ok "^ok session_lifetime_ms=$KAFKA_REAUTH_MS\$" \
	"${PROBE[@]}" "$(addr REAUTH)" SCRAM-SHA-256 alice alice-secret
check "OAUTH, OAUTHBEARER, librdkafka's own unsecured JWT (principal=admin)" ok "$OFF30" \
	"${KQ[@]}" "$(addr OAUTH)" "${SP[@]}" -X sasl.mechanisms=OAUTHBEARER \
	-X enable.sasl.oauthbearer.unsecure.jwt=true -X sasl.oauthbearer.config=principal=admin
# the broker bounds the session by the token's exp (KIP-368) even without
# connections.max.reauth.ms: a lifetime just under an hour
check "OAUTH, OAUTHBEARER, unsecured JWS sub=admin, exp in 1 h: session lifetime to exp (probe)" ok \
	'^ok session_lifetime_ms=3[56][0-9]{5}$' \
	"${PROBE[@]}" "$(addr OAUTH)" OAUTHBEARER - "$JWT_OK"
check "OAUTH, OAUTHBEARER, expired JWS: JSON error, then 58 (probe)" fail \
	'^challenge \{"status":"invalid_token"\}$'$'\n''^error 58 \{"status":"invalid_token"\}$' \
	"${PROBE[@]}" "$(addr OAUTH)" OAUTHBEARER - "$JWT_EXPIRED"
check "OAUTH, OAUTHBEARER, a token that is no JWS: JSON error, then 58 (probe)" fail \
	'^challenge \{"status":"invalid_token"\}$'$'\n''^error 58 \{"status":"invalid_token"\}$' \
	"${PROBE[@]}" "$(addr OAUTH)" OAUTHBEARER - "$JWT_GARBAGE"
check "OAUTH, OAUTHBEARER, an '=' inside the token: 58 at once (probe)" fail \
	'^error 58 .*invalid credentials with SASL mechanism OAUTHBEARER' \
	"${PROBE[@]}" "$(addr OAUTH)" OAUTHBEARER - "$JWT_MALFORMED"
check "OAUTH, PLAIN is not enabled there (probe)" fail '^error 33 ' \
	"${PROBE[@]}" "$(addr OAUTH)" PLAIN admin admin-secret
wait
bad=0
for n in $(seq 0 $((${#check_names[@]} - 1))); do
	expect=$(sed -n 1p "$W/checks/$n.spec")
	pattern=$(sed -n '2,$p' "$W/checks/$n.spec")
	rc=$(cat "$W/checks/$n.rc")
	out=$(cat "$W/checks/$n.out")
	ok=1
	if [ "$expect" = ok ]; then
		[ "$rc" = 0 ] || ok=0
	else
		[ "$rc" != 0 ] || ok=0
		! grep -qE "$OFF30" <<<"$out" || ok=0
	fi
	# a multi-line pattern: every line must match
	while IFS= read -r pl; do
		[ -z "$pl" ] || grep -qE -- "$pl" <<<"$out" || ok=0
	done <<<"$pattern"
	if [ $ok = 1 ]; then
		printf 'ok    broker: %s\n' "${check_names[$n]}"
	else
		printf 'FAIL  broker: %s (exit %s, expected %s matching %s)\n' "${check_names[$n]}" "$rc" "$expect" "$pattern"
		sed 's/^/      | /' "$W/checks/$n.out" | tail -n 8
		bad=$((bad + 1))
	fi
done
say "broker checks: $(( ${#check_names[@]} - bad )) of ${#check_names[@]} as expected, in $(( $(date +%s) - t_broker )) s"
[ $bad = 0 ] || fail "the broker's security listeners are not as the tests assume (harness problem, not kafkagate)"
if [ $mode = broker ]; then
	say "broker only: done (listeners in $listeners)"
	exit 0
fi

# ---- gateways -------------------------------------------------------------
if ! "$bin" --help 2>&1 | grep -q -- '--kafka-tls'; then
	say "NOTE: $bin --help does not mention --kafka-tls: this build has no TLS/SASL"
	say "NOTE: client side yet, so every gateway below will refuse its flags and exit;"
	say "NOTE: each case then fails with the gateway's own words (expected until it lands)"
fi
mkdir -p "$W/secrets"
chmod 700 "$W/secrets"
printf 'admin-secret\n' >"$W/secrets/admin.pw"      # with a newline: not part of the password
printf 'wrong-secret\n' >"$W/secrets/wrong.pw"
printf 'carol-secret' >"$W/secrets/carol.pw"        # without one
printf 'alice-secret\n' >"$W/secrets/alice.pw"
chmod 600 "$W/secrets"/*.pw

# CASE LISTENER ENV FLAGS...; ENV is "-" or VAR=value for the gateway only.
# Keep this table in step with test_security.py's docstring.
C=$certs S=$W/secrets
gw_table() {
	tls=(--kafka-tls)
	row tls-noverify SSLSELF - "${tls[@]}" --kafka-tls-no-verify
	row tlsv SSLSELF - "${tls[@]}"
	row tlsv-pinned SSLSELF - "${tls[@]}" --kafka-ca "$C/self.pem"
	row tls-ca SSL - "${tls[@]}" --kafka-ca "$C/ca.pem"
	row tls-wrong-ca SSL - "${tls[@]}" --kafka-ca "$C/other-ca.pem"
	row sasl-plain SASL_PLAINTEXT - --sasl-mechanism PLAIN --sasl-username admin --sasl-password-file "$S/admin.pw"
	row sasl-plain-bad SASL_PLAINTEXT - --sasl-mechanism PLAIN --sasl-username admin --sasl-password-file "$S/wrong.pw"
	row scram-256 SASL_PLAINTEXT - --sasl-mechanism SCRAM-SHA-256 --sasl-username carol --sasl-password-file "$S/carol.pw"
	row scram-512 SASL_PLAINTEXT KAFKAGATE_SASL_PASSWORD=dave-secret --sasl-mechanism SCRAM-SHA-512 --sasl-username dave
	row scram-bad SASL_PLAINTEXT - --sasl-mechanism SCRAM-SHA-512 --sasl-username alice --sasl-password-file "$S/wrong.pw"
	row sasl-ssl SASL_SSL - "${tls[@]}" --kafka-ca "$C/ca.pem" \
		--sasl-mechanism SCRAM-SHA-512 --sasl-username alice --sasl-password-file "$S/alice.pw"
	row mtls MTLS - "${tls[@]}" --kafka-ca "$C/ca.pem" --kafka-cert "$C/client.pem" --kafka-key "$C/client.key"
	row mtls-nocert MTLS - "${tls[@]}" --kafka-ca "$C/ca.pem"
	row reauth-plain REAUTH - --sasl-mechanism PLAIN --sasl-username alice --sasl-password-file "$S/alice.pw"
	row reauth-scram REAUTH - --sasl-mechanism SCRAM-SHA-256 --sasl-username alice --sasl-password-file "$S/alice.pw"
	row wss PLAINTEXT - --tls-cert "$C/gateway.pem" --tls-key "$C/gateway.key"
	row oauth OAUTH - --sasl-mechanism OAUTHBEARER --sasl-token-file "$S/admin.jwt"
	row oauth-expired OAUTH - --sasl-mechanism OAUTHBEARER --sasl-token-file "$S/expired.jwt"
	row oauth-garbage OAUTH - --sasl-mechanism OAUTHBEARER --sasl-token-file "$S/garbage.jwt"
	row oauth-malformed OAUTH - --sasl-mechanism OAUTHBEARER --sasl-token-file "$S/malformed.jwt"
	row oauth-short OAUTH - --sasl-mechanism OAUTHBEARER --sasl-token-file "$S/short.jwt"
	row oauth-rotate OAUTH - --sasl-mechanism OAUTHBEARER --sasl-token-file "$S/rotate.jwt"
}

next_port=${KAFKAGATE_PORT_BASE:-19780}
cases=() ports=() pids=()
row() { # CASE LISTENER ENV FLAGS...: start one gateway in the background
	local name=$1 lst=$2 envspec=$3 port bs scheme=ws
	shift 3
	bs=$(addr "$lst")
	[ -n "$bs" ] || fail "no $lst listener in $listeners"
	port=$(free_port "$next_port") || fail "no free port for gateway $name"
	next_port=$((port + 1))
	[ "$name" = wss ] && scheme=wss
	local env=()
	[ "$envspec" = - ] || env=("$envspec")
	start_gateway ${env[@]+"${env[@]}"} "gateway $name" "$W/gw-$name.log" "$port" "$bs" \
		--request-timeout "$REQUEST_TIMEOUT" "$@"
	cases+=("$name"); ports+=("$port:$scheme"); pids+=($!)
}
# a token that expires while the tests run (OauthT.test_oauthbearer_token_expiry)
"$PYTHON" "$here/test_security.py" --jwt admin "$(scaled 25)" >"$S/short.jwt" || fail "making a JWT failed"
chmod 600 "$S/short.jwt"
JWT_SHORT=$(head -n1 "$S/short.jwt")
# rotated by the test (OauthT.test_oauthbearer_token_rotation); starts expired
cp "$S/expired.jwt" "$S/rotate.jwt"
gw_table

# wait for every gateway to listen; a gateway that exits is recorded "dead"
# (its tests fail with its log) rather than stopping the run here
: >"$W/gateways.tsv"
deadline=$(( $(date +%s) + $(scaled 20) ))
dead=()
for i in "${!cases[@]}"; do
	name=${cases[$i]} port=${ports[$i]%%:*} scheme=${ports[$i]##*:} pid=${pids[$i]}
	state=up
	rc=0
	wait_listen "$port" "$pid" "$deadline" || rc=$?
	if [ $rc = 1 ]; then
		rc=0; wait "$pid" || rc=$?
		state="dead: exit status $rc at start"
	elif [ $rc = 2 ]; then
		state="dead: not listening on $port after $(scaled 20) s"
	fi
	if [ "$state" != up ]; then
		dead+=("$name")
		say "gateway $name did not start ($state): $(head -n 3 "$W/gw-$name.log" | tr '\n' ' ')"
	fi
	printf '%s\t%s://127.0.0.1:%s/kafka\t%s\t%s\t%s\n' "$name" "$scheme" "$port" "$W/gw-$name.log" "$state" "$pid" \
		>>"$W/gateways.tsv"
done
[ ${#dead[@]} = 0 ] || say "${#dead[@]} of ${#cases[@]} gateways did not start: ${dead[*]}"

# ---- tests ----------------------------------------------------------------
export KAFKAGATE_SEC_GATEWAYS="$W/gateways.tsv" KAFKAGATE_SEC_CERTS=$certs
export KAFKAGATE_SEC_LISTENERS=$listeners KAFKAGATE_REAUTH_MS=$KAFKA_REAUTH_MS
export KAFKAGATE_REQUEST_TIMEOUT=$REQUEST_TIMEOUT
run_tests 600 "$here/test_security.py" "$@"

# every gateway that started must still be alive and exit 0 on SIGTERM
for i in "${!cases[@]}"; do
	name=${cases[$i]} pid=${pids[$i]}
	awk -F'\t' -v n="$name" '$1 == n && $4 == "up" { f = 1 } END { exit !f }' "$W/gateways.tsv" || continue
	stop_gateway "gateway $name" "$pid" || status=1
done
check_logs "$W"/gw-*.log || status=1
# a secret given in a file or the environment must not reach the logs
for pw in admin-secret carol-secret dave-secret alice-secret wrong-secret; do
	if grep -l -- "$pw" "$W"/gw-*.log >/dev/null 2>&1; then
		say "FAIL: a SASL password ($pw) appears in $(grep -l -- "$pw" "$W"/gw-*.log | tr '\n' ' ')"
		status=1
	fi
done
# nor an OAUTHBEARER token, whole or its payload (the claims) alone
for tok in "$JWT_OK" "$JWT_EXPIRED" "$JWT_GARBAGE" "$JWT_MALFORMED" "$JWT_SHORT" \
    "$(head -n1 "$S/rotate.jwt")"; do
	for part in "$tok" "$(cut -d. -f2 <<<"$tok")"; do
		[ ${#part} -ge 12 ] || continue
		if grep -F -l -- "$part" "$W"/gw-*.log >/dev/null 2>&1; then
			say "FAIL: an OAUTHBEARER token appears in $(grep -F -l -- "$part" "$W"/gw-*.log | tr '\n' ' ')"
			status=1
			break
		fi
	done
done
exit $status
