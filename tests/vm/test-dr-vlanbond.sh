#!/bin/sh
# test-dr-vlanbond.sh: dracut (systemd initrd, systemd-networkd) on a
# VLAN over a bond whose first link is down, the network shape of
# test-it-vlanbond.sh: the peer on an access port of VLAN 42, the guest's
# second NIC the only one reaching it, the first NIC's carrier taken down
# by qemu. The command line asks for bond=bond0:eth0,eth1:
# mode=active-backup,miimon=100, vlan=bond0.42:bond0 and ip= on bond0.42:
# systemd-network-generator writes the .netdev and .network files,
# networkd makes the bond (eth1 its active slave) and the VLAN (peerkey's
# module puts bonding and 8021q into the image), peerkey-askpass reaches
# the peer over it, the root unlocks.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-net.sh"
vm_setup dracut python3
ok 'net_peer_vlan 42' "the peer is reachable only through VLAN 42"
ok 'net_nic2' "a second NIC for the guest; only it reaches the peer"
vm_dracut

net_monitor dr
vm_start dr "$VM_DR_INITRD" "$VM_CMDLINE \
ip=$VM_GUEST_IP:::255.255.255.0:guest:bond0.42:off \
bond=bond0:eth0,eth1:mode=active-backup,miimon=100 vlan=bond0.42:bond0 \
rd.neednet=1 root=/dev/mapper/root ro rd.luks.name=$VM_LUKS_UUID=root \
rd.luks.options=timeout=0 systemd.show_status=error rd.udev.log_level=3"
ok 'net_mon dr "set_link n0 off" && net_mon dr "info network" &&
    wait_for "grep -q \"n1: index=\" \"$W/dr.mon.log\"" 20 &&
    ! grep -qi "not found\|error" "$W/dr.mon.log"' \
    "qemu takes the first NIC's link down"
ok 'vm_wait dr "peerkey-boot: answering cryptsetup:/dev/[^ ]*: disk /dev/[^ ]*, LUKS UUID $VM_LUKS_UUID"' \
    "the request names the device; the agent reads its UUID from the header"
ok 'vm_wait dr "PEERKEY-VM-ADDRS: "' "the unlocked root's init runs"
ok '[ "$(vm_console_value dr PEERKEY-VM-MARKER)" = "$VM_MARKER" ]' \
    "the marker read back in the guest is the one written on the host"
ok 'grep -q "released" "$W/peerd.log"' \
    "the peer released the passphrase over the VLAN on the bond"
ok 'vm_wait_exit dr' "the guest ends the VM"
[ "$FAILED" = 0 ] || diag "$W/dr.console" "$W/dr.log" "$W/peerd.log" \
    "$W/dr.mon.log"
finish
