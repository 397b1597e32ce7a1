#!/bin/sh
# test-dr-ipv6.sh: dracut (systemd initrd, systemd-networkd) with IPv6
# only. The guest enrolls its disk with the peer's invitation naming its
# IPv6 address too (as in test-it-ipv6.sh), so boot-config lists
# [2001:db8::1]:4141; then the peer loses its IPv4 address. The command
# line has only ip=[2001:db8::2]:::64::eth0:none, which
# systemd-network-generator turns into a .network with the static
# address; peerkey-askpass reaches the peer at [2001:db8::1]:4141 and
# the root unlocks.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-net.sh"
vm_need dracut
vm_need_peerkey
vm_kernel
vm_disk
vm_keys
ok 'vm_net_up' "namespaces, bridge, tap and veths"
ok 'vm_peer_start' "the peer runs peerkeyd"
VM_INVITE_ARGS="--address $VM_PEER_IP:$VM_PORT --address [$NET_PEER_IP6]:$VM_PORT"
ok 'vm_enroll' "the guest joins the peer, peerkey enroll of its disk, boot-config"
ok 'grep -q "^address = .*\[$NET_PEER_IP6\]:$VM_PORT" "$VM_DR_CONF"' \
    "boot-config lists the peer's IPv6 address"
ok 'ip -n "$VM_NS_PEER" addr add "$NET_PEER_IP6/64" dev eth0 nodad &&
    ip -n "$VM_NS_PEER" addr del "$VM_PEER_IP/24" dev eth0 &&
    [ -z "$(ip -n "$VM_NS_PEER" -4 -o addr show dev eth0)" ]' \
    "the peer has no IPv4 address, only $NET_PEER_IP6 and its link-local one"
vm_dracut

vm_start dr "$VM_DR_INITRD" "$VM_CMDLINE ip=[$NET_GUEST_IP6]:::64::eth0:none \
rd.neednet=1 root=/dev/mapper/root ro rd.luks.name=$VM_LUKS_UUID=root \
rd.luks.options=timeout=0 systemd.show_status=error rd.udev.log_level=3"
ok 'vm_wait dr "peerkey-boot: answering cryptsetup:/dev/[^ ]*: disk /dev/[^ ]*, LUKS UUID $VM_LUKS_UUID"' \
    "the request names the device; the agent reads its UUID from the header"
ok 'vm_wait dr "PEERKEY-VM-ADDRS: "' "the unlocked root's init runs"
ok '[ "$(vm_console_value dr PEERKEY-VM-MARKER)" = "$VM_MARKER" ]' \
    "the marker read back in the guest is the one written on the host"
ok 'grep -q "released" "$W/peerd.log"' \
    "the peer released the passphrase over IPv6"
ok 'vm_wait_exit dr' "the guest ends the VM"
[ "$FAILED" = 0 ] || diag "$W/dr.console" "$W/dr.log" "$W/peerd.log"
finish
