#!/bin/sh
# test-it-vlanbond.sh: initramfs-tools on a VLAN over a bond whose first
# link is down. The guest enrolls its disk (as in test-static.sh); then
# the peer sits on an access port of VLAN 42 (tagged frames only), the guest gets a
# second NIC and the first one's tap leaves the bridge, and qemu takes
# the first NIC's carrier down. The command line asks, in dracut's
# syntax, for bond=bond0:eth0,eth1:mode=active-backup,miimon=100,
# vlan=bond0.42:bond0 and ip= on bond0.42: peerkey's keyscript makes the
# bond (eth1 becomes its active slave) and the VLAN, configure_networking
# configures it, peerkey-boot reaches the peer, the root unlocks, and the
# init-bottom script has removed the VLAN and the bond and taken the
# links down before switch_root: the root's init sees no bond, no VLAN,
# no address of the guest's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-net.sh"
vm_setup mkinitramfs python3
ok 'net_peer_vlan 42' "the peer is reachable only through VLAN 42"
ok 'net_nic2' "a second NIC for the guest; only it reaches the peer"
vm_initramfs_tools

net_monitor it
vm_start it "$VM_IT_INITRD" "$(net_cmdline_it \
    "$VM_GUEST_IP:::255.255.255.0:guest:bond0.42:off" \
    bond=bond0:eth0,eth1:mode=active-backup,miimon=100 vlan=bond0.42:bond0)"
ok 'net_mon it "set_link n0 off" && net_mon it "info network" &&
    wait_for "grep -q \"n1: index=\" \"$W/it.mon.log\"" 20 &&
    ! grep -qi "not found\|error" "$W/it.mon.log"' \
    "qemu takes the first NIC's link down"
ok 'vm_wait it "peerkey-boot: vmpeer: passphrase received"' \
    "peerkey-boot gets the passphrase from the peer over the VLAN on the bond"
ok 'vm_wait it "PEERKEY-VM-ADDRS: "' "the unlocked root's init runs"
ok '[ "$(vm_console_value it PEERKEY-VM-MARKER)" = "$VM_MARKER" ]' \
    "the marker read back in the guest is the one written on the host"
ok 'net_clean it' \
    "the booted root finds no bond, no VLAN and no address of the initramfs"
ok 'vm_wait_exit it' "the guest ends the VM"
[ "$FAILED" = 0 ] || diag "$W/it.console" "$W/it.log" "$W/peerd.log" \
    "$W/it.mon.log"
finish
