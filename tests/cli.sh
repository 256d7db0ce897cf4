#!/bin/sh
# cli.sh -- the command line and the configuration file check (-n), no
# network: flags, exit codes, --help against the man page, YAML routes.
set -u

bin=${KAFKAGATE_BIN:-${top_builddir:-.}/src/kafkagate}
man=${top_builddir:-.}/man/kafkagate.8
srcdir=${srcdir:-.}
t=$(mktemp -d "${TMPDIR:-/tmp}/kafkagate-cli.XXXXXX")
trap 'rm -rf "$t"' EXIT
pass=0
fail=0

ok() { pass=$((pass + 1)); echo "PASS  $1"; }
bad() { fail=$((fail + 1)); echo "FAIL  $1"; }

# expect NAME STATUS PATTERN -- command...: exit status and output match
expect() {
	name=$1 status=$2 pattern=$3
	shift 4
	"$@" >"$t/out" 2>&1
	rc=$?
	if [ "$rc" -ne "$status" ]; then
		bad "$name (exit $rc, expected $status)"; sed 's/^/      /' "$t/out"
	elif [ -n "$pattern" ] && ! grep -q -- "$pattern" "$t/out"; then
		bad "$name (no \"$pattern\" in output)"; sed 's/^/      /' "$t/out"
	else
		ok "$name"
	fi
}

expect version 0 "kafkagate [0-9]" -- "$bin" -V
expect help 0 "--max-frame" -- "$bin" --help
expect bad-flag 2 "usage:" -- "$bin" --no-such-flag
expect no-route 1 "nothing to serve" -- "$bin" -n
expect check-b 0 "configuration OK: 1 route" -- "$bin" -n -b 127.0.0.1:9092
expect bad-broker 1 "bad broker address" -- timeout 10 "$bin" -b nohostport
expect bad-size 2 "expected a number" -- "$bin" -n -b h:1 --max-frame 12
expect path-without-b 1 "-p needs -b" -- "$bin" -n -p /x

