#!/bin/sh
# test-it-ipv6.sh: initramfs-tools with IPv6 only, two boots. The guest
# enrolls its disk (as in test-mdns.sh: the peer runs avahi-daemon and
# announces itself) with the peer's invitation naming its IPv6 address
# too, so boot-config lists [2001:db8::1]:4141; then the peer loses its
# IPv4 address, keeping 2001:db8::1/64 and its link-local one, and its
# avahi-daemon stops. The command lines have no IPv4 ip= (klibc's
# ipconfig knows no IPv6), only dracut's IPv6 forms, which peerkey's
# keyscript brings up itself:
#  1. ip=[2001:db8::2]:::64::eth0:none: eth0 up, its link-local address,
#     the static one; peerkey-boot reaches the static peer at
#     [2001:db8::1]:4141.
#  2. the peer loses 2001:db8::1 too (only link-local left) and restarts
#     avahi-daemon; ip=eth0:link6: eth0 up with its link-local address
#     only; peerkey-boot finds the peer by mDNS at fe80::...%eth0.
# Each time the root unlocks and the init-bottom script has taken eth0
# down before switch_root: the root's init sees no address of the
# guest's (neither 2001:db8::2 nor a link-local one).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-net.sh"
vm_need mkinitramfs unshare dbus-daemon avahi-daemon
vm_need_peerkey
vm_kernel
vm_disk
vm_keys
ok 'vm_net_up' "namespaces, bridge, tap and veths"
at_exit 'avahi_cleanup "${VM_AVAHI_DIR:-}"'
ok 'vm_peer_start mdns' "the peer runs avahi-daemon and an announcing peerkeyd"
VM_INVITE_ARGS="--address $VM_PEER_IP:$VM_PORT --address [$NET_PEER_IP6]:$VM_PORT"
ok 'vm_enroll' "the guest joins the peer, peerkey enroll of its disk, boot-config"
ok 'grep -q "^address = .*\[$NET_PEER_IP6\]:$VM_PORT" "$VM_IT_CONF"' \
    "boot-config lists the peer's IPv6 address"
ok 'ip -n "$VM_NS_PEER" addr add "$NET_PEER_IP6/64" dev eth0 nodad &&
    ip -n "$VM_NS_PEER" addr del "$VM_PEER_IP/24" dev eth0 &&
    [ -z "$(ip -n "$VM_NS_PEER" -4 -o addr show dev eth0)" ] &&
    avahi_daemon_stop "$VM_AVAHI_DIR"' \
    "the peer has no IPv4 address, only $NET_PEER_IP6 and its link-local one, and no avahi-daemon"
vm_initramfs_tools

vm_start it "$VM_IT_INITRD" "$(net_cmdline_it "" \
    "ip=[$NET_GUEST_IP6]:::64::eth0:none")"
ok 'vm_wait it "peerkey: eth0: IPv6 up:.* $NET_GUEST_IP6/64"' \
    "the keyscript brings eth0 up with its link-local and static IPv6 addresses"
ok 'vm_wait it "peerkey-boot: vmpeer: passphrase received"' \
    "peerkey-boot gets the passphrase from the static peer over IPv6"
ok 'vm_wait it "PEERKEY-VM-ADDRS: "' "the unlocked root's init runs"
ok '[ "$(vm_console_value it PEERKEY-VM-MARKER)" = "$VM_MARKER" ]' \
    "the marker read back in the guest is the one written on the host"
ok 'net_clean it' \
    "the booted root finds no address of the initramfs (static or link-local)"
ok 'vm_wait_exit it' "the guest ends the VM"

# published: how many times the peer's peerkeyd published _peerkey._tcp.
published() {
	grep -c 'published "vmpeer" (_peerkey._tcp)' "$W/peerd.log"
}
n=$(published)
ok 'ip -n "$VM_NS_PEER" addr del "$NET_PEER_IP6/64" dev eth0 &&
    avahi_daemon_start "$VM_AVAHI_DIR" &&
    wait_for "[ \$(published) -gt $n ]" 20' \
    "the peer keeps only its link-local address and starts avahi-daemon again"
vm_start ll "$VM_IT_INITRD" "$(net_cmdline_it "" ip=eth0:link6)"
ok 'vm_wait ll "peerkey: eth0: IPv6 up: fe80:[^ ]*/64[[:space:]]*$"' \
    "the keyscript brings eth0 up with its link-local address only"
ok 'vm_wait ll "peerkey-boot: .*found by mDNS at fe80:[^ ]*%eth0 "' \
    "peerkey-boot finds the peer by mDNS at its link-local address on eth0"
# The peer announces _peerkey._tcp and _mandos._tcp; either may answer
# first.
ok 'vm_wait ll "peerkey-boot: mdns(-mandos)?:vmpeer: passphrase received"' \
    "peerkey-boot gets the passphrase from the peer it found"
ok 'vm_wait ll "PEERKEY-VM-ADDRS: "' "the unlocked root's init runs"
ok '[ "$(vm_console_value ll PEERKEY-VM-MARKER)" = "$VM_MARKER" ]' \
    "the marker read back in the guest is the one written on the host"
ok 'net_clean ll' "the booted root finds no link-local address of the initramfs"
ok 'vm_wait_exit ll' "the guest ends the VM"
[ "$FAILED" = 0 ] || diag "$W/it.console" "$W/ll.console" "$W/it.log" \
    "$W/ll.log" "$W/peerd.log" "$VM_AVAHI_DIR/avahi.log"
finish
