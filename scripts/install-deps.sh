#!/bin/sh
# install-deps.sh -- install what building and testing kafkagate needs on
# Debian 12 / Ubuntu 22.04+ (run as root, or with sudo available).
#
#   scripts/install-deps.sh          build + unit tests + integration tests
#   scripts/install-deps.sh --build  only what ./configure && make need
set -eu

build="build-essential autoconf automake autoconf-archive pkg-config
 libev-dev libprotobuf-c-dev protobuf-c-compiler libmbedtls-dev
 libsasl2-dev libsasl2-modules libyaml-dev zlib1g-dev
 liblz4-dev libzstd-dev libsnappy-dev check mandoc"
# The integration suite: a real Kafka broker (Java 17 + Maven resolve the
# jars from Maven Central), kcat to produce data, and an independent
# Python client (websockets + protobuf, protoc for its generated code);
# python3-confluent-kafka for real transactions (librdkafka's transactional
# producer, test data only: the product never links librdkafka); prlimit
# and unshare (util-linux) for the hardening suite; librdkafka-dev for the
# benchmarks' reference consumer (bench/, never the product).
integration="default-jre-headless maven kcat python3 python3-websockets
 python3-protobuf protobuf-compiler curl openssl python3-confluent-kafka
 util-linux mount librdkafka-dev"
# The packaging test (tests/package.sh): dpkg-buildpackage with debhelper
# (which brings dh-autoreconf; no fakeroot: Rules-Requires-Root: no),
# lintian, rpmbuild from Debian's rpm, systemd-analyze (verify, security)
# and man (the unit's Documentation= pages) from systemd and man-db, and
# systemd-nspawn (systemd-container) to boot a copy of the system and run
# the service under systemd.
integration="$integration dpkg-dev debhelper lintian rpm systemd man-db
 systemd-container"
# The fuzz smoke test (scripts/fuzz-smoke.sh): clang with libFuzzer.  The
# fuzzer and sanitizer runtimes are libclang-rt-N-dev on Debian 12, only
# recommended by clang, so it is added below by clang's version.
integration="$integration clang"
# The admin endpoint's test (tests/integration/admin.sh) checks /metrics
# with promtool, which comes with Debian's prometheus package; the
# Prometheus server it would start is stopped again below.
integration="$integration prometheus"

pkgs=$build
[ "${1:-}" = "--build" ] || pkgs="$build $integration"

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
	    missing="$missing $p"
done
# Java 17 may come from another package than default-jre-headless.
if command -v java >/dev/null 2>&1; then
	missing=$(echo "$missing" | sed 's/default-jre-headless//')
fi
if [ -n "$(echo "$missing" | tr -d ' ')" ]; then
	echo "install-deps: installing:$missing" >&2
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
	case " $missing " in
	*" prometheus "*)
		# Only promtool is wanted: no server listening on :9090.
		if command -v systemctl >/dev/null 2>&1; then
			$SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
		fi ;;
	esac
fi
if [ "${1:-}" != "--build" ] && command -v clang >/dev/null 2>&1; then
	rt=libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev
	if ! dpkg-query -W -f='${Status}' "$rt" 2>/dev/null | grep -q 'ok installed'; then
		[ -n "$(echo "$missing" | tr -d ' ')" ] || $SUDO apt-get update -qq
		# Older releases (Ubuntu 22.04) ship the runtimes with clang.
		if apt-cache show "$rt" >/dev/null 2>&1; then
			echo "install-deps: installing: $rt" >&2
			DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
			    --no-install-recommends "$rt"
		fi
	fi
fi
