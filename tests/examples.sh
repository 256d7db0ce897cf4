#!/bin/sh
# examples.sh -- the configurations of examples/ pass kafkagate -n as they
# are shipped (tls-scram.yaml with the files it names substituted), and
# kafkagate.yaml holds every top-level key of kafkagate.conf(5) with its
# real default.  No network: -n connects nowhere and binds nothing.
set -u

bin=${KAFKAGATE_BIN:-${top_builddir:-.}/src/kafkagate}
srcdir=${srcdir:-.}
ex=$srcdir/examples
man5=$srcdir/man/kafkagate.conf.5.in
tls=$srcdir/tests/data/tls
t=$(mktemp -d "${TMPDIR:-/tmp}/kafkagate-examples.XXXXXX")
trap 'rm -rf "$t"' EXIT
pass=0
fail=0

ok() { pass=$((pass + 1)); echo "PASS  $1"; }
bad() { fail=$((fail + 1)); echo "FAIL  $1"; }

# expect NAME STATUS PATTERN -- command...: exit status and output match
# (the output stays in $t/out)
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

# lines NAME LINE...: $t/out holds each LINE as a whole line
lines() {
	name=$1
	shift
	missing=
	for l in "$@"; do
		grep -qxF -- "$l" "$t/out" || missing="$missing [$l]"
	done
	if [ -z "$missing" ]; then
		ok "$name"
	else
		bad "$name, lacks:$missing"; sed 's/^/      /' "$t/out"
	fi
}

# secret NAME STRING: $t/out does not hold STRING
secret() {
	if grep -qF -- "$2" "$t/out"; then
		bad "$1: printed a secret"
	else
		ok "$1: no secret printed"
	fi
}

# ---- kafkagate.yaml: the default configuration, installed as is ----
expect default 0 "configuration OK: 1 route" -- "$bin" -n -c "$ex/kafkagate.yaml"
lines default-serves "listen 127.0.0.1:9080 (ws)" "route /kafka" \
    "  brokers localhost:9092" "  tls off" "  sasl none"
cp "$t/out" "$t/default.out"

# Every top-level key of kafkagate.conf(5), SETTINGS, is in the file, set
# or commented out (#key: value).
keys=$(sed -n '/^\.Sh SETTINGS/,/^\.Sh /s/^\.It Ic \([a-z_]*\) .*/\1/p' "$man5")
missing=
for k in $keys; do
	grep -q "^#\{0,1\}$k:" "$ex/kafkagate.yaml" || missing="$missing $k"
done
if [ -z "$keys" ]; then
	bad "default-keys: no keys found in $man5"
elif [ -n "$missing" ]; then
	bad "default-keys: kafkagate.yaml lacks:$missing"
else
	ok "default-keys: all $(echo $keys | wc -w) keys of kafkagate.conf(5)"
fi

# The commented-out values are the defaults: uncommented, they change
# nothing -n prints.  admin_listen has no default (unset is off).
nodefault=admin_listen
sed "/^#\($nodefault\):/d; s/^#\([a-z_]*:\)/\1/" "$ex/kafkagate.yaml" >"$t/defaults.yaml"
n=$(grep -c '^[a-z_]*:' "$t/defaults.yaml")
expect default-values 0 "configuration OK: 1 route" -- "$bin" -n -c "$t/defaults.yaml"
if [ "$n" -lt 10 ]; then
	bad "default-values: only $n keys set once uncommented"
elif ! cmp -s "$t/default.out" "$t/out"; then
	bad "default-values: a commented-out value is not the default"
	diff "$t/default.out" "$t/out" | sed 's/^/      /'
else
	ok "default-values: $n keys set, the same configuration"
fi

# ---- apisix.yaml: APISIX routes served as they are ----
expect apisix 0 "configuration OK: 3 routes" -- "$bin" -n -c "$ex/apisix.yaml"
lines apisix-routes "listen 0.0.0.0:9080 (ws)" "route /kafka/orders" \
    "  brokers kafka-a.internal:9092,kafka-b.internal:9092,kafka-c.internal:9092" \
    "route /kafka/billing" "  brokers kafka-a.internal:9092,kafka-b.internal:9092" \
    "  sasl PLAIN, user billing-reader" "route /kafka/cloud" \
    "  tls on, verify, CA (system store)" "  sasl PLAIN, user cloud-reader"
secret apisix change-me
lines apisix-auth "  auth key-auth (1 consumer can)" "  auth jwt-auth (1 consumer can)" \
    "consumer orders-app" "consumer billing-app" "  credentials jwt-auth HS256"
grep -q "^warning: route /kafka/cloud has no authentication and listens beyond loopback" "$t/out" &&
    ok "apisix: warns of the open route" || bad "apisix: no warning for the open route"
secret apisix-key orders-app-key
secret apisix-jwt billing-app-secret

# ---- tls-scram.yaml: SASL_SSL, the password from a file, wss ----
# -n reads the files a configuration names, as a start would: as shipped,
# the CA and the systemd credential do not exist here, and the check fails
# naming one.  With the paths replaced by files of the test, it passes.
y=$ex/tls-scram.yaml
ca=$(sed -n 's/^ *ca_file: *//p' "$y")
pw=$(sed -n 's/^ *password_file: *//p' "$y")
if [ -z "$ca" ] || [ -z "$pw" ]; then
	bad "tls-scram: no ca_file or password_file in $y"
else
	if [ -r "$ca" ] && [ -r "$pw" ]; then
		echo "SKIP  tls-scram-as-shipped: $ca and $pw exist on this machine"
	else
		expect tls-scram-as-shipped 1 "$pw\\|$ca" -- "$bin" -n -c "$y"
	fi
	cp "$tls/ca.pem" "$t/kafka-ca.pem"
	printf 'not-the-real-password\n' >"$t/sasl-password"
	sed -e "s|$ca|$t/kafka-ca.pem|" -e "s|$pw|$t/sasl-password|" "$y" >"$t/tls-scram.yaml"
	if grep -qF -e "$ca" -e "$pw" "$t/tls-scram.yaml"; then
		bad "tls-scram: the paths were not all substituted"
	else
		expect tls-scram 0 "configuration OK: 1 route" -- "$bin" -n \
		    -c "$t/tls-scram.yaml" \
		    --tls-cert "$tls/server-chain.pem" --tls-key "$tls/server.key"
		lines tls-scram-serves "listen 0.0.0.0:9443 (wss)" "route /kafka" \
		    "  tls on, verify, CA $t/kafka-ca.pem" \
		    "  sasl SCRAM-SHA-512, user gateway"
		secret tls-scram not-the-real-password
	fi
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
