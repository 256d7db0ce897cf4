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
expect bad-broker 1 "bad broker address" -- "$bin" -l 127.0.0.1:0 -b nohostport
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

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
