#!/bin/sh
# fuzz-smoke.sh -- build the libFuzzer targets (clang, --enable-fuzzing) in
# build-fuzz/ and run each for a bounded time over its seed corpus,
# fuzz/corpus/<target>/.  Exits non-zero if any target reports a crash, a
# leak, undefined behaviour, a timeout or a failed check.
#
#   scripts/fuzz-smoke.sh [target...]     default: every target
#
# Environment: FUZZ_SECONDS (per target, default 20), FUZZ_CC (clang),
# FUZZ_BUILDDIR (build-fuzz/ in the source tree).  New inputs go to
# $FUZZ_BUILDDIR/fuzz-corpus/<target>/, reproducers of failures to
# $FUZZ_BUILDDIR/fuzz-artifacts/<target>/, logs to fuzz-<target>.log.
# Reproduce with: build-fuzz/fuzz/<target> <file>
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
secs=${FUZZ_SECONDS:-20}
cc=${FUZZ_CC:-clang}
builddir=${FUZZ_BUILDDIR:-$top/build-fuzz}
targets=${*:-fuzz_records fuzz_kproto fuzz_http fuzz_pubsub fuzz_ws_frames fuzz_jwt
    fuzz_auth}

if ! command -v "$cc" >/dev/null 2>&1; then
	echo "fuzz-smoke: $cc not found (Debian: clang libclang-rt-14-dev;" \
	    "scripts/install-deps.sh installs them)" >&2
	exit 1
fi
[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi)
mkdir -p "$builddir"
cd "$builddir"
[ -f .gitignore ] || echo '*' > .gitignore
if [ ! -f config.status ] || ! grep -q 'enable-fuzzing' config.status; then
	CC=$cc "$top/configure" --enable-fuzzing --with-check=no >configure.log 2>&1 || {
		tail -n 30 configure.log >&2
		echo "fuzz-smoke: configure failed (see $builddir/configure.log)" >&2
		exit 1
	}
fi
jobs=$(nproc 2>/dev/null || echo 2)
make -j"$jobs" fuzz-targets

# Sanitizer findings must end the run, so that libFuzzer saves the input.
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS ASAN_OPTIONS

bad=0
for t in $targets; do
	seeds=$top/fuzz/corpus/$t
	work=$builddir/fuzz-corpus/$t
	art=$builddir/fuzz-artifacts/$t
	log=$builddir/fuzz-$t.log
	mkdir -p "$work" "$art"
	[ -d "$seeds" ] || seeds=
	rc=0
	# -timeout: one input taking longer is a hang; timeout(1) is the
	# last resort if the fuzzer itself wedges.
	# shellcheck disable=SC2086
	timeout $((secs * 3 + 60)) "./fuzz/$t" -max_total_time="$secs" \
	    -timeout=25 -rss_limit_mb=2560 -print_final_stats=1 \
	    -artifact_prefix="$art/" "$work" $seeds >"$log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ] || grep -q 'runtime error:\|ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|ERROR: libFuzzer' "$log"; then
		bad=$((bad + 1))
		echo "==== $t: exit $rc; the end of $log:"
		tail -n 60 "$log"
		for f in "$art"/*; do
			[ -f "$f" ] && echo "fuzz-smoke: $t: reproducer $f"
		done
		echo "fuzz-smoke: $t: FAILED"
		continue
	fi
	awk -v t="$t" '
		/^#[0-9]+.*(DONE|NEW|REDUCE|pulse|INITED)/ {
			for (i = 1; i < NF; i++) {
				if ($i == "cov:") cov = $(i + 1)
				if ($i == "ft:") ft = $(i + 1)
				if ($i == "corp:") corp = $(i + 1)
			}
		}
		/^stat::number_of_executed_units:/ { execs = $2 }
		/^stat::average_exec_per_sec:/ { rate = $2 }
		END {
			printf "fuzz-smoke: %s: ok, %d execs (%d/s), cov %s, ft %s, corpus %s\n",
			    t, execs, rate, cov, ft, corp
		}' "$log"
done
n=$(echo "$targets" | wc -w)
echo "fuzz-smoke: $n targets, $((n - bad)) clean, $bad with findings (${secs} s each)"
[ "$bad" -eq 0 ]
