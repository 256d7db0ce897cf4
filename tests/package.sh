#!/bin/sh
# package.sh -- the packages and the installation: builds the Debian
# package from the distribution files (`make distdir' into a scratch
# directory, dpkg-buildpackage -b there without the package's own tests),
# runs lintian on it (any E: or W: fails), installs, reinstalls, removes and
# purges it in a throwaway copy of this system's root (an overlay in a
# private mount namespace: the maintainer scripts run for real, the host is
# untouched) and checks the installed daemon, its configuration and the unit
# there (systemd-analyze verify), boots such a copy with systemd
# (systemd-nspawn) to start, reload and stop the service as shipped, rates
# the unit's sandbox (systemd-analyze security), checks `make install
# DESTDIR=' file by file, that a second install keeps an edited
# configuration and what uninstall leaves, and builds the RPM from the same
# files (rpmbuild -ta --nodeps: Debian has rpm but not Fedora's package
# names nor systemd-rpm-macros).
#
# Inside `make distcheck' it skips: the files are the same as in the build
# the distribution was made from, where this test has run.
#
# Exit status: 0 passed, 1 failure, 77 skipped (Automake's SKIP) when a
# prerequisite is missing -- unless CI is set, where that is a failure.
# The overlay install and the boot need root (unshare, mount, nspawn).
# 40 to 75 s on two cores.
#
# Environment: top_builddir, top_srcdir (make check sets them; default .),
# CI, KAFKAGATE_KEEP=1 (keep the scratch directory, and say where).
set -u

top_builddir=$(cd "${top_builddir:-.}" && pwd)
top_srcdir=$(cd "${top_srcdir:-$top_builddir}" && pwd)
# Not the make check's make flags, jobserver and variables (TESTS=...):
# the builds below are builds of their own.
unset MAKEFLAGS MFLAGS MAKELEVEL
MAKE=${MAKE:-make}
pass=0
fail=0
skipped=0

ok() { pass=$((pass + 1)); echo "PASS  $1"; }
bad() { fail=$((fail + 1)); echo "FAIL  $1"; }
ci() { [ -n "${CI:-}" ] && [ "$CI" != false ] && [ "$CI" != 0 ]; }
# skip NAME: a prerequisite of one check is missing (a failure in CI)
skip() {
	if ci; then
		bad "$1 (CI is set: prerequisites are required)"
	else
		skipped=$((skipped + 1)); echo "SKIP  $1"
	fi
}
# skip_all REASON: a prerequisite of the whole test is missing
skip_all() {
	if ci; then
		echo "package.sh: FAIL: $* (CI is set: prerequisites are required)"
		exit 1
	fi
	echo "SKIP: $*"
	exit 77
}
# indent FILE [LINES]: show the end of a log under a failure
indent() { tail -n "${2:-30}" "$1" | sed 's/^/      /'; }
summary() {
	if [ "$skipped" -gt 0 ]; then
		echo "$pass passed, $fail failed, $skipped skipped"
	else
		echo "$pass passed, $fail failed"
	fi
	[ "$fail" -eq 0 ]
	exit
}

# ---- prerequisites --------------------------------------------------------
case $top_builddir in
*/_build/sub)
	if [ "$(cd "$top_builddir/../.." && pwd)" = "$top_srcdir" ]; then
		echo "SKIP: inside make distcheck (the build that made the tarball ran this test on the same files)"
		exit 77
	fi
	;;
esac
[ -f "$top_builddir/Makefile" ] || skip_all "$top_builddir is not a configured build directory"
missing=
for tool in dpkg-buildpackage dpkg-checkbuilddeps dh lintian; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
[ -z "$missing" ] || skip_all "missing:$missing (scripts/install-deps.sh installs them)"
bd=$(dpkg-checkbuilddeps -Pnocheck "$top_srcdir/debian/control" 2>&1) ||
    skip_all "the package's build dependencies: $bd"

# make -C DIR print VAR...: the values of Makefile variables, expanded
mkvars() {
	dir=$1
	shift
	printf 'kg-print-vars:\n\t@echo %s\n' "$*" |
	    $MAKE -s -C "$dir" -f Makefile -f - kg-print-vars
}
version=$(mkvars "$top_builddir" '$(VERSION)')
[ -n "$version" ] || skip_all "no VERSION in $top_builddir/Makefile"

