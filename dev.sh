#!/bin/sh
# dev.sh: set up a Debian 12 machine for peerkey, build it, and run it.
#
#   ./dev.sh demo      install what is missing, build, run the cluster demo
#   ./dev.sh check     install what is missing, build twice (plain and
#                      ASan/UBSan), run the whole test suite on both, and
#                      print "N passed, N failed" for the whole run
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
	clang libclang-rt-14-dev
	gnupg gpg-agent gpgconf gnutls-bin cryptsetup-bin sqlite3
	avahi-daemon avahi-utils dbus iproute2 procps psmisc jq
	faketime libfaketime valgrind
	mandos mandos-client fping
	initramfs-tools dracut-core dracut-network linux-image-amd64 nftables tmux
	systemd qemu-system-x86 busybox e2fsprogs openssl xz-utils util-linux cpio
	kmod initramfs-tools-core python3
	gnuplot-nox
	libtss2-dev swtpm swtpm-tools tpm2-tools
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

# count DIR: add DIR's test results to the totals.
passed=0; failed=0
count() {
	p=$(cat "$1"/tests/*/*.trs 2>/dev/null | grep -c '^:test-result: PASS' || true)
	f=$(cat "$1"/tests/*/*.trs 2>/dev/null | grep -c -E '^:test-result: (FAIL|XPASS|ERROR|SKIP)' || true)
	passed=$((passed + p)); failed=$((failed + f))
	say "$1: $p passed, $f failed"
}

# show_failures DIR: print the log of every failed test under DIR.
show_failures() {
	for t in "$1"/tests/*/*.trs; do
		[ -f "$t" ] || continue
		grep -q -E '^:global-test-result: (FAIL|ERROR|SKIP)' "$t" || continue
		say "FAILED: ${t%.trs}"
		cat "${t%.trs}.log" >&2
	done
}

check() {
	deps
	rc=0
	for variant in normal asan; do
		case $variant in
		normal) opts="" ;;
		asan) opts="--enable-asan" ;;
		esac
		say "building $variant"
		# shellcheck disable=SC2086
		build "build/$variant" $opts $(werror)
		say "testing $variant"
		make -C "build/$variant" -j"$(nproc)" check >/dev/null 2>&1 || {
			rc=1
			show_failures "build/$variant"
		}
		# The integration suites (real Mandos, namespaced clusters,
		# qemu boots) run once, on the plain build.
		if [ $variant = normal ]; then
			for suite in interop cluster vm; do
				say "testing $suite"
				make -C "build/$variant" "check-$suite" \
				    >/dev/null 2>&1 || {
					rc=1
					show_failures "build/$variant"
				}
			done
		fi
		count "build/$variant"
	done
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
