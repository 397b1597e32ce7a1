#!/bin/sh
# test-announce.sh: runs test-announce (announce.c, avahi-ev.c) against a
# real avahi-daemon: a fresh network namespace with lo up, a private system
# bus and an avahi-daemon on lo (tests/lib-avahi.sh), the C program run
# inside the namespace. A second namespace, joined by a veth pair and with
# its own bus and daemon, plays another host on the link (for a name
# collision detected by probing, not by the local daemon). Everything it starts is recorded by PID in a state
# directory and killed by those PIDs on exit. Speaks TAP.

set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
prog=$top_builddir/tests/unit/test-announce
lib=$top_srcdir/tests/lib-avahi.sh

# bail MSG: the whole test cannot run.
bail() {
	echo "Bail out! $*"
	exit 1
}

missing=
[ "$(id -u)" = 0 ] || missing="$missing root"
for cmd in ip unshare dbus-daemon avahi-daemon avahi-browse avahi-publish; do
	command -v "$cmd" >/dev/null 2>&1 || missing="$missing $cmd"
done
if [ -n "$missing" ]; then
	# In CI nothing may skip.
	[ "${CI:-}" = true ] && bail "needs$missing"
	echo "1..0 # SKIP needs$missing"
	exit 0
fi
[ -x "$prog" ] || bail "$prog not built"

. "$lib"

ns=pkann$$
nsb=pkannb$$
dir=$(mktemp -d "${TMPDIR:-/tmp}/pkann.XXXXXX") || bail "mktemp failed"
dirb=$dir/b
rc=1

# cleanup: kill what we started (by recorded PID), drop the namespace.
cleanup() {
	if [ "$rc" != 0 ]; then
		for f in "$dir"/avahi.log.old "$dir"/avahi.log "$dir"/bus.log \
		    "$dirb"/avahi.log; do
			[ -s "$f" ] || continue
			echo "--- $f" >&2
			cat "$f" >&2
		done
	fi
	avahi_cleanup "$dirb"
	avahi_cleanup "$dir"
	ip netns del "$nsb" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

ip netns add "$ns" || bail "ip netns add $ns failed"
ip netns add "$nsb" || bail "ip netns add $nsb failed"
ip netns exec "$ns" ip link set lo up || bail "lo up failed"
ip link add pka0 netns "$ns" type veth peer name pkb0 netns "$nsb" ||
    bail "veth failed"
ip -n "$ns" addr add 10.77.0.1/24 dev pka0 &&
    ip -n "$ns" link set pka0 up &&
    ip -n "$nsb" addr add 10.77.0.2/24 dev pkb0 &&
    ip -n "$nsb" link set pkb0 up || bail "veth set-up failed"
avahi_start "$dirb" "$nsb" pkannb pkb0 || bail "avahi_start (b) failed"
bus_b=$AVAHI_BUS_ADDRESS
avahi_start "$dir" "$ns" pkann lo,pka0 || bail "avahi_start failed"

DBUS_SYSTEM_BUS_ADDRESS=$AVAHI_BUS_ADDRESS PKANN_DIR=$dir PKANN_LIB=$lib \
    PKANN_NS_B=$nsb PKANN_BUS_B=$bus_b ip netns exec "$ns" "$prog"
rc=$?
exit $rc
