#!/bin/sh
# mandos-avahi.sh: Debian's real mandos-client finds peerkeyd by mDNS
# (_mandos._tcp) and gets its passphrase, with no --connect. Two network
# namespaces joined by a veth pair, each end named eth0, IPv6 link-local
# only (no DAD): the server side runs peerkeyd and an avahi-daemon on its
# own system bus (tests/lib-avahi.sh), peerkeyd publishing _mandos._tcp
# through it; the client side runs mandos-client --interface=eth0, which
# browses with its embedded libavahi-core and connects to fe80::...%eth0,
# as in an initramfs.
. "$(dirname "$0")/lib-interop.sh"
need mandos-keygen certtool gpg ip avahi-daemon avahi-browse dbus-daemon \
    unshare sysctl
need_root

NS=pkioas$$
NC=pkioac$$
mk_ns "$NS"
mk_ns "$NC"
for n in "$NS" "$NC"; do
	ip netns exec "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
	    net.ipv6.conf.default.accept_dad=0 || fatal "sysctl in $n"
done
ip link add pkv$$s netns "$NS" type veth peer name pkv$$c netns "$NC" ||
    fatal "veth"
ip -n "$NS" link set pkv$$s name eth0 && ip -n "$NC" link set pkv$$c name eth0 &&
    ip -n "$NS" link set eth0 up || fatal "veth set-up"
# The client's eth0 stays down: mandos-client brings it up itself.

keygen "$W/alpha" alpha "alpha-mdns-$$" || fatal "mandos-keygen failed"
{ printf '[DEFAULT]\nchecker = true\n\n'; cat "$W/alpha/section"; } \
    > "$W/clients.conf"

avahi_start "$W/avahi" "$NS" pkiosrv eth0 || fatal "avahi-daemon"
BUSDIRS="$BUSDIRS $W/avahi"
PKD_LISTEN= PKD_ANNOUNCE=yes PKD_BUS=$AVAHI_BUS_ADDRESS \
    start_peerkeyd "$W/pkd" "$NS" ||
    { diag "$W/peerkeyd.log"; fatal "peerkeyd"; }
pk import-mandos "$W/clients.conf" > "$W/import.out" 2>&1 ||
    { diag "$W/import.out"; fatal "import-mandos failed"; }
ok 'wait_for "grep -q \"announce: published .*_mandos._tcp\" \"$W/peerkeyd.log\"" 20' \
    "peerkeyd publishes _mandos._tcp through avahi-daemon"
[ -n "${V:-}" ] && diag "$W/peerkeyd.log"

mkdir -p "$W/hooks"
timeout 60 sh -c '. "$0"; mandos_client "$1" "$2" --interface=eth0 \
    --network-hook-dir="$3" --delay=5' "$(dirname "$0")/lib-interop.sh" \
    "$NC" "$W/alpha" "$W/hooks" > "$W/a.out" 2> "$W/a.err"
rc=$?
ok '[ $rc = 0 ] && [ "$(cat "$W/a.out")" = "alpha-mdns-$$" ]' \
    "mandos-client --interface=eth0 finds peerkeyd by mDNS and gets the passphrase"
[ $rc = 0 ] || diag "$W/a.err" "$W/peerkeyd.log"
ok 'grep -q "released 1 blob to \[\?fe80:" "$W/peerkeyd.log"' \
    "over IPv6 link-local, as in an initramfs"
finish