T=$(mktemp -d "${TMPDIR:-/tmp}/kafkagate-pkg.XXXXXX")
cleanup() {
	if [ "${KAFKAGATE_KEEP:-}" = 1 ]; then
		echo "package.sh: kept $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- the distribution files -----------------------------------------------
src=$T/kafkagate-$version
if $MAKE -s -C "$top_builddir" distdir distdir="$src" >"$T/distdir.log" 2>&1; then
	ok "make distdir"
else
	bad "make distdir"; indent "$T/distdir.log"
	summary
fi
(cd "$T" && tar czf "kafkagate-$version.tar.gz" "kafkagate-$version") ||
	bad "tar of the distribution files"

# The packages carry the version of configure.ac.
deb_version=$(sed -n '1s/^kafkagate (\([^)]*\)).*/\1/p' "$src/debian/changelog")
case $deb_version in
"$version"-*) ok "debian/changelog: $deb_version" ;;
*) bad "debian/changelog: version $deb_version, configure.ac says $version" ;;
esac
rpm_version=$(sed -n 's/^Version:[[:space:]]*//p' "$src/packaging/rpm/kafkagate.spec")
if [ "$rpm_version" = "$version" ]; then
	ok "kafkagate.spec: Version $rpm_version"
else
	bad "kafkagate.spec: Version $rpm_version, configure.ac says $version"
fi

# ---- the Debian package ---------------------------------------------------
# nocheck: the unit tests run in this very make check already.
if (cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=2" \
    dpkg-buildpackage -us -uc -b -Pnocheck) >"$T/deb-build.log" 2>&1; then
	ok "dpkg-buildpackage -b"
else
	bad "dpkg-buildpackage -b"; indent "$T/deb-build.log" 40
	summary
fi
deb=$(ls "$T"/kafkagate_"$version"-*_*.deb 2>/dev/null | head -n 1)
dbgsym=$(ls "$T"/kafkagate-dbgsym_"$version"-*_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || { bad "no kafkagate_$version-*.deb"; summary; }

# shellcheck disable=SC2086
lintian $deb $dbgsym >"$T/lintian.out" 2>&1
lrc=$?
if grep -q '^[EW]: ' "$T/lintian.out"; then
	bad "lintian: errors or warnings"; grep '^[EW]: ' "$T/lintian.out" | sed 's/^/      /'
elif [ $lrc != 0 ]; then
	bad "lintian: exit status $lrc"; indent "$T/lintian.out"
else
	ok "lintian: no error, no warning"
fi

dpkg-deb -c "$deb" | awk '{ print $6 }' >"$T/deb.files"
missing=
for f in ./usr/sbin/kafkagate ./usr/share/man/man8/kafkagate.8.gz \
    ./usr/share/man/man5/kafkagate.conf.5.gz ./etc/kafkagate/kafkagate.yaml \
    ./lib/systemd/system/kafkagate.service ./usr/share/doc/kafkagate/copyright \
    ./usr/share/doc/kafkagate/README.md.gz ./usr/share/doc/kafkagate/LICENSE.gz \
    ./usr/share/doc/kafkagate/README.Debian \
    ./usr/share/doc/kafkagate/examples/tls-scram.yaml; do
	grep -qx "$f" "$T/deb.files" || missing="$missing $f"
done
[ -z "$missing" ] && ok "the package holds every file" || bad "the package lacks:$missing"
dpkg-deb -I "$deb" conffiles >"$T/conffiles" 2>&1
grep -qx /etc/kafkagate/kafkagate.yaml "$T/conffiles" &&
    ok "/etc/kafkagate/kafkagate.yaml is a conffile" ||
    { bad "/etc/kafkagate/kafkagate.yaml is no conffile"; indent "$T/conffiles"; }
depends=$(dpkg-deb -f "$deb" Depends)
case $depends in
*libsasl2-modules*) ok "Depends: libsasl2-modules and the libraries" ;;
*) bad "Depends lacks libsasl2-modules: $depends" ;;
esac

# The unit's sandbox, rated as systemd rates it.  The rest of the exposure
# is the network, which a gateway needs (AF_INET, no IPAddressDeny).
dpkg-deb -x "$deb" "$T/x"
unit=$T/x/lib/systemd/system/kafkagate.service
if ! command -v systemd-analyze >/dev/null 2>&1; then
	skip "systemd-analyze security (no systemd-analyze)"
