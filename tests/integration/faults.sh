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
# demand (docs/STYLE.md, section 6); everything else is in run.sh against real Kafka.
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
prog=faults.sh
. "$here/lib.sh"
MODES="hang badmd oversize wrongcorr close notleader crc ok oldfetch"

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
need_python
need_client
need_bin
rt=${KAFKAGATE_FAULT_REQUEST_TIMEOUT:-3}
rt=$(awk -v s="$rt" -v f="$scale" 'BEGIN { print s * f }')

# ---- scratch directory and cleanup ---------------------------------------
broker_pid=""
test_pid=""
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[ -z "$test_pid" ] || kill -TERM "$test_pid" 2>/dev/null || true
	kill_gateways
	if [ -n "$broker_pid" ]; then
		kill -TERM "$broker_pid" 2>/dev/null || true
		for _ in $(seq 1 30); do kill -0 "$broker_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$broker_pid" 2>/dev/null || true
	fi
	if [ $rc != 0 ] && [ $rc != 77 ]; then
		show_tails 40 "$W"/kafkagate-*.log
		if [ -s "$W/fault_broker.log" ]; then
			echo "----- last 60 lines of $W/fault_broker.log" >&2
			tail -n 60 "$W/fault_broker.log" | cut -c1-400 >&2
		fi
	fi
	drop_scratch
	exit $rc
}
scratch kafkagate-faults

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
	start_gateway "kafkagate ($mode)" "$log" "$port" "127.0.0.1:$bport" --request-timeout "$rt"
	echo "$mode $port $! $log" >>"$W/gateways"
done
shift # the "--" before the test arguments
# wait until every gateway listens
deadline=$(( $(date +%s) + $(scaled 20) ))
while read -r mode port pid log; do
	rc=0
	wait_listen "$port" "$pid" "$deadline" || rc=$?
	[ $rc != 1 ] || { tail -n 40 "$log" >&2; fail "kafkagate ($mode) exited during start-up"; }
	[ $rc != 2 ] || fail "kafkagate ($mode) is not listening on port $port"
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
test_env
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
	if grep -qE "$SANITIZER_RE" "$log"; then
		bad "faults.sh: sanitizer or valgrind report in kafkagate ($mode)'s log"
		sanitizer_report "$log"
	else
		ok "faults.sh: no sanitizer report in kafkagate ($mode)'s log"
	fi
done <"$W/gateways"
gw_pids=()
echo "$pass passed, $nfail failed"
[ "$nfail" = 0 ] || status=1
exit $status
