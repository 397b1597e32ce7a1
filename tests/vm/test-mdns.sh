#!/bin/sh
# test-mdns.sh: the guest enrolls its disk with the peer (as in
# test-static.sh); then the peer loses its IPv4 address, keeping only its
# IPv6 link-local one, so the static address in boot.conf cannot work; it
# runs avahi-daemon (private bus) and peerkeyd announces _peerkey._tcp.
# peerkey-boot (in the mkinitramfs image, mdns = yes) finds it with its
# embedded avahi-core, connects to fe80::...%eth0, and the root unlocks:
# its init prints the marker.
. "$(dirname "$0")/lib.sh"
vm_need mkinitramfs unshare dbus-daemon avahi-daemon
vm_need_peerkey
vm_kernel
vm_disk
vm_keys
ok 'vm_net_up' "namespaces, bridge, tap and veths"
at_exit 'avahi_cleanup "${VM_AVAHI_DIR:-}"'
ok 'vm_peer_start mdns' "the peer runs avahi-daemon and an announcing peerkeyd"
ok 'vm_enroll' "the guest joins the peer, peerkey enroll of its disk, boot-config"
# published: how many times the peer's peerkeyd published _peerkey._tcp.
published() {
	grep -c 'published "vmpeer" (_peerkey._tcp)' "$W/peerd.log"
}
# avahi-daemon 0.8 serves no service of a host that lost its last IPv4
# address over IPv6 either (not even to itself) until it restarts: the
# peer's is restarted, as a renumbered machine's would be, and peerkeyd
# publishes again on the new daemon.
n=$(published)
ok 'ip -n "$VM_NS_PEER" addr del "$VM_PEER_IP/24" dev eth0 &&
    avahi_daemon_stop "$VM_AVAHI_DIR" && avahi_daemon_start "$VM_AVAHI_DIR" &&
    wait_for "[ \$(published) -gt $n ]" 20' \
    "the peer loses its IPv4 address (only IPv6 link-local left) and restarts avahi-daemon"
vm_initramfs_tools

vm_start it "$VM_IT_INITRD" "$(vm_cmdline_it)"
ok 'vm_wait it "peerkey-boot: .*found by mDNS at fe80:"' \
    "peerkey-boot finds the peer by mDNS, at an IPv6 link-local address"
# The peer announces _peerkey._tcp and _mandos._tcp; either may answer
# first.
ok 'vm_wait it "peerkey-boot: mdns(-mandos)?:vmpeer: passphrase received"' \
    "peerkey-boot gets the passphrase from the peer it found"
ok 'vm_wait it "PEERKEY-VM-MARKER: "' "the unlocked root's init runs"
ok '[ "$(vm_console_value it PEERKEY-VM-MARKER)" = "$VM_MARKER" ]' \
    "the marker read back in the guest is the one written on the host"
ok 'vm_wait_exit it' "the guest ends the VM"
[ "$FAILED" = 0 ] || diag "$W/it.console" "$W/it.log" "$W/peerd.log" \
    "$VM_AVAHI_DIR/avahi.log"
finish