elif systemd-analyze security --offline=true "$unit" >"$T/security.out" 2>&1; then
	score=$(sed -n 's/.*Overall exposure level for kafkagate.service: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p' \
	    "$T/security.out")
	if [ -n "$score" ] && echo "$score" | awk '{ exit !($1 <= 1.5) }'; then
		ok "systemd-analyze security: exposure $score"
	else
		bad "systemd-analyze security: exposure ${score:-unknown}, more than 1.5"
		grep '✗' "$T/security.out" | sed 's/^/      /'
	fi
elif grep -q "offline" "$T/security.out"; then
	skip "systemd-analyze security --offline (systemd 250 or later)"
else
	bad "systemd-analyze security"; indent "$T/security.out"
fi

# ---- install, reinstall, remove, purge in a copy of this root ---------------
# A debootstrap root would cost a download of minutes per run; an empty root
# (dpkg --root) cannot run the maintainer scripts, which dpkg runs chrooted
# into it.  An overlay over / in a private mount namespace is a writable
# copy of this system (which has the run-time dependencies, since it builds
# kafkagate): dpkg, deb-systemd-helper and the daemon run inside it for
# real, every write lands in a tmpfs that goes away with the namespace.
cat >"$T/inside.sh" <<'EOF'
# Run by package.sh in the copy of the root: one PASS or FAIL line a check.
r=/tmp/kafkagate.deb
c=/etc/kafkagate/kafkagate.yaml
w=/etc/systemd/system/multi-user.target.wants/kafkagate.service
ck() { if eval "$2"; then echo "PASS  $1"; else echo "FAIL  $1"; fi; }
ck "dpkg -i" 'dpkg -i $r >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log; false; }'
ck "installed" '[ "$(dpkg-query -W -f="\${Status}" kafkagate)" = "install ok installed" ]'
ck "postinst enabled the unit" '[ -L $w ]'
ck "kafkagate -n -c $c" 'kafkagate -n -c $c >/tmp/n.out 2>&1 &&
    grep -q "configuration OK" /tmp/n.out || { cat /tmp/n.out; false; }'
ck "the configuration listens on the loopback only" 'grep -q "^listen " /tmp/n.out &&
    ! grep "^listen " /tmp/n.out | grep -qv "^listen 127\.\|^listen \[::1\]"'
ck "man finds kafkagate(8) and kafkagate.conf(5)" 'man -w kafkagate.8 kafkagate.conf.5 >/dev/null 2>&1'
# verify says what it ignores (an unknown key, a bad value) but exits 0
ck "systemd-analyze verify: nothing to say" 'systemd-analyze verify /lib/systemd/system/kafkagate.service \
    >/tmp/v.out 2>&1 && [ ! -s /tmp/v.out ] || { cat /tmp/v.out; false; }'
echo "# edited" >>$c
ck "dpkg -i again keeps an edited configuration" 'dpkg -i $r >/tmp/dpkg.log 2>&1 &&
    grep -q "^# edited" $c || { cat /tmp/dpkg.log; false; }'
ck "dpkg -r keeps the configuration" 'dpkg -r kafkagate >/tmp/dpkg.log 2>&1 &&
    [ ! -e /usr/sbin/kafkagate ] && [ -f $c ] || { cat /tmp/dpkg.log; false; }'
ck "dpkg -P removes it and the unit link" 'dpkg -P kafkagate >/tmp/dpkg.log 2>&1 &&
    [ ! -e /etc/kafkagate ] && [ ! -L $w ] || { cat /tmp/dpkg.log; false; }'
EOF
if [ "$(id -u)" != 0 ]; then
	skip "install in a copy of this root (needs root: unshare, mount)"
