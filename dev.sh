#!/bin/sh
# dev.sh: set up a Debian 12 machine for peerkey, build it, and run it.
#
#   ./dev.sh demo      install what is missing, build, run the cluster demo
#   ./dev.sh check     install what is missing, build twice (plain and
#                      ASan/UBSan), run the whole test suite on both, say
#                      (on stderr) each suite's counts and time as it
#                      ends, and print "N passed, N failed" for the whole
#                      run
#   ./dev.sh deps      only install the Debian packages
#   ./dev.sh build     only install and build (build/normal)
#
# It is idempotent: packages already installed are not touched, and builds
# are reused. Set PEERKEY_NO_APT=1 to skip apt-get entirely.
set -eu

top=$(cd "$(dirname "$0")" && pwd)
cd "$top"

# Everything the build, the tests, the demo and the benchmarks need.
PACKAGES="
	build-essential autoconf automake libtool pkg-config autoconf-archive
	libgnutls28-dev libgpgme-dev libavahi-client-dev libavahi-core-dev
	libev-dev libsqlite3-dev libcryptsetup-dev libinih-dev libjansson-dev
	libmicrohttpd-dev python3-prometheus-client libgfshare-dev
	clang libclang-rt-14-dev
	gnupg gpg-agent gpgconf gnutls-bin cryptsetup-bin sqlite3
	avahi-daemon avahi-utils dbus iproute2 procps psmisc jq
	faketime libfaketime valgrind
	mandos mandos-client fping
	initramfs-tools dracut-core dracut-network linux-image-amd64 nftables tmux
	systemd qemu-system-x86 busybox e2fsprogs openssl xz-utils util-linux cpio
	kmod initramfs-tools-core python3 plymouth
	gnuplot-nox
	libtss2-dev swtpm swtpm-tools tpm2-tools
	debhelper dpkg-dev lintian mmdebstrap
"

say() { printf '%s\n' "dev.sh: $*" >&2; }

deps() {
	[ "${PEERKEY_NO_APT:-0}" = 1 ] && return 0
	missing=""
	for p in $PACKAGES; do
		s=$(dpkg-query -W -f '${Status}' "$p" 2>/dev/null || true)
		[ "$s" = "install ok installed" ] || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" != 0 ]; then
		say "missing packages:$missing (run as root to install them)"
		exit 1
	fi
	say "installing:$missing"
	# Package scripts must not start services on this machine (mandos,
	# avahi-daemon): the tests start their own, in their own namespaces.
	prc=/usr/sbin/policy-rc.d
	if [ ! -e "$prc" ]; then
		printf '#!/bin/sh\nexit 101\n' > "$prc"
		chmod 755 "$prc"
		trap 'rm -f "$prc"' EXIT
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
	if [ -e "$prc" ] && [ "$(cat "$prc")" = "$(printf '#!/bin/sh\nexit 101')" ]; then
		rm -f "$prc"
		trap - EXIT
	fi
}

# build DIR [configure options...]: configure (once) and make in DIR.
build() {
	dir=$1; shift
	if [ ! -x configure ] || [ configure.ac -nt configure ] || \
	    [ Makefile.am -nt Makefile.in ]; then
		autoreconf -fi >/dev/null
	fi
	mkdir -p "$dir"
	if [ ! -f "$dir/Makefile" ] || [ configure -nt "$dir/config.status" ]; then
		(cd "$dir" && "$top/configure" -q "$@")
	fi
	make -C "$dir" -j"$(nproc)" >/dev/null
}

werror() { [ "${CI:-}" = true ] && echo --enable-werror || true; }

