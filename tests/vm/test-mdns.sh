#!/bin/sh
# test-mdns.sh: the peer has no IPv4 address at all, only its IPv6
# link-local one, so the static address in boot.conf cannot work; it runs
# avahi-daemon (private bus) and peerkeyd announces _peerkey._tcp.
# peerkey-boot (in the mkinitramfs image, mdns = yes) finds it with its
# embedded avahi-core, connects to fe80::...%eth0, and the root unlocks:
# its init prints the marker.
. "$(dirname "$0")/lib.sh"
vm_need mkinitramfs unshare dbus-daemon avahi-daemon
vm_need_peerkey
vm_kernel
vm_disk
vm_keys
vm_initramfs_tools
VM_PEER_V4=no
ok 'vm_net_up' "namespaces, bridge, tap and veth; the peer is IPv6 link-local only"
ok 'vm_peer_start mdns' "the peer runs avahi-daemon and an announcing peerkeyd"
at_exit 'avahi_cleanup "${VM_AVAHI_DIR:-}"'

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