else
	o=$T/ovl
	mkdir -p "$o"
	# shellcheck disable=SC2016
	unshare -m sh -c '
	    set -e
	    o=$1 deb=$2 script=$3
	    mount -t tmpfs kafkagate-pkg "$o"
	    mkdir "$o/upper" "$o/work" "$o/root"
	    mount -t overlay kafkagate-pkg \
	        -o lowerdir=/,upperdir="$o/upper",workdir="$o/work" "$o/root"
	    [ -x "$o/root/usr/bin/dpkg" ] || { echo "no /usr in the overlay of /"; exit 3; }
	    mount -t proc proc "$o/root/proc"
	    cp "$deb" "$o/root/tmp/kafkagate.deb"
	    cp "$script" "$o/root/tmp/inside.sh"
	    exec chroot "$o/root" /bin/sh /tmp/inside.sh
	' kafkagate-pkg "$o" "$deb" "$T/inside.sh" >"$T/inside.out" 2>&1
	rc=$?
	if grep -q '^PASS  \|^FAIL  ' "$T/inside.out"; then
		sed -n 's/^\(PASS\|FAIL\)  /&copy of root: /p' "$T/inside.out"
		grep -v '^PASS  \|^FAIL  ' "$T/inside.out" | sed 's/^/      /'
		pass=$((pass + $(grep -c '^PASS  ' "$T/inside.out")))
		fail=$((fail + $(grep -c '^FAIL  ' "$T/inside.out")))
	elif [ $rc = 3 ] || ! unshare -m true 2>/dev/null; then
		skip "install in a copy of this root (no mount namespace or overlay here)"
		indent "$T/inside.out" 5
	else
		bad "install in a copy of this root: the overlay could not be set up"
		indent "$T/inside.out"
	fi
fi

# ---- the service under systemd ----------------------------------------------
# The same kind of copy, with the package installed, booted with systemd
# (systemd-nspawn, a private network, a target of only the service and the
# checks): the unit as the package ships it (Type=notify, the whole
# sandbox) must start the daemon, which must answer a WebSocket upgrade,
# reload and stop cleanly.  A system call the filter refuses, a file the
# dynamic user cannot read or a missing READY=1 fails here, nowhere else.
# A start is given 20 s, not 90 (a drop-in), to keep a failure short.
cat >"$T/boot-check.sh" <<'EOF'
#!/bin/sh
# Run in the booted copy by kafkagate-pkg-check.service.
exec >/out/result 2>&1
ck() { if eval "$2"; then echo "PASS  $1"; else echo "FAIL  $1"; fi; }
upgrade() {
	python3 - <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", 9080), 5)
s.sendall(b"GET /kafka HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
          b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          b"Sec-WebSocket-Version: 13\r\n\r\n")
sys.exit(0 if s.recv(64).startswith(b"HTTP/1.1 101") else 1)
PY
}
st() { grep -q "^$1:[[:space:]]*$2\$" /proc/$pid/status; }
ck "systemd started it (Type=notify: READY=1)" '[ "$(systemctl is-active kafkagate)" = active ]'
pid=$(systemctl show -p MainPID --value kafkagate)
ck "it runs as a dynamic user, without capabilities, under seccomp" \
    'st Uid "[1-9][0-9]*.*" && st CapEff 0000000000000000 && st NoNewPrivs 1 && st Seccomp 2'
ck "it answers a WebSocket upgrade on ws://127.0.0.1:9080/kafka" upgrade
ck "systemctl reload" 'systemctl reload kafkagate && sleep 1 &&
    [ "$(systemctl is-active kafkagate)" = active ]'
ck "systemctl stop: exit 0" 'systemctl stop kafkagate &&
    [ "$(systemctl show -p Result --value kafkagate)" = success ]'
journalctl --no-pager -o cat -u kafkagate | tail -n 15 | sed 's/^/journal: /'
systemctl --no-block poweroff
EOF
if [ "$(id -u)" != 0 ] || ! command -v systemd-nspawn >/dev/null 2>&1; then
	skip "the service under systemd (needs root and systemd-nspawn: systemd-container)"
