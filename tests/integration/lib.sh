# lib.sh — what the integration entry scripts (run.sh, failover.sh,
# faults.sh, security.sh, signals.sh) share: messages, the prerequisite
# rule, free ports, the daemon's path, the scratch directory, starting and
# stopping gateways, running the Python test program, sanitizer reports.
# Bash; sourced, not run.  Before sourcing, a script sets `set -eu`, $here
# (this directory) and $prog (its name, for messages):
#
#   here=$(cd "$(dirname "$0")" && pwd)
#   prog=run.sh
#   . "$here/lib.sh"
#
# Sets top_srcdir (from $srcdir, else two levels up), broker_sh, PYTHON
# ($KAFKAGATE_PYTHON, default /usr/bin/python3), scale
# ($KAFKAGATE_TIMEOUT_SCALE, default 1, exported), wrapper
# ($KAFKAGATE_WRAPPER) and gw_pids (the gateways started), and exports
# PYTHONDONTWRITEBYTECODE=1.

top_srcdir=$(cd "${srcdir:-$here/../..}" && pwd)
broker_sh="$top_srcdir/tests/broker/kafka-broker.sh"
PYTHON=${KAFKAGATE_PYTHON:-/usr/bin/python3}
scale=${KAFKAGATE_TIMEOUT_SCALE:-1}
export KAFKAGATE_TIMEOUT_SCALE=$scale
export PYTHONDONTWRITEBYTECODE=1
wrapper=${KAFKAGATE_WRAPPER:-}
gw_pids=()

say() { printf '%s: %s\n' "$prog" "$*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

# skip_or_fail REASON: a prerequisite is missing.  With CI set (to anything
# but "false" or "0") that is a failure (exit 1); otherwise print
# "SKIP: REASON" and exit 77, Automake's SKIP.
skip_or_fail() {
	if [ -n "${CI:-}" ] && [ "${CI}" != false ] && [ "${CI}" != 0 ]; then
		say "FAIL: $* (CI is set: prerequisites are required)"
		exit 1
	fi
	echo "SKIP: $*"
	exit 77
}

# scaled SECONDS: SECONDS * KAFKAGATE_TIMEOUT_SCALE, rounded up, at least 1
scaled() { awk -v s="$1" -v f="$scale" 'BEGIN { v = s * f; i = int(v); if (i < v) i++; if (i < 1) i = 1; print i }'; }

# ---- ports ----------------------------------------------------------------

# port_free PORT: 0 if nothing listens on 127.0.0.1:PORT (TIME_WAIT is fine:
# Kafka and kafkagate bind with SO_REUSEADDR, and a previous run leaves some)
port_free() {
	"$PYTHON" - "$1" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
EOF
}

# port_refused PORT: nothing accepts connections on 127.0.0.1:PORT.  Not a
# bind test: 59092 lies in the ephemeral range, and a client socket that
# happens to use it locally makes a bind fail without anything listening.
port_refused() {
	"$PYTHON" - "$1" <<'EOF'
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2).close()
except ConnectionRefusedError:
    sys.exit(0)
except OSError:
    pass
sys.exit(1)
EOF
}

# free_port BASE [STEP [WIDTH]]: the first port BASE + k*STEP below 65000
# with WIDTH free ports from it
free_port() {
	local p=$1 step=${2:-1} width=${3:-1} i ok
	while [ "$p" -lt 65000 ]; do
		ok=1
		for i in $(seq 0 $((width - 1))); do
			port_free $((p + i)) || { ok=0; break; }
		done
		[ $ok = 1 ] && { echo "$p"; return 0; }
		p=$((p + step))
	done
	return 1
}

# wait_listen PORT PID DEADLINE: wait until something accepts connections on
# 127.0.0.1:PORT; returns 1 if process PID is gone first, 2 at DEADLINE
# (seconds since the epoch)
wait_listen() {
	while ! (: >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
		kill -0 "$2" 2>/dev/null || return 1
		[ "$(date +%s)" -lt "$3" ] || return 2
		sleep 0.1
	done
}

# ---- prerequisites ----------------------------------------------------------

need_python() { [ -x "$PYTHON" ] || skip_or_fail "$PYTHON not found"; }

# need_client: what pubsub_client.py needs, Python's websockets and
# protobuf modules and protoc
need_client() {
	"$PYTHON" -c 'import websockets, google.protobuf' 2>/dev/null ||
		skip_or_fail "$PYTHON lacks the websockets or protobuf modules (Debian: python3-websockets python3-protobuf)"
	command -v "${PROTOC:-protoc}" >/dev/null 2>&1 || skip_or_fail "protoc not found (Debian: protobuf-compiler)"
}

# need_tool COMMAND: COMMAND on PATH (its Debian package has its name)
need_tool() { command -v "$1" >/dev/null 2>&1 || skip_or_fail "$1 not found (Debian: $1)"; }

need_java() {
	local jv
	command -v java >/dev/null 2>&1 || skip_or_fail "java not found (Kafka needs Java 17)"
	jv=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)
	[ "${jv:-0}" -ge 17 ] 2>/dev/null || skip_or_fail "Java ${jv:-?} is too old (Kafka needs 17)"
}

# find_bin: bin := the daemon, $KAFKAGATE_BIN, else $builddir/src/kafkagate,
# else $top_builddir/src/kafkagate, else ./src/kafkagate, else the source
# tree's; made absolute.  Returns 1 if it is not executable there.
find_bin() {
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
	[ -x "$bin" ] || return 1
	bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
}