# tally DIR SUITE...: p and f, the passed and failed results of the test
# scripts of tests/SUITE... under DIR (their automake .trs files).
tally() {
	_d=$1; shift
	# shellcheck disable=SC2086
	_trs=$(for _s in "$@"; do
		ls "$_d"/tests/$_s/*.trs 2>/dev/null || :
	done)
	p=0; f=0
	[ -n "$_trs" ] || return 0
	# shellcheck disable=SC2086
	p=$(cat $_trs | grep -c '^:test-result: PASS' || true)
	# shellcheck disable=SC2086
	f=$(cat $_trs | grep -c -E '^:test-result: (FAIL|XPASS|ERROR|SKIP)' ||
	    true)
}

# count DIR: add DIR's test results to the totals.
passed=0; failed=0
count() {
	tally "$1" '*'
	passed=$((passed + p)); failed=$((failed + f))
	say "$1: $p passed, $f failed"
}

# show_failures DIR SUITE...: print the log of every failed test of
# tests/SUITE... under DIR.
show_failures() {
	_d=$1; shift
	for _s in "$@"; do
		for t in "$_d/tests/$_s"/*.trs; do
			[ -f "$t" ] || continue
			grep -q -E '^:global-test-result: (FAIL|ERROR|SKIP)' \
			    "$t" || continue
			say "FAILED: ${t%.trs}"
			cat "${t%.trs}.log" >&2
		done
	done
}

# suite DIR JOBS TARGET SUITE...: make -jJOBS TARGET in DIR; says each
# SUITE's counts, and the time since the start, as soon as every test of
# tests/SUITE that TARGET runs has its result (all at the end when make
# stops early).
suite() {
	_d=$1 _j=$2 _target=$3; shift 3
	_t0=$(date +%s)
	_tests=$(make --no-print-directory -s -C "$_d" test-lists 2>/dev/null |
	    sed -n "s|^$_target ||p")
	_rcf=$_d/suite-$_target.rc
	rm -f "$_rcf"
	(set +e; make -C "$_d" -j"$_j" "$_target" >/dev/null 2>&1
	    echo $? > "$_rcf") &
	_mk=$!
	_left=$*
	while [ -n "$_left" ]; do
		_next=
		for _s in $_left; do
			if [ ! -f "$_rcf" ] && ! suite_done "$_d" "$_s"
			then
				_next="$_next $_s"
				continue
			fi
			tally "$_d" "$_s"
			say "$_d: $_s: $p passed, $f failed," \
			    "$(($(date +%s) - _t0)) s"
		done
		_left=$_next
		[ -z "$_left" ] || sleep 1
	done
	wait $_mk
	[ "$(cat "$_rcf")" = 0 ] || {
		rc=1
		show_failures "$_d" "$@"
	}
	rm -f "$_rcf"
}

# suite_done DIR SUITE: every test of tests/SUITE in $_tests has its
# result in DIR.
suite_done() {
	[ -n "$_tests" ] || return 1
	for _t in $_tests; do
		case $_t in
		tests/"$2"/*) [ -f "$1/${_t%.sh}.trs" ] || return 1 ;;
		esac
	done
	return 0
}

check() {
	deps
	rc=0
	say "building normal"
	build build/normal $(werror)
	# No result of an earlier run may be counted.
	rm -f build/*/tests/*/*.trs build/*/vm.rc
	# The test programs, in parallel (a suite's make builds them -j1).
	make -C build/normal -j"$(nproc)" check TESTS= >/dev/null
	say "testing normal"
	# The Debian packages first: the guest installs them.
	suite build/normal 1 check-pkg pkg
	# The qemu boots, and the Debian guest that installs the pkg suite's
	# .debs (tests/vm/test-debian.sh): software emulation, half an hour
	# of mostly one core, so they run beside everything else.
	(rc=0; suite build/normal 1 check-vm-all vm; echo $rc > build/normal/vm.rc) &
	vm_pid=$!
	suite build/normal "$(nproc)" check unit fuzz node hostile boot install
	# The integration suites (real Mandos, namespaced clusters, the
	# fleet's cold start) run once, on the plain build.
	for s in interop cluster scale; do
		suite build/normal 1 "check-$s" "$s"
	done
	say "building asan"
	build build/asan --enable-asan $(werror)
	say "testing asan"
	suite build/asan "$(nproc)" check unit fuzz node hostile boot install
	wait $vm_pid || :
	[ "$(cat build/normal/vm.rc 2>/dev/null)" = 0 ] || rc=1
	count build/normal
	count build/asan
	# A skip is a failure in CI: set-up installs everything.
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ] && [ "$rc" = 0 ]
}

demo() {
	deps
	build build/normal
	# The namespace harness the demo shares with the cluster tests needs
	# the test programs too: build them without running any test.
	make -C build/normal -j"$(nproc)" check TESTS= >/dev/null
	exec "$top/tests/cluster/demo.sh" "$top/build/normal"
}

case "${1:-}" in
deps) deps ;;
build) deps; build build/normal $(werror) ;;
check) check ;;
demo) demo ;;
*) echo "usage: $0 demo|check|deps|build" >&2; exit 2 ;;
esac