# Every long option of --help is in the man page.
if [ -f "$man" ]; then
	missing=
	sed 's/\\-/-/g' "$man" >"$t/man"
	for f in $("$bin" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
		grep -q -- "Fl ${f#-}\\b" "$t/man" || missing="$missing $f"
	done
	[ -z "$missing" ] && ok "man page lists every --help flag" ||
	    bad "man page lacks:$missing"
fi

# APISIX-style routes, both node forms.
cat >"$t/ok.yaml" <<'YAML'
listen:
  - 127.0.0.1:9080
max_frame: 131072
routes:
  - uri: /kafka
    upstream:
      scheme: kafka
      type: none
      nodes:
        "127.0.0.1:9092": 1
  - uri: /other
    upstream:
      nodes:
        - host: 127.0.0.2
          port: 9092
          weight: 1
#END
YAML
expect config-ok 0 "configuration OK: 2 routes" -- "$bin" -n -c "$t/ok.yaml"
expect config-plus-b 0 "configuration OK: 3 routes" -- "$bin" -n -c "$t/ok.yaml" -b h:1 -p /third
expect config-dup 1 "defined twice" -- "$bin" -n -c "$t/ok.yaml" -b h:1 -p /kafka

# TLS and SASL per route, APISIX's keys and ours.
ca=$srcdir/tests/data/tls/ca.pem
cat >"$t/sec.yaml" <<YAML
routes:
  - uri: /tls
    upstream:
      nodes: {"h:1": 1}
      tls: {verify: false}
  - uri: /tlsca
    upstream:
      nodes: {"h:1": 1}
      tls: {verify: true, ca_file: $ca}
  - uri: /sasl
    upstream:
      nodes: {"h:1": 1}
    plugins:
      kafka-proxy:
        sasl: {username: admin, password: admin-secret}
  - uri: /scram
    upstream:
      nodes: {"h:1": 1}
      tls: {}
    plugins:
      kafka-proxy:
        sasl: {mechanism: scram-sha-512, username: u, password: p}
YAML
expect config-security 0 "configuration OK: 4 routes" -- "$bin" -n -c "$t/sec.yaml"
printf 'routes:\n  - uri: /k\n    upstream:\n      nodes: {"h:1": 1}\n      tls: {ca_file: /nonexistent.pem}\n' >"$t/tls.yaml"
expect config-tls-missing-ca 1 "nonexistent.pem" -- "$bin" -n -c "$t/tls.yaml"
printf 'routes:\n  - uri: /k\n    upstream:\n      nodes: {"h:1": 1}\n      tls: {verify: maybe}\n' >"$t/tls2.yaml"
expect config-tls-verify 1 "verify must be true or false" -- "$bin" -n -c "$t/tls2.yaml"
printf 'routes:\n  - uri: /k\n    upstream:\n      nodes: {"h:1": 1}\n    plugins:\n      kafka-proxy:\n        sasl: {username: u}\n' >"$t/sasl.yaml"
expect config-sasl-no-password 1 "needs a username and a password" -- "$bin" -n -c "$t/sasl.yaml"
expect sasl-unknown-mech 1 "unknown SASL mechanism" -- "$bin" -n -b h:1 --sasl-mechanism GSSAPI --sasl-username u --sasl-password p
expect sasl-password-warned 0 "visible\\|ps(1)" -- "$bin" -n -b h:1 --sasl-mechanism PLAIN --sasl-username u --sasl-password p
printf 'secret\n' >"$t/pw"
expect sasl-password-file 0 "configuration OK" -- "$bin" -n -b h:1 --sasl-mechanism SCRAM-SHA-256 --sasl-username u --sasl-password-file "$t/pw"
expect sasl-password-env 0 "configuration OK" -- env KAFKAGATE_SASL_PASSWORD=x "$bin" -n -b h:1 --sasl-mechanism PLAIN --sasl-username u
expect sasl-no-password 1 "needs a username and a password" -- env -u KAFKAGATE_SASL_PASSWORD "$bin" -n -b h:1 --sasl-mechanism PLAIN --sasl-username u
expect oauth-no-token 1 "needs a token" -- "$bin" -n -b h:1 --sasl-mechanism OAUTHBEARER
expect kafka-ca-missing 1 "nope.pem" -- "$bin" -n -b h:1 --kafka-ca "$t/nope.pem"
expect kafka-ca-ok 0 "configuration OK" -- "$bin" -n -b h:1 --kafka-ca "$ca"
expect kafka-cert-without-key 1 "both the certificate and its key" -- "$bin" -n -b h:1 --kafka-cert "$ca"
expect security-without-b 1 "apply to the -b route" -- "$bin" -n -c "$t/ok.yaml" --kafka-tls
tls=$srcdir/tests/data/tls
expect wss-ok 0 "configuration OK" -- "$bin" -n -b h:1 --tls-cert "$tls/server-chain.pem" --tls-key "$tls/server.key"
expect wss-bad-key 1 "wss:" -- "$bin" -n -b h:1 --tls-cert "$tls/server.pem" --tls-key "$tls/corrupt.pem"
expect wss-half 1 "both --tls-cert and --tls-key" -- "$bin" -n -b h:1 --tls-cert "$tls/server.pem"
# Secrets never reach the output, even in errors.
"$bin" -n -b h:1 --sasl-mechanism PLAIN --sasl-username u --sasl-password-file "$t/pw" -v >"$t/out" 2>&1
if grep -q secret "$t/out"; then bad "password leaked into the output"; else ok "password not printed"; fi
printf 'bogus: 1\n' >"$t/unknown.yaml"
expect config-unknown-key 1 'unknown key "bogus"' -- "$bin" -n -c "$t/unknown.yaml"
printf 'routes: [\n' >"$t/broken.yaml"
expect config-syntax 1 "broken.yaml:" -- "$bin" -n -c "$t/broken.yaml"
printf 'routes:\n  - uri: /k\n    upstream:\n      scheme: redis\n      nodes: {"h:1": 1}\n' >"$t/scheme.yaml"
expect config-scheme 1 "scheme must be kafka" -- "$bin" -n -c "$t/scheme.yaml"
expect config-missing 1 "No such file" -- "$bin" -n -c "$t/nope.yaml"

# ---- usage errors say what is wrong ----
expect extra-arg 2 "unexpected argument 'extra-arg'" -- "$bin" -n -b h:1 extra-arg
grep -q "^usage:" "$t/out" && ok "extra-arg: then the usage" || bad "extra-arg: no usage"
expect config-dir 1 "kafkagate: $t: Is a directory" -- "$bin" -n -c "$t"
expect config-nofile 1 "kafkagate: $t/nope.yaml: No such file or directory" -- "$bin" -n -c "$t/nope.yaml"
if grep -q "input error" "$t/out"; then bad "config-nofile: libyaml's input error"; else ok "config-nofile: no input error"; fi

# ---- -n checks what start checks, with the same message ----
# same NAME PATTERN ARGS...: -n and a start both fail with exit 1 and the
# same message matching PATTERN (the start fails before it binds anything;
# timeout in case it does not)
same() {
	name=$1 pattern=$2
	shift 2
	"$bin" -n "$@" >"$t/n.out" 2>&1; nrc=$?
	timeout 10 "$bin" "$@" >"$t/s.out" 2>&1; src=$?
	if [ "$nrc" -ne 1 ] || [ "$src" -ne 1 ]; then
		bad "$name (exit $nrc with -n, $src at start; expected 1)"; sed 's/^/      /' "$t/n.out" "$t/s.out"
	elif ! cmp -s "$t/n.out" "$t/s.out"; then
		bad "$name (-n and start differ)"; sed 's/^/      /' "$t/n.out" "$t/s.out"
	elif ! grep -q -- "$pattern" "$t/n.out"; then
		bad "$name (no \"$pattern\" in output)"; sed 's/^/      /' "$t/n.out"
	else
		ok "$name"
	fi
}
same b-nohostport 'bad broker address "nohostport": expected host:port' -b nohostport
same b-notaport 'bad broker address "h:notaport": the port must be a number from 1 to 65535' -b h:notaport
same b-port0 'bad broker address "h:0": the port' -b h:0
same b-port65536 'bad broker address "h:65536": the port' -b h:65536
same b-emptyhost 'bad broker address ":9092": empty host' -b :9092
same b-second 'bad broker address "k2": expected' -b k1:9092,k2
same b-empty 'no broker address given' -b ,
same l-nonsense 'listen address "nonsense": expected host:port' -b h:1 -l nonsense
same l-port0 'listen address "127.0.0.1:0": the port must be' -b h:1 -l 127.0.0.1:0
same l-port65536 'listen address "127.0.0.1:65536": the port must be' -b h:1 -l 127.0.0.1:65536
same l-notaport 'listen address "127.0.0.1:http": the port must be' -b h:1 -l 127.0.0.1:http
same l-bare-v6 'IPv6 address needs brackets' -b h:1 -l ::1:9080
same l-twice 'listen address "127.0.0.1:9080" listed twice' -b h:1 -l 127.0.0.1:9080 -l 127.0.0.1:9080
same l-unresolvable 'listen address "no-such-host.invalid:9080": ' -b h:1 -l no-such-host.invalid:9080
# yaml NAME PATTERN LINE YAML: the same in a file, with file:line
yaml() {
	printf '%s\n' "$4" >"$t/$1.yaml"
	same "yaml-$1" "$t/$1.yaml:$3: $2" -c "$t/$1.yaml"
}
yaml nohostport 'bad broker address "nohostport": expected host:port' 4 \
'routes:
  - uri: /k
    upstream:
      nodes: {"nohostport": 1}'
yaml notaport 'bad broker address "h:notaport": the port must be' 4 \
'routes:
  - uri: /k
    upstream:
      nodes: {"h:notaport": 1}'
yaml port0 'bad broker address "h:0": the port must be' 5 \
'routes:
  - uri: /k
    upstream:
      nodes:
        - {host: h, port: 0}'
yaml port65536 'bad broker address "h:65536": the port must be' 6 \
'routes:
  - uri: /k
    upstream:
      nodes:
        - host: h
          port: 65536'
yaml emptyhost 'bad broker address ":9092": empty host' 4 \
'routes:
  - uri: /k
    upstream:
      nodes: {":9092": 1}'
yaml listen-nonsense 'listen address "nonsense": expected host:port' 1 \
'listen: nonsense
routes: [{uri: /k, upstream: {nodes: {"h:1": 1}}}]'
yaml listen-port 'listen address "127.0.0.1:65536": the port must be' 3 \
'listen:
  - 127.0.0.1:9080
  - 127.0.0.1:65536
routes: [{uri: /k, upstream: {nodes: {"h:1": 1}}}]'
yaml listen-twice 'listen address "127.0.0.1:9080" listed twice' 1 \
'listen: [127.0.0.1:9080, 127.0.0.1:9080]
routes: [{uri: /k, upstream: {nodes: {"h:1": 1}}}]'
yaml isolation 'plugins.kafka-proxy.isolation must be read_uncommitted or read_committed' 7 \
'routes:
  - uri: /k
    upstream:
      nodes: {"h:1": 1}
    plugins:
      kafka-proxy:
        isolation: serializable'
yaml max-sessions 'max_sessions: expected a number from 0 to' 1 \
'max_sessions: lots
routes: [{uri: /k, upstream: {nodes: {"h:1": 1}}}]'
yaml max-handshakes 'max_handshakes: expected a number from 0 to' 1 \
'max_handshakes: -1
routes: [{uri: /k, upstream: {nodes: {"h:1": 1}}}]'
yaml max-per-addr 'max_per_addr: expected a number from 0 to' 1 \
'max_per_addr: 1.5
routes: [{uri: /k, upstream: {nodes: {"h:1": 1}}}]'
yaml reuse-port 'reuse_port must be true or false' 1 \
'reuse_port: sometimes
routes: [{uri: /k, upstream: {nodes: {"h:1": 1}}}]'
yaml alias 'undefined alias' 1 \
'routes: *nowhere'
# Anchors and aliases still work (the file is composed event by event).
cat >"$t/alias.yaml" <<'YAML'
routes:
  - uri: /a
    upstream: &up
      nodes: {"h:1": 1}
  - uri: /b
    upstream: *up
YAML
expect config-alias 0 "configuration OK: 2 routes" -- "$bin" -n -c "$t/alias.yaml"
# A node whose host holds a comma would become two brokers.
printf 'routes:\n  - uri: /k\n    upstream:\n      nodes: {"a,b:1": 1}\n' >"$t/comma.yaml"
expect config-comma 1 "comma.yaml:4: bad broker address" -- "$bin" -n -c "$t/comma.yaml"

# What -n prints: listeners, every route, limits; never a secret.
printf 'a-token.1\n' >"$t/token"
cat >"$t/print.yaml" <<YAML
listen: [127.0.0.1:9081, "[::1]:9082"]
max_sessions: 500
max_per_addr: 20
routes:
  - uri: /plain
    upstream:
      nodes: {"k1:9092": 1, "k2:9092": 1}
  - uri: /secure
    upstream:
      nodes:
        - {host: k3, port: 9093, weight: 1}
      tls: {ca_file: $ca}
    plugins:
      kafka-proxy:
        sasl: {mechanism: SCRAM-SHA-512, username: app, password: inline-secret}
        isolation: read_committed
  - uri: /oauth
    upstream:
      nodes: {"k4:9094": 1}
      tls: {verify: false}
    plugins:
      kafka-proxy:
        sasl: {mechanism: OAUTHBEARER, token_file: $t/token}
YAML
"$bin" -n -c "$t/print.yaml" --max-handshakes 64 --isolation read_uncommitted >"$t/out" 2>&1
rc=$?
missing=
for want in "configuration OK: 3 routes" "listen 127.0.0.1:9081 (ws)" "listen \[::1\]:9082 (ws)" \
    "route /plain" "brokers k1:9092,k2:9092" "route /secure" "brokers k3:9093" \
    "tls on, verify, CA $ca" "sasl SCRAM-SHA-512, user app" "isolation read_committed" \
    "route /oauth" "tls on, NO VERIFICATION" "sasl OAUTHBEARER, token file $t/token" \
    "isolation read_uncommitted" "sasl none" "tls off" "max-sessions 500" \
    "max-handshakes 64" "max-per-addr 20" "reuse-port off" "idle-timeout 0 (never)"; do
	grep -q -- "$want" "$t/out" || missing="$missing [$want]"
done
[ "$rc" -eq 0 ] && [ -z "$missing" ] && ok "check prints listeners, routes, limits" ||
    { bad "check print (exit $rc), lacks:$missing"; sed 's/^/      /' "$t/out"; }
if grep -q "inline-secret\|a-token" "$t/out"; then bad "check printed a secret"; else ok "check prints no secret"; fi
expect check-defaults 0 "max-handshakes 1024" -- "$bin" -n -b h:1
grep -q "max-sessions 0 (unlimited" "$t/out" && grep -q "max-per-addr 0 (unlimited)" "$t/out" &&
    grep -q "isolation read_uncommitted" "$t/out" && ok "check-defaults: limits and isolation" ||
    bad "check-defaults: limits and isolation"
expect check-wss 0 "listen 127.0.0.1:9443 (wss)" -- "$bin" -n -b h:1 -l 127.0.0.1:9443 --tls-cert "$tls/server-chain.pem" --tls-key "$tls/server.key"
expect limits-cli 0 "max-sessions 7" -- "$bin" -n -b h:1 --max-sessions 7 --max-handshakes 0 --max-per-addr 3 --reuse-port
grep -q "max-handshakes 0 (unlimited)" "$t/out" && grep -q "max-per-addr 3" "$t/out" &&
    grep -q "reuse-port on" "$t/out" && ok "limits-cli: all three and reuse-port" || bad "limits-cli"
# The command line wins over the file's top-level settings.
printf 'max_sessions: 9\nroutes: [{uri: /k, upstream: {nodes: {"h:1": 1}}}]\n' >"$t/lim.yaml"
expect limits-cli-wins 0 "max-sessions 3" -- "$bin" -n -c "$t/lim.yaml" --max-sessions 3
expect limits-file 0 "max-sessions 9" -- "$bin" -n -c "$t/lim.yaml"
expect max-sessions-bad 2 "--max-sessions: expected a number" -- "$bin" -n -b h:1 --max-sessions -1
expect max-handshakes-bad 2 "--max-handshakes: expected a number" -- "$bin" -n -b h:1 --max-handshakes many
expect max-per-addr-bad 2 "--max-per-addr: expected a number" -- "$bin" -n -b h:1 --max-per-addr 1e3
# The partition readers: --fetch-wait and --cache-memory, and their keys.
expect fetch-wait-default 0 "fetch-wait 500 ms" -- "$bin" -n -b h:1
expect fetch-wait-zero 0 "fetch-wait 0 ms (answer at once)" -- "$bin" -n -b h:1 --fetch-wait 0
expect fetch-wait-timeout 1 "is not below the request timeout" -- "$bin" -n -b h:1 --fetch-wait 3000 --request-timeout 2
expect fetch-wait-bad 2 "--fetch-wait: expected a number" -- "$bin" -n -b h:1 --fetch-wait soon
expect cache-memory 0 "cache-memory 1048576" -- "$bin" -n -b h:1 --cache-memory 1048576
expect cache-memory-small 2 "--cache-memory: expected a number from 1048576" -- "$bin" -n -b h:1 --cache-memory 4096
printf 'fetch_wait: 100\ncache_memory: 2097152\nroutes: [{uri: /k, upstream: {nodes: {"h:1": 1}}}]\n' >"$t/fw.yaml"
expect fetch-wait-file 0 "fetch-wait 100 ms" -- "$bin" -n -c "$t/fw.yaml"
grep -q "cache-memory 2097152" "$t/out" && ok "cache-memory-file" || bad "cache-memory-file"

# Values are what they say or refused: APISIX's status, inline client
# certificates, lists where one value belongs.
printf 'routes: [{uri: /off, status: 0, upstream: {nodes: {"h:1": 1}}}, {uri: /on, status: 1, upstream: {nodes: {"h:1": 1}}}]\n' >"$t/status.yaml"
expect route-status-0 0 "configuration OK: 1 route" -- "$bin" -n -c "$t/status.yaml"
grep -q "route /off" "$t/out" && bad "route-status-0: a disabled route is served" || ok "route-status-0: not served"
printf 'routes: [{uri: /a, status: 2, upstream: {nodes: {"h:1": 1}}}]\n' >"$t/status2.yaml"
expect route-status-bad 1 "status must be 0 (disabled) or 1" -- "$bin" -n -c "$t/status2.yaml"
printf 'routes: [{uri: /a, upstream: {nodes: {"h:1": 1}, tls: {client_cert: "-----BEGIN CERTIFICATE-----", client_key: x}}}]\n' >"$t/inline.yaml"
expect tls-inline-cert 1 "are not supported: name the files with cert_file and key_file" -- "$bin" -n -c "$t/inline.yaml"
printf 'client_id: [a, b]\nroutes: [{uri: /a, upstream: {nodes: {"h:1": 1}}}]\n' >"$t/list.yaml"
expect client-id-list 1 "client_id must be a single value" -- "$bin" -n -c "$t/list.yaml"
printf 'routes: [{uri: /a, upstream: {nodes: {"h:1": 1}}, plugins: {kafka-proxy: {sasl: {username: {x: y}, password: p}}}}]\n' >"$t/list2.yaml"
expect sasl-user-map 1 "sasl.username must be a single value" -- "$bin" -n -c "$t/list2.yaml"
printf 'routes: [{uri: /a, upstream: {nodes: {"h:1": 1}, tls: {ca_file: [x]}}}]\n' >"$t/list3.yaml"
expect tls-ca-list 1 "upstream.tls.ca_file must be a single value" -- "$bin" -n -c "$t/list3.yaml"

# Authentication: consumers and route plugins (kafkagate.conf(5)).
printf 'routes: [{uri: /a, plugins: {key-auth: {}}, upstream: {nodes: {"h:1": 1}}}]\n' >"$t/nokeys.yaml"
expect auth-no-consumer 1 "no consumer has such a credential" -- "$bin" -n -c "$t/nokeys.yaml"
printf 'consumers: [{username: u, plugins: {jwt-auth: {key: k, secret: s, base64_secret: true}}}]\nroutes: [{uri: /a, upstream: {nodes: {"h:1": 1}}}]\n' >"$t/b64.yaml"
expect auth-base64-secret 1 "base64_secret is not supported" -- "$bin" -n -c "$t/b64.yaml"
printf 'consumers: [{username: u, plugins: {key-auth: {key: k}}}, {username: v, plugins: {key-auth: {key: k}}}]\nroutes: [{uri: /a, upstream: {nodes: {"h:1": 1}}}]\n' >"$t/dupkey.yaml"
expect auth-dup-key 1 "two consumers with one key-auth key" -- "$bin" -n -c "$t/dupkey.yaml"
printf 'consumers: [{username: u, plugins: {jwt-auth: {key: k, algorithm: none, secret: s}}}]\nroutes: [{uri: /a, upstream: {nodes: {"h:1": 1}}}]\n' >"$t/none.yaml"
expect auth-alg-none 1 "algorithm: expected HS256" -- "$bin" -n -c "$t/none.yaml"
printf 'routes: [{uri: /a, kafkagate: {origin: [x]}, upstream: {nodes: {"h:1": 1}}}]\n' >"$t/typo.yaml"
expect auth-typo 1 "kafkagate: unknown key origin" -- "$bin" -n -c "$t/typo.yaml"
printf 'routes: [{uri: /a, kafkagate: {allow: {produce: [x]}}, upstream: {nodes: {"h:1": 1}}}]\n' >"$t/cmd.yaml"
expect auth-bad-command 1 "commands are fetch and list_offset" -- "$bin" -n -c "$t/cmd.yaml"
printf 'consumers: [{username: u, plugins: {key-auth: {key: the-key}}, kafkagate: {allow: [o.*], max_connections: 3}}]\nroutes: [{uri: /a, plugins: {key-auth: {}}, kafkagate: {origins: ["https://x.y"], allow: {fetch: [o.*]}}, upstream: {nodes: {"h:1": 1}}}]\n' >"$t/auth.yaml"
expect auth-print 0 "  auth key-auth (1 consumer can)" -- "$bin" -n -c "$t/auth.yaml"
grep -q "the-key" "$t/out" && bad "auth-print: printed a key" || ok "auth-print: no key printed"
grep -q "^  allow list_offset: (nothing)" "$t/out" && grep -q "^  max-connections 3" "$t/out" &&
    grep -q "^  origins https://x.y" "$t/out" && ok "auth-print: permissions" || bad "auth-print: permissions"
expect open-route-warning 0 "has no authentication and listens beyond loopback" -- "$bin" -n -b h:1
printf 'consumers: [{username: u, plugins: {key-auth: {key: "$env://KEY"}}}]\nroutes: [{uri: /a, upstream: {nodes: {"h:1": 1}}}]\n' >"$t/envref.yaml"
expect auth-env-ref 1 "secret references" -- "$bin" -n -c "$t/envref.yaml"
printf 'consumers: [{username: u, plugins: {jwt-auth: {key: k, secret: s}}}]\nroutes: [{uri: /a, plugins: {jwt-auth: {}}, upstream: {nodes: {"h:1": 1}}}]\n' >"$t/jwtcookie.yaml"
expect jwt-cookie-warning 0 "takes a JWT from a cookie but lists no origins" -- "$bin" -n -c "$t/jwtcookie.yaml"
expect max-rate 0 "max-commands-per-second 50" -- "$bin" -n -b h:1 --max-commands-per-second 50
expect max-rate-bad 2 "expected a number from 0 to 1000000" -- "$bin" -n -b h:1 --max-commands-per-second -1

# The send timeout: flag, key, default and 0.
expect send-timeout-default 0 "send-timeout 60 s" -- "$bin" -n -b h:1
expect send-timeout-zero 0 "send-timeout 0 (never)" -- "$bin" -n -b h:1 --send-timeout 0
expect send-timeout-bad 2 "--send-timeout: expected seconds >= 0" -- "$bin" -n -b h:1 --send-timeout -1
printf 'send_timeout: 7.5\nroutes: [{uri: /k, upstream: {nodes: {"h:1": 1}}}]\n' >"$t/st.yaml"
expect send-timeout-file 0 "send-timeout 7.5 s" -- "$bin" -n -c "$t/st.yaml"

# ---- isolation ----
expect isolation-cli 0 "isolation read_committed" -- "$bin" -n -b h:1 --isolation read_committed
expect isolation-bad 2 "--isolation: expected read_uncommitted or read_committed" -- "$bin" -n -b h:1 --isolation READ_COMMITTED
# A route's own key wins over --isolation; the others take it.
"$bin" -n -c "$t/print.yaml" --isolation read_committed >"$t/out" 2>&1
[ "$(grep -c "isolation read_committed" "$t/out")" = 3 ] && ok "isolation: --isolation is the default" ||
    { bad "isolation: --isolation is the default"; sed 's/^/      /' "$t/out"; }
sed 's/isolation: read_committed/isolation: read_uncommitted/' "$t/print.yaml" >"$t/print2.yaml"
"$bin" -n -c "$t/print2.yaml" --isolation read_committed >"$t/out" 2>&1
[ "$(grep -c "isolation read_committed" "$t/out")" = 2 ] && ok "isolation: the route's key wins" ||
    { bad "isolation: the route's key wins"; sed 's/^/      /' "$t/out"; }

# ---- secrets ----
printf 'bad token\n' >"$t/badtoken"
expect oauth-bad-token 1 "badtoken: the token has a character not allowed" -- "$bin" -n -b h:1 --sasl-mechanism OAUTHBEARER --sasl-token-file "$t/badtoken"
if grep -q "bad token" "$t/out"; then bad "oauth-bad-token: token printed"; else ok "oauth-bad-token: token not printed"; fi
expect oauth-token-dir 1 "$t: Is a directory" -- "$bin" -n -b h:1 --sasl-mechanism OAUTHBEARER --sasl-token-file "$t"
expect oauth-token-ok 0 "sasl OAUTHBEARER, token file" -- "$bin" -n -b h:1 --sasl-mechanism OAUTHBEARER --sasl-token-file "$t/token"
expect password-file-dir 1 "$t: Is a directory" -- "$bin" -n -b h:1 --sasl-mechanism PLAIN --sasl-username u --sasl-password-file "$t"

# ---- running gateways (loopback, no broker behind them) ----
# gw NAME ARGS...: start `$bin -l 127.0.0.1:$port -b 127.0.0.1:1 -v ARGS`
# in the background ($gw_pid), output to $t/NAME.log; 0 once it listens
gw() {
	name=$1
	shift
	"$@" >"$t/$name.log" 2>&1 </dev/null &
	gw_pid=$!
	i=0
	while [ $i -lt 100 ]; do
		grep -q "^info: listening on" "$t/$name.log" && return 0
		kill -0 "$gw_pid" 2>/dev/null || { wait "$gw_pid"; return 1; }
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
gw_stop() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
# a port nothing listens on: the first of 20180... that a gateway can take
port=
for p in $(seq 20180 20220); do
	if gw probe "$bin" -l "127.0.0.1:$p" -b 127.0.0.1:1; then
		gw_stop "$gw_pid"
		port=$p
		break
	fi
done
if [ -z "$port" ]; then
	bad "no free loopback port for the gateway tests"
else
	# A second gateway on a port in use fails at start, saying so.
	if gw first "$bin" -l "127.0.0.1:$port" -b 127.0.0.1:1; then
		first=$gw_pid
		expect port-in-use 1 "Address already in use" -- timeout 10 "$bin" -l "127.0.0.1:$port" -b 127.0.0.1:1
		grep -q -- "--reuse-port" "$t/out" && ok "port-in-use: suggests --reuse-port" || bad "port-in-use: no hint"
		# ... and also with --reuse-port when the first one does not share
		expect port-in-use-unshared 1 "needs --reuse-port too" -- timeout 10 "$bin" -l "127.0.0.1:$port" -b 127.0.0.1:1 --reuse-port
		gw_stop "$first"
	else
		bad "port-in-use: the first gateway did not start"; sed 's/^/      /' "$t/first.log"
	fi
	# With --reuse-port on both, two processes share the port.
	if gw share1 "$bin" -l "127.0.0.1:$port" -b 127.0.0.1:1 --reuse-port; then
		first=$gw_pid
		if gw share2 "$bin" -l "127.0.0.1:$port" -b 127.0.0.1:1 --reuse-port; then
			ok "reuse-port: two gateways share a port"
			gw_stop "$gw_pid"
		else
			bad "reuse-port: the second gateway did not start"; sed 's/^/      /' "$t/share2.log"
		fi
		gw_stop "$first"
	else
		bad "reuse-port: the first gateway did not start"; sed 's/^/      /' "$t/share1.log"
	fi

	# RLIMIT_NOFILE: the soft limit is raised to the hard one (-v says),
	# and a --max-sessions that cannot fit is warned about.
	hard=$(ulimit -Hn)
	if [ "$hard" != unlimited ] && [ "$hard" -gt 64 ]; then
		if (ulimit -Sn 64 && gw nofile "$bin" -l "127.0.0.1:$port" -b 127.0.0.1:1 -v && gw_stop "$gw_pid"); then
			grep -q "file descriptor limit: $hard\$" "$t/nofile.log" && ok "nofile: soft limit raised to $hard" ||
			    { bad "nofile: soft limit not raised to $hard"; sed 's/^/      /' "$t/nofile.log"; }
		else
			bad "nofile: the gateway did not start"; sed 's/^/      /' "$t/nofile.log"
		fi
	fi
	if (ulimit -n 128 && gw nofit "$bin" -l "127.0.0.1:$port" -b 127.0.0.1:1 --max-sessions 1000 && gw_stop "$gw_pid"); then
		grep -q "max-sessions 1000 does not fit in the file descriptor limit 128" "$t/nofit.log" &&
		    ok "nofile: --max-sessions over the limit is warned about" ||
		    { bad "nofile: no warning"; sed 's/^/      /' "$t/nofit.log"; }
	else
		bad "nofit: the gateway did not start"; sed 's/^/      /' "$t/nofit.log"
	fi

	# With a secret loaded the process is not dumpable: another process
	# of the same user (without CAP_SYS_PTRACE) cannot read its memory or
	# environment; without one it can (the control).
	drop=
	if [ "$(id -u)" = 0 ]; then
		# root: drop every capability on both sides
		setpriv --bounding-set=-all --inh-caps=-all true 2>/dev/null &&
		    drop="setpriv --bounding-set=-all --inh-caps=-all"
	fi
	if [ "$(id -u)" = 0 ] && [ -z "$drop" ]; then
		echo "SKIP  dumpable (root without setpriv)"
	elif [ "$(uname -s)" = Linux ]; then
		for c in plain secret; do
			set -- $drop "$bin" -l "127.0.0.1:$port" -b 127.0.0.1:1
			[ $c = secret ] && set -- "$@" --sasl-mechanism PLAIN --sasl-username u --sasl-password-file "$t/pw"
			if gw "dump-$c" "$@"; then
				if $drop cat "/proc/$gw_pid/environ" >/dev/null 2>&1; then r=readable; else r=unreadable; fi
				gw_stop "$gw_pid"
				case $c:$r in
				plain:readable|secret:unreadable) ok "dumpable: $c gateway's memory $r" ;;
				*) bad "dumpable: $c gateway's memory $r" ;;
				esac
			else
				bad "dumpable: the $c gateway did not start"; sed 's/^/      /' "$t/dump-$c.log"
			fi
		done
	fi
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
