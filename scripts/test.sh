#!/bin/sh
# test.sh -- build kafkagate from a fresh checkout and run every test:
# unit tests, the command-line tests and the real-Kafka integration suites
# (README.md's commands and snippets among them) under ASan/UBSan, the man
# page lint, a short run of every fuzz target (scripts/fuzz-smoke.sh), a
# clang -Werror build with the unit tests, then `make distcheck` (the
# tarball builds and passes its tests with -Werror).  Installs what it
# needs (Debian/Ubuntu).
#
#   scripts/test.sh              everything (about 10 minutes on two cores)
#   scripts/test.sh --no-distcheck
#   scripts/test.sh --summary    only count the programs and cases of the last
#                                run from the logs in build/
#
# The last two lines count the test programs make check ran in build/ and
# the test cases they ran, from their logs: a Check binary's "N%: Checks: X,
# Failures: Y, Errors: Z" line, the last "N passed, M failed[, K skipped]"
# line of tests/cli.sh and of each integration suite; a log without either
# counts as one case (and says so).  The very last line is exactly
# "N passed, M failed", or "N passed, M failed, K skipped": CI reads it.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# summary BUILDDIR: print "scripts/test.sh: P test programs, C test cases"
# (with the programs that failed or were skipped, if any), then the cases'
# "N passed, M failed[, K skipped]".  The logs with a .trs next to them
# are the test programs'.
summary() {
	for trs in "$1"/tests/*.trs "$1"/tests/integration/*.trs; do
		[ -f "$trs" ] && [ -f "${trs%.trs}.log" ] || continue
		printf '%s\n' "${trs%.trs}.log"
	done | awk -v top="$1/" '
	function note(msg) { printf "scripts/test.sh: %s\n", msg }
	{
		lf = $0; name = substr(lf, length(top) + 1); sub(/\.log$/, "", name)
		result = ""
		trs = lf; sub(/\.log$/, ".trs", trs)
		while ((getline line < trs) > 0)
			if (line ~ /^:test-result: /) { result = line; sub(/^:test-result: /, "", result) }
		close(trs)
		checks = -1; p = -1
		while ((getline line < lf) > 0) {
			if (line ~ /^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+/) {
				split(line, w, /[ ,]+/)
				if (checks < 0) { checks = 0; cf = 0 }
				checks += w[3]; cf += w[5] + w[7]
			} else if (line ~ /^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$/) {
				# run.sh runs two programs: add up every such line
				split(line, w, /[ ,]+/)
				if (p < 0) { p = 0; f = 0; k = 0 }
				p += w[1]; f += w[3]; k += (w[5] == "") ? 0 : w[5]
			}
		}
		close(lf)
		programs++
		if (result == "SKIP") pskip++
		else if (result != "PASS" && result != "XFAIL") pfail++
		if (checks >= 0) {
			passed += checks - cf; failed += cf
		} else if (p >= 0) {
			passed += p; failed += f; skipped += k
		} else if (result == "SKIP") {
			skipped++
			note(name ": skipped as a whole; counted as one skipped case")
		} else {
			if (result == "PASS" || result == "XFAIL") passed++; else failed++
			note(name ": no test count in its log; counted as one case")
		}
	}
	END {
		extra = ""
		if (pfail || pskip)
			extra = sprintf(" (%d failed, %d skipped)", pfail, pskip)
		note(sprintf("%d test programs%s, %d test cases", programs, extra, passed + failed + skipped))
		if (skipped)
			printf "%d passed, %d failed, %d skipped\n", passed, failed, skipped
		else
			printf "%d passed, %d failed\n", passed, failed
	}'
}

if [ "${1:-}" = --summary ]; then
	summary "$top/build"
	exit
fi

"$top/scripts/install-deps.sh"

jobs=$(nproc 2>/dev/null || echo 2)
[ -x configure ] || autoreconf -fi
mkdir -p build
cd build
../configure --enable-werror --enable-sanitizers --with-check
make -j"$jobs"
# The integration suite fails (never skips) when CI is set.
if ! make -j"$jobs" check; then
	for f in tests/*.log tests/integration/*.log; do
		[ -f "$f" ] || continue
		grep -q '^FAIL\|^ERROR' "${f%.log}.trs" 2>/dev/null || continue
		echo "==== $f"; tail -n 80 "$f"
	done
	summary "$top/build"
	exit 1
fi
counts=$(summary "$top/build")
# The benchmark suite at tiny sizes, no timing asserted: it must keep
# running (about 30 s with its own broker).
make bench-smoke >bench-smoke.log 2>&1 || {
	tail -n 60 bench-smoke.log
	echo "scripts/test.sh: the benchmark smoke run failed (build/bench-smoke.log)" >&2
	exit 1
}
# The fuzz targets, FUZZ_SECONDS (20) each, in build-fuzz/ (about 3 min),
# and a second compiler: clang with warnings as errors, unit tests only.
# That build also takes the portable paths: the user's LIBS must survive
# configure, and arc4random_uniform() is taken as missing (glibc < 2.36:
# Ubuntu 22.04, RHEL 9), so the getrandom() fallback is compiled and tested.
if command -v clang >/dev/null 2>&1; then
	"$top/scripts/fuzz-smoke.sh"
	mkdir -p "$top/build-clang"
	(cd "$top/build-clang" &&
	    CC=clang ../configure -q --enable-werror --with-check \
	    LIBS=-lm ac_cv_func_arc4random_uniform=no &&
	    grep -q '^LIBS = .*-lm' Makefile &&
	    make -j"$jobs" >/dev/null &&
	    make -j"$jobs" check TESTS='$(check_PROGRAMS) tests/cli.sh') || {
		echo "scripts/test.sh: the clang build or its unit tests failed" >&2
		exit 1
	}
elif [ -n "${CI:-}" ]; then
	echo "scripts/test.sh: clang is missing, the fuzz smoke test cannot run" >&2
	exit 1
else
	echo "scripts/test.sh: clang not found: fuzz smoke test skipped" >&2
fi
if [ "${1:-}" != "--no-distcheck" ]; then
	make distcheck
fi
printf '%s\n' "$counts"
