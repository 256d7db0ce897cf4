#!/bin/bash
# faults.sh — kafkagate's fault-injection tests against a scripted fake broker.
#
# Starts tests/integration/fault_broker.py (one port per fault mode: hang,
# badmd, oversize, wrongcorr, close, notleader, crc, ok, oldfetch), one
# kafkagate per mode with a short --request-timeout, runs
# tests/integration/test_faults.py against them, then checks that every
# gateway is still alive, exits 0 within 10 s of SIGTERM and logged no
# sanitizer report.  Always cleans up; prints the logs' tails on failure.
# No Kafka, no Java, no network beyond 127.0.0.1.  About 20 s.
#
# A mock broker is used only for faults a real broker cannot produce on
# demand (DESIGN.md §6); everything else is in run.sh against real Kafka.
#
# Exit status: 0 all passed, 1 failure, 77 skipped (Automake's SKIP) when a
# prerequisite is missing — unless CI is set, where that is a failure.
# Arguments are passed to test_faults.py (test names, -k SUBSTRING, -v).
#
# Environment (all optional):
#   KAFKAGATE_BIN        the daemon (default $builddir/src/kafkagate, else
#                        $top_builddir/src/kafkagate, else ./src/kafkagate)
#   builddir, top_builddir, srcdir   build/source directories (Automake's)
#   KAFKAGATE_TIMEOUT_SCALE  multiplies every timeout (slow machines, valgrind)
#   KAFKAGATE_WRAPPER    command prefix for the daemon, e.g. "valgrind -q"
#   KAFKAGATE_KEEP=1     keep the temporary directory (logs)
#   KAFKAGATE_FAULT_PORT first port to try for the gateways (default 19600)
#   KAFKAGATE_FAULT_REQUEST_TIMEOUT  the gateways' --request-timeout (default 3)
#   KAFKAGATE_PYTHON     Python with websockets + protobuf (default /usr/bin/python3)
#   CI                   set: missing prerequisites fail instead of skip
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=$(cd "${srcdir:-$here/../..}" && pwd)
PYTHON=${KAFKAGATE_PYTHON:-/usr/bin/python3}
scale=${KAFKAGATE_TIMEOUT_SCALE:-1}
export KAFKAGATE_TIMEOUT_SCALE=$scale
export PYTHONDONTWRITEBYTECODE=1
MODES="hang badmd oversize wrongcorr close notleader crc ok oldfetch"

say() { printf 'faults.sh: %s\n' "$*" >&2; }
fail() { say "FAIL: $*"; exit 1; }
skip_or_fail() {
	if [ -n "${CI:-}" ] && [ "${CI}" != false ] && [ "${CI}" != 0 ]; then
		say "FAIL: $* (CI is set: prerequisites are required)"
		exit 1
	fi
	echo "SKIP: $*"
	exit 77
}
scaled() { awk -v s="$1" -v f="$scale" 'BEGIN { v = s * f; i = int(v); if (i < v) i++; if (i < 1) i = 1; print i }'; }

# free_ports BASE N: N ports >= BASE that nothing listens on and can be bound
free_ports() {
	"$PYTHON" - "$1" "$2" <<'EOF'
import socket, sys
p, want, got = int(sys.argv[1]), int(sys.argv[2]), []
while len(got) < want and p < 65000:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        got.append(p)
    except OSError:
        pass
    finally:
        s.close()
    p += 1
if len(got) < want:
    sys.exit(1)
print(" ".join(map(str, got)))
EOF
}

listeners() { # PORT: IPv4 sockets listening on it (1 if unknown)
	[ -r /proc/net/tcp ] || { echo 1; return; }
	awk -v p="$(printf '%04X' "$1")" 'NR > 1 && $4 == "0A" { split($2, a, ":"); if (a[2] == p) n++ }
		END { print n + 0 }' /proc/net/tcp
}

# ---- prerequisites --------------------------------------------------------
[ -x "$PYTHON" ] || skip_or_fail "$PYTHON not found"
"$PYTHON" -c 'import websockets, google.protobuf' 2>/dev/null ||
	skip_or_fail "$PYTHON lacks the websockets or protobuf modules (Debian: python3-websockets python3-protobuf)"
command -v "${PROTOC:-protoc}" >/dev/null 2>&1 || skip_or_fail "protoc not found (Debian: protobuf-compiler)"

