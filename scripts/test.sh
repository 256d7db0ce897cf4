#!/bin/sh
# test.sh -- build kafkagate from a fresh checkout and run every test:
# unit tests and the real-Kafka integration suite under ASan/UBSan, the
# man page lint, a short run of every fuzz target (scripts/fuzz-smoke.sh),
# a clang -Werror build with the unit tests,
# then `make distcheck` (the tarball builds and passes its tests with
# -Werror).  Installs what it needs (Debian/Ubuntu).
#
#   scripts/test.sh              everything
#   scripts/test.sh --no-distcheck
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
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
	exit 1
fi
summary=$(awk '/^# (PASS|FAIL|SKIP|ERROR):/ { n[$2] = $3 } END {
	printf "%d passed, %d failed, %d skipped", n["PASS:"], n["FAIL:"] + n["ERROR:"], n["SKIP:"] }' test-suite.log)
# The fuzz targets, FUZZ_SECONDS (20) each, in build-fuzz/ (about 3 min),
# and a second compiler: clang with warnings as errors, unit tests only.
if command -v clang >/dev/null 2>&1; then
	"$top/scripts/fuzz-smoke.sh"
	mkdir -p "$top/build-clang"
	(cd "$top/build-clang" &&
	    CC=clang ../configure -q --enable-werror --with-check &&
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
echo "scripts/test.sh: test programs: $summary"
echo "$summary"