else
	mkdir -p "$T/boot" "$T/bootns"
	# shellcheck disable=SC2016
	timeout 180 unshare -m sh -c '
	    set -e
	    o=$1 deb=$2 check=$3 out=$4
	    mount -t tmpfs kafkagate-pkg "$o"
	    mkdir "$o/upper" "$o/work" "$o/root"
	    mount -t overlay kafkagate-pkg \
	        -o lowerdir=/,upperdir="$o/upper",workdir="$o/work" "$o/root"
	    r=$o/root
	    [ -x "$r/usr/bin/dpkg" ] || { echo "no /usr in the overlay of /"; exit 3; }
	    # nspawn keeps its state in /run: in this namespace only
	    mount -t tmpfs kafkagate-pkg-run /run
	    cp "$deb" "$r/tmp/kafkagate.deb"
	    chroot "$r" dpkg -i /tmp/kafkagate.deb >/dev/null
	    od -An -N16 -tx1 /dev/urandom | tr -d " \n" >"$r/etc/machine-id"
	    echo >>"$r/etc/machine-id"
	    mkdir -p "$r/etc/systemd/system/kafkagate.service.d"
	    printf "[Service]\nTimeoutStartSec=20s\n" \
	        >"$r/etc/systemd/system/kafkagate.service.d/kafkagate-pkg.conf"
	    cp "$check" "$r/usr/local/sbin/kafkagate-pkg-check"
	    chmod 755 "$r/usr/local/sbin/kafkagate-pkg-check"
	    printf "[Unit]\nAfter=kafkagate.service\n[Service]\nType=oneshot\nExecStart=/usr/local/sbin/kafkagate-pkg-check\n" \
	        >"$r/etc/systemd/system/kafkagate-pkg-check.service"
	    printf "[Unit]\nWants=kafkagate.service kafkagate-pkg-check.service\n" \
	        >"$r/etc/systemd/system/kafkagate-pkg.target"
	    exec systemd-nspawn -q -D "$r" --boot --register=no --keep-unit \
	        --private-network --link-journal=no --bind="$out:/out" \
	        systemd.unit=kafkagate-pkg.target
	' kafkagate-pkg "$T/bootns" "$deb" "$T/boot-check.sh" "$T/boot" \
	    >"$T/boot.out" 2>&1
	rc=$?
	if grep -q '^PASS  \|^FAIL  ' "$T/boot/result" 2>/dev/null; then
		sed -n 's/^\(PASS\|FAIL\)  /&under systemd: /p' "$T/boot/result"
		pass=$((pass + $(grep -c '^PASS  ' "$T/boot/result")))
		fail=$((fail + $(grep -c '^FAIL  ' "$T/boot/result")))
		if grep -q '^FAIL  ' "$T/boot/result"; then
			grep '^journal: ' "$T/boot/result" | sed 's/^/      /'
		fi
	elif [ $rc = 3 ]; then
		skip "the service under systemd (no overlay of / here)"
	else
		bad "the service under systemd: the copy did not boot (exit $rc)"
		indent "$T/boot.out" 20
	fi
fi

# ---- make install DESTDIR= ------------------------------------------------
# check_install BUILDDIR DESTDIR: every file `make install' should put there,
# with the paths BUILDDIR was configured with; the unit only when configure
# was given --with-systemdsystemunitdir.
check_install() {
	b=$1 d=$2
	# shellcheck disable=SC2046
	set -- $(mkvars "$b" '$(sbindir) $(sysconfdir) $(mandir) $(docdir) $(systemdsystemunitdir)')
	sbindir=$1 sysconfdir=$2 mandir=$3 docdir=$4 unitdir=${5:-}
	missing=
	for f in "$sbindir/kafkagate" "$mandir/man8/kafkagate.8" \
	    "$mandir/man5/kafkagate.conf.5" "$sysconfdir/kafkagate/kafkagate.yaml" \
	    "$docdir/README.md" "$docdir/LICENSE" "$docdir/examples/kafkagate.yaml" \
	    "$docdir/examples/tls-scram.yaml"; do
		[ -f "$d$f" ] || missing="$missing $f"
	done
	[ -z "$missing" ] && ok "make install DESTDIR= in $b: every file" ||
	    bad "make install DESTDIR= in $b lacks:$missing"
	cmp -s "$top_srcdir/examples/kafkagate.yaml" "$d$sysconfdir/kafkagate/kafkagate.yaml" &&
	    ok "the configuration is examples/kafkagate.yaml" ||
	    bad "the configuration is not examples/kafkagate.yaml"
	n=$(find "$d" -name kafkagate.service | wc -l)
	if [ -z "$unitdir" ]; then
		[ "$n" = 0 ] && ok "no unit installed without --with-systemdsystemunitdir" ||
		    bad "a unit installed without --with-systemdsystemunitdir: $(find "$d" -name kafkagate.service)"
	elif [ -f "$d$unitdir/kafkagate.service" ] &&
	    grep -qx "ExecStart=$sbindir/kafkagate -c $sysconfdir/kafkagate/kafkagate.yaml" \
	    "$d$unitdir/kafkagate.service"; then
		ok "the unit in $unitdir, with this build's paths"
	else
		bad "no unit in $unitdir with ExecStart=$sbindir/kafkagate -c $sysconfdir/kafkagate/kafkagate.yaml"
	fi
}

