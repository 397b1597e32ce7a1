#!/bin/sh
# test-announce.sh: runs test-announce (announce.c, avahi-ev.c) against a
# real avahi-daemon: a fresh network namespace with lo up, a private system
# bus and an avahi-daemon on lo (tests/lib-avahi.sh), the C program run
# inside the namespace. A second namespace, joined by a veth pair and with
# its own bus and daemon, plays another host on the link (for a name
# collision detected by probing, not by the local daemon). Everything it
# starts is recorded by PID in a state directory and killed by those PIDs
# on exit (tests/lib-tap.sh runs the cleanup). The TAP comes from the C
# program.

set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
prog=$top_builddir/tests/unit/test-announce
lib=$top_srcdir/tests/lib-avahi.sh
. "$top_srcdir/tests/lib-tap.sh"

need_root
need ip unshare dbus-daemon avahi-daemon avahi-browse avahi-publish
[ -x "$prog" ] || fatal "$prog not built"

. "$lib"

ns=pkann$$
nsb=pkannb$$
dir=$W
dirb=$dir/b
TAP_LOGS="$dir/avahi.log.old $dir/avahi.log $dir/bus.log $dirb/avahi.log"
# The daemons, by the PIDs lib-avahi.sh recorded; the driver then
# deletes the namespaces.
at_exit 'avahi_cleanup "$dir"'
at_exit 'avahi_cleanup "$dirb"'

ip netns add "$ns" || fatal "ip netns add $ns failed"
NETNS="$ns $NETNS"
ip netns add "$nsb" || fatal "ip netns add $nsb failed"
NETNS="$nsb $NETNS"
ip netns exec "$ns" ip link set lo up || fatal "lo up failed"
ip link add pka0 netns "$ns" type veth peer name pkb0 netns "$nsb" ||
    fatal "veth failed"
ip -n "$ns" addr add 10.77.0.1/24 dev pka0 &&
    ip -n "$ns" link set pka0 up &&
    ip -n "$nsb" addr add 10.77.0.2/24 dev pkb0 &&
    ip -n "$nsb" link set pkb0 up || fatal "veth set-up failed"
avahi_start "$dirb" "$nsb" pkannb pkb0 || fatal "avahi_start (b) failed"
bus_b=$AVAHI_BUS_ADDRESS
avahi_start "$dir" "$ns" pkann lo,pka0 || fatal "avahi_start failed"

DBUS_SYSTEM_BUS_ADDRESS=$AVAHI_BUS_ADDRESS PKANN_DIR=$dir PKANN_LIB=$lib \
    PKANN_NS_B=$nsb PKANN_BUS_B=$bus_b ip netns exec "$ns" "$prog"