need_bin() { find_bin || skip_or_fail "kafkagate binary not found at $bin (build it, or set KAFKAGATE_BIN)"; }

# ---- scratch directory --------------------------------------------------------

# scratch PREFIX: W := a new temporary directory; the script's cleanup()
# runs on exit, and INT or TERM exit 1
scratch() {
	W=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
	trap cleanup EXIT
	trap 'exit 1' INT TERM
}

# drop_scratch: remove $W, or keep it with KAFKAGATE_KEEP
drop_scratch() {
	if [ -n "${KAFKAGATE_KEEP:-}" ]; then
		say "kept $W"
	else
		rm -rf "$W"
	fi
}

# show_tails N FILE...: the last N lines of each non-empty FILE, on stderr
show_tails() {
	local n=$1 f
	shift
	for f in "$@"; do
		[ -s "$f" ] || continue
		echo "----- last $n lines of $f" >&2
		tail -n "$n" "$f" >&2
	done
}

# ---- gateways ---------------------------------------------------------------

# start_gateway [VAR=VALUE] NAME LOG PORT BOOTSTRAP [FLAGS...]: start
# `$wrapper $bin -l 127.0.0.1:PORT -b BOOTSTRAP -p /kafka -v FLAGS...` in the
# background, output to LOG, VAR=VALUE (a secret: not shown) in its
# environment only; its pid is $! and is added to gw_pids
start_gateway() {
	local envspec="" name log port bs
	case $1 in *=*) envspec=$1; shift ;; esac
	name=$1 log=$2 port=$3 bs=$4
	shift 4
	local cmd=("$bin" -l "127.0.0.1:$port" -b "$bs" -p /kafka -v "$@")
	say "starting $name: ${envspec:+${envspec%%=*}=... }${wrapper:+$wrapper }${cmd[*]}"
	if [ -n "$envspec" ]; then
		# shellcheck disable=SC2086
		env "$envspec" $wrapper "${cmd[@]}" >"$log" 2>&1 </dev/null 9>&- &
	else
		# shellcheck disable=SC2086
		$wrapper "${cmd[@]}" >"$log" 2>&1 </dev/null 9>&- &
	fi
	gw_pids+=($!)
}

# wait_gateway NAME PORT PID LOG: wait (20 s, scaled) until the gateway
# listens; fails with the tail of LOG if it exits or does not listen in time
wait_gateway() {
	local rc=0
	wait_listen "$2" "$3" $(( $(date +%s) + $(scaled 20) )) || rc=$?
	[ $rc = 0 ] && return 0
	tail -n 50 "$4" >&2 || true
	[ $rc = 1 ] && fail "$1 exited during start-up (log above)"
	fail "$1 is not listening on port $2"
}

# kill_gateways: TERM every gateway in gw_pids, KILL those still there 5 s
# (scaled) later
kill_gateways() {
	local pid
	for pid in ${gw_pids[@]+"${gw_pids[@]}"}; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in ${gw_pids[@]+"${gw_pids[@]}"}; do
		for _ in $(seq 1 $((10 * $(scaled 5)))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	done
	gw_pids=()
}

# stop_gateway NAME PID: after the tests, the gateway must still be running
# and exit 0 within 10 s (scaled) of SIGTERM; if not, says why (KILLs it if
# it hangs) and returns 1
stop_gateway() {
	local name=$1 pid=$2 rc=0
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid" || rc=$?
		say "FAIL: $name died during the tests (exit status $rc)"
		return 1
	fi
	kill -TERM "$pid"
	for _ in $(seq 1 $((10 * $(scaled 10)))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then
		say "FAIL: $name did not exit within $(scaled 10) s of SIGTERM"
		kill -KILL "$pid" 2>/dev/null || true
		return 1
	fi
	wait "$pid" || rc=$?
	if [ $rc != 0 ]; then
		say "FAIL: $name exited with status $rc on SIGTERM"
		return 1
	fi
}

# ---- the tests and afterwards ------------------------------------------------

# test_env: what every Python test program reads
test_env() {
	export KAFKAGATE_PROTO=${KAFKAGATE_PROTO:-$top_srcdir/proto/pubsub.proto}
	export srcdir=$top_srcdir
}

# run_tests SECONDS PROGRAM [ARGS...]: run the Python test program (limit
# SECONDS, scaled); status := 0 if it passed, else 1
run_tests() {
	local limit=$1
	shift
	test_env
	set +e
	timeout --foreground "$(scaled "$limit")" "$PYTHON" "$@"
	status=$?
	set -e
	[ $status = 124 ] && say "the test program timed out"
	[ $status = 0 ] || status=1
}

SANITIZER_RE='ERROR: (AddressSanitizer|LeakSanitizer)|UndefinedBehaviorSanitizer|runtime error:|ERROR SUMMARY: [1-9]'

# sanitizer_report LOG: the reports in LOG, on stderr
sanitizer_report() { grep -E -A 20 "$SANITIZER_RE" "$1" | head -n 60 >&2; }

# check_logs LOG...: a FAIL line and the report for each LOG that holds a
# sanitizer or valgrind report; returns 1 if any does
check_logs() {
	local f rc=0
	for f in "$@"; do
		[ -f "$f" ] && grep -qE "$SANITIZER_RE" "$f" || continue
		say "FAIL: sanitizer or valgrind report in $f"
		sanitizer_report "$f"
		rc=1
	done
	return $rc
}