# The package's build tree: configured as Debian's (/usr, /etc, the unit).
if $MAKE -C "$src" install DESTDIR="$T/dest-deb" >"$T/install-deb.log" 2>&1; then
	check_install "$src" "$T/dest-deb"
else
	bad "make install DESTDIR= in the package's build tree"; indent "$T/install-deb.log"
fi

# This build, as configured: install, edit, install again, uninstall.
d=$T/dest
if $MAKE -C "$top_builddir" install DESTDIR="$d" >"$T/install.log" 2>&1; then
	check_install "$top_builddir" "$d"
	conf=$d$(mkvars "$top_builddir" '$(sysconfdir)')/kafkagate/kafkagate.yaml
	echo "# edited" >>"$conf"
	if $MAKE -C "$top_builddir" install DESTDIR="$d" >"$T/install2.log" 2>&1 &&
	    grep -q '^# edited' "$conf" && grep -q 'exists: kept' "$T/install2.log"; then
		ok "a second make install keeps an edited configuration"
	else
		bad "a second make install did not keep an edited configuration"
		indent "$T/install2.log" 10
	fi
	$MAKE -C "$top_builddir" uninstall DESTDIR="$d" >"$T/uninstall.log" 2>&1
	left=$(find "$d" -type f)
	[ "$left" = "$conf" ] && ok "make uninstall keeps only the edited configuration" ||
	    { bad "make uninstall left:"; echo "$left" | sed 's/^/      /'; }
	rm -f "$conf"
	$MAKE -C "$top_builddir" install DESTDIR="$d" >/dev/null 2>&1
	$MAKE -C "$top_builddir" uninstall DESTDIR="$d" >"$T/uninstall.log" 2>&1
	left=$(find "$d" -type f)
	[ -z "$left" ] && ok "make uninstall removes an unchanged configuration" ||
	    { bad "make uninstall left:"; echo "$left" | sed 's/^/      /'; }
else
	bad "make install DESTDIR="; indent "$T/install.log"
fi

# ---- the RPM ----------------------------------------------------------------
# rpmbuild from the tarball, which carries the spec.  --nodeps: the
# BuildRequires are Fedora's names.  Debian's rpm lacks systemd-rpm-macros:
# %{_unitdir} is given here, and the %systemd_post scriptlets stay
# unexpanded (they are checked on Fedora only).
set -- --nodeps --without check --define "_topdir $T/rpm"
if ! command -v rpmbuild >/dev/null 2>&1; then
	skip "rpmbuild (no rpm)"
	summary
fi
[ "$(rpm --eval '%{_unitdir}')" != '%{_unitdir}' ] ||
    set -- "$@" --define "_unitdir /usr/lib/systemd/system"
if rpmbuild -ta "$@" "$T/kafkagate-$version.tar.gz" >"$T/rpm.log" 2>&1; then
	ok "rpmbuild -ta --nodeps"
	rpmf=$(ls "$T"/rpm/RPMS/*/kafkagate-"$version"-*.rpm 2>/dev/null | head -n 1)
	rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpmf" >"$T/rpm.files" 2>&1
	missing=
	for f in /usr/sbin/kafkagate /usr/lib/systemd/system/kafkagate.service \
	    /etc/kafkagate/kafkagate.yaml; do
		grep -q " $f\$" "$T/rpm.files" || missing="$missing $f"
	done
	grep -q ' /usr/share/man/man5/kafkagate.conf.5' "$T/rpm.files" || missing="$missing kafkagate.conf.5"
	grep -q '/examples/tls-scram.yaml$' "$T/rpm.files" || missing="$missing examples/"
	[ -z "$missing" ] && ok "the RPM holds every file" || bad "the RPM lacks:$missing"
	grep -q '^cn /etc/kafkagate/kafkagate.yaml$' "$T/rpm.files" &&
	    ok "the RPM's configuration is %config(noreplace)" ||
	    bad "the RPM's configuration is not %config(noreplace)"
else
	bad "rpmbuild -ta --nodeps"; indent "$T/rpm.log"
fi

summary