if [ -n "${KAFKAGATE_BIN:-}" ]; then
	bin=$KAFKAGATE_BIN
elif [ -n "${builddir:-}" ]; then
	bin=$builddir/src/kafkagate
elif [ -n "${top_builddir:-}" ]; then
	bin=$top_builddir/src/kafkagate
elif [ -x ./src/kafkagate ]; then
	bin=./src/kafkagate
else
	bin=$top_srcdir/src/kafkagate
fi
[ -x "$bin" ] || skip_or_fail "kafkagate binary not found at $bin (build it, or set KAFKAGATE_BIN)"
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
rt=${KAFKAGATE_FAULT_REQUEST_TIMEOUT:-3}
rt=$(awk -v s="$rt" -v f="$scale" 'BEGIN { print s * f }')

# ---- scratch directory and cleanup ---------------------------------------
W=$(mktemp -d "${TMPDIR:-/tmp}/kafkagate-faults.XXXXXX")
gw_pids=()
broker_pid=""
test_pid=""
cleanup() {
	local rc=$? pid
	trap - EXIT INT TERM
	[ -z "$test_pid" ] || kill -TERM "$test_pid" 2>/dev/null || true
	for pid in ${gw_pids[@]+"${gw_pids[@]}"}; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in ${gw_pids[@]+"${gw_pids[@]}"}; do
		for _ in $(seq 1 $((10 * $(scaled 5)))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	done
	if [ -n "$broker_pid" ]; then
		kill -TERM "$broker_pid" 2>/dev/null || true
		for _ in $(seq 1 30); do kill -0 "$broker_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$broker_pid" 2>/dev/null || true
	fi
	if [ $rc != 0 ] && [ $rc != 77 ]; then
		for f in "$W"/kafkagate-*.log; do
			[ -s "$f" ] || continue
			echo "----- last 40 lines of $f" >&2
			tail -n 40 "$f" >&2
		done
		if [ -s "$W/fault_broker.log" ]; then
			echo "----- last 60 lines of $W/fault_broker.log" >&2
			tail -n 60 "$W/fault_broker.log" | cut -c1-400 >&2
		fi
	fi
	if [ -n "${KAFKAGATE_KEEP:-}" ]; then
		say "kept $W"
	else
		rm -rf "$W"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- the fake broker --------------------------------------------------------
"$PYTHON" "$here/fault_broker.py" -v --modes "$(echo $MODES | tr ' ' ,)" \
	--ports-file "$W/ports" >"$W/fault_broker.log" 2>&1 </dev/null &
broker_pid=$!
deadline=$(( $(date +%s) + $(scaled 10) ))
while [ ! -s "$W/ports" ]; do
	kill -0 "$broker_pid" 2>/dev/null || { cat "$W/fault_broker.log" >&2; fail "fault_broker.py exited during start-up"; }
	[ "$(date +%s)" -lt "$deadline" ] || fail "fault_broker.py wrote no ports file"
	sleep 0.1
done
control=$(awk '$1 == "control" { print $2 }' "$W/ports")

# ---- gateways -------------------------------------------------------------
wrapper=${KAFKAGATE_WRAPPER:-}
nmodes=$(echo $MODES | wc -w)
# The daemon binds with SO_REUSEPORT, so a port taken between our check and
# its bind would be shared silently: hold a lock while choosing ports and
# starting (so concurrent runs of this script take turns), then make sure
# each port has exactly one listener.
lock="${TMPDIR:-/tmp}/kafkagate-faults-ports.lock"
exec 9>>"$lock"
flock -w "$(scaled 120)" 9 2>/dev/null || say "could not lock $lock; going on without it"
ports=$(free_ports "${KAFKAGATE_FAULT_PORT:-19600}" "$nmodes") || fail "no $nmodes free ports for the gateways"
set -- ${ports} -- "$@"
: >"$W/gateways"
for mode in $MODES; do
	port=$1
	shift
	bport=$(awk -v m="$mode" '$1 == m { print $2 }' "$W/ports")
	log="$W/kafkagate-$mode.log"
	# shellcheck disable=SC2086
	$wrapper "$bin" -l "127.0.0.1:$port" -b "127.0.0.1:$bport" -p /kafka -v \
		--request-timeout "$rt" >"$log" 2>&1 </dev/null 9>&- &
	gw_pids+=($!)
	echo "$mode $port $! $log" >>"$W/gateways"
done
shift # the "--" before the test arguments
# wait until every gateway listens
deadline=$(( $(date +%s) + $(scaled 20) ))
while read -r mode port pid log; do
	while ! (: >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
		kill -0 "$pid" 2>/dev/null || { tail -n 40 "$log" >&2; fail "kafkagate ($mode) exited during start-up"; }
		[ "$(date +%s)" -lt "$deadline" ] || fail "kafkagate ($mode) is not listening on port $port"
		sleep 0.1
	done
	n=$(listeners "$port")
	[ "$n" = 1 ] || fail "port $port of kafkagate ($mode) has $n listeners: another process took it too (SO_REUSEPORT)"
done <"$W/gateways"
flock -u 9 2>/dev/null || true
exec 9>&-
say "fake broker pid $broker_pid, control port $control; gateways (mode port pid): $(cut -d' ' -f1-3 "$W/gateways" | tr '\n' ';')"

# ---- tests ----------------------------------------------------------------
export KAFKAGATE_FAULT_GATEWAYS="$W/gateways"
export KAFKAGATE_FAULT_CONTROL="127.0.0.1:$control"
export KAFKAGATE_REQUEST_TIMEOUT=$rt
export KAFKAGATE_PROTO=${KAFKAGATE_PROTO:-$top_srcdir/proto/pubsub.proto}
export srcdir=$top_srcdir
# In the background, so that a signal to this script runs cleanup at once
# (bash defers traps while a foreground command runs).
set +e
timeout "$(scaled 150)" "$PYTHON" "$here/test_faults.py" "$@" > >(tee "$W/test_faults.out") &
test_pid=$!
wait "$test_pid"
status=$?
test_pid=""
sleep 0.2 # let tee finish the summary line
set -e
[ "$status" = 124 ] && say "the test program timed out"
[ "$status" = 0 ] || status=1
py_pass=$(tail -n 1 "$W/test_faults.out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
py_fail=$(tail -n 1 "$W/test_faults.out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
pass=${py_pass:-0}
nfail=${py_fail:-0}
[ -n "$py_pass" ] || nfail=$((nfail + 1))   # no summary line: the program died
ok() { pass=$((pass + 1)); echo "PASS  $1"; }
bad() { nfail=$((nfail + 1)); status=1; echo "FAIL  $1"; }

# ---- afterwards: alive, clean SIGTERM exit, no sanitizer report -----------
while read -r mode port pid log; do
	if kill -0 "$pid" 2>/dev/null; then
		ok "faults.sh: kafkagate ($mode) alive after the tests"
	else
		bad "faults.sh: kafkagate ($mode, pid $pid) died during the tests"
	fi
done <"$W/gateways"
for pid in ${gw_pids[@]+"${gw_pids[@]}"}; do kill -TERM "$pid" 2>/dev/null || true; done
limit=$(scaled 10)
t0=$(date +%s%N)
while read -r mode port pid log; do
	gone=0
	while [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt $((limit * 1000)) ]; do
		kill -0 "$pid" 2>/dev/null || { gone=1; break; }
		sleep 0.1
	done
	if [ $gone = 0 ]; then
		bad "faults.sh: kafkagate ($mode) still running $limit s after SIGTERM"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	set +e
	wait "$pid"
	rc=$?
	set -e
	if [ $gone = 1 ]; then
		if [ "$rc" = 0 ]; then
			ok "faults.sh: kafkagate ($mode) exited 0 after SIGTERM"
		else
			bad "faults.sh: kafkagate ($mode) exited $rc after SIGTERM"
		fi
	fi
	if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|UndefinedBehaviorSanitizer|runtime error:|ERROR SUMMARY: [1-9]' "$log"; then
		bad "faults.sh: sanitizer or valgrind report in kafkagate ($mode)'s log"
		grep -E -A 20 'ERROR: (AddressSanitizer|LeakSanitizer)|UndefinedBehaviorSanitizer|runtime error:|ERROR SUMMARY: [1-9]' "$log" | head -n 60 >&2
	else
		ok "faults.sh: no sanitizer report in kafkagate ($mode)'s log"
	fi
done <"$W/gateways"
gw_pids=()
echo "$pass passed, $nfail failed"
[ "$nfail" = 0 ] || status=1
exit $status
