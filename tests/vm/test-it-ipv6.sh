#!/bin/sh
# test-it-ipv6.sh: initramfs-tools with IPv6 only. The guest enrolls its
# disk (as in test-static.sh) with the peer's invitation naming its
# IPv6 address too, so boot-config lists [2001:db8::1]:4141; then the
# peer loses its IPv4 address, keeping 2001:db8::1/64 and its link-local
# one. The command line has no IPv4 ip= (klibc's ipconfig knows no
# IPv6), only dracut's ip=[2001:db8::2]:::64::eth0:none: peerkey's
# keyscript brings eth0 up, waits for its link-local address, adds the
# static one, peerkey-boot reaches the peer at [2001:db8::1]:4141, the
# root unlocks, and the init-bottom script has taken eth0 down before
# switch_root: the root's init sees no address of the guest's (neither
# 2001:db8::2 nor a link-local one).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-net.sh"
VM_INVITE_ARGS="--address $VM_PEER_IP:$VM_PORT --address [$NET_PEER_IP6]:$VM_PORT"
vm_setup mkinitramfs
ok 'grep -q "^address = .*\[$NET_PEER_IP6\]:$VM_PORT" "$VM_IT_CONF"' \
    "boot-config lists the peer's IPv6 address"
ok 'ip -n "$VM_NS_PEER" addr add "$NET_PEER_IP6/64" dev eth0 nodad &&
    ip -n "$VM_NS_PEER" addr del "$VM_PEER_IP/24" dev eth0 &&
    [ -z "$(ip -n "$VM_NS_PEER" -4 -o addr show dev eth0)" ]' \
    "the peer has no IPv4 address, only $NET_PEER_IP6 and its link-local one"
vm_initramfs_tools

vm_start it "$VM_IT_INITRD" "$(net_cmdline_it "" \
    "ip=[$NET_GUEST_IP6]:::64::eth0:none")"
ok 'vm_wait it "peerkey: eth0: IPv6 up:.* $NET_GUEST_IP6/64"' \
    "the keyscript brings eth0 up with its link-local and static IPv6 addresses"
ok 'vm_wait it "peerkey-boot: vmpeer: passphrase received"' \
    "peerkey-boot gets the passphrase from the peer over IPv6"
ok 'vm_wait it "PEERKEY-VM-ADDRS: "' "the unlocked root's init runs"
ok '[ "$(vm_console_value it PEERKEY-VM-MARKER)" = "$VM_MARKER" ]' \
    "the marker read back in the guest is the one written on the host"
ok 'net_clean it' \
    "the booted root finds no address of the initramfs (IPv6 or link-local)"
ok 'vm_wait_exit it' "the guest ends the VM"
[ "$FAILED" = 0 ] || diag "$W/it.console" "$W/it.log" "$W/peerd.log"
finish
