#!/bin/sh
# test-it-dhcp.sh: initramfs-tools with ip=dhcp. The guest enrolls its
# disk (as in test-static.sh: boot.conf lists the peer's static address
# 192.0.2.1); then a DHCP server (busybox udhcpd, in the peer's
# namespace) holds the guest's one lease, 192.0.2.10/24 for its MAC. The
# command line says ip=dhcp: the keyscript's configure_networking runs
# klibc's ipconfig, which takes the lease; peerkey-boot reaches the
# static peer from that address, the root unlocks, and the init-bottom
# script has flushed the lease's address and taken eth0 down before
# switch_root: the root's init sees no address of the guest's (Debian's
# convention: the booted system's ifupdown or networkd starts from
# nothing, and asks for its own lease).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-net.sh"
vm_setup mkinitramfs
ok 'net_dhcpd' "a DHCP server in the peer's namespace holds the guest's lease"
vm_initramfs_tools

vm_start it "$VM_IT_INITRD" "$(net_cmdline_it dhcp)"
ok 'vm_wait it "IP-Config: eth0 complete \\(dhcp from $VM_PEER_IP\\)"' \
    "klibc's ipconfig configures eth0 by DHCP from the peer's udhcpd"
ok 'vm_wait it "address: $VM_GUEST_IP "' \
    "ipconfig took the lease's address, $VM_GUEST_IP"
ok 'net_dhcp_acked' "udhcpd acknowledged the lease of $VM_GUEST_IP"
ok 'vm_wait it "peerkey-boot: vmpeer: passphrase received"' \
    "peerkey-boot gets the passphrase from the static peer over the DHCP address"
ok 'vm_wait it "PEERKEY-VM-ADDRS: "' "the unlocked root's init runs"
ok '[ "$(vm_console_value it PEERKEY-VM-MARKER)" = "$VM_MARKER" ]' \
    "the marker read back in the guest is the one written on the host"
ok 'net_clean it' \
    "the booted root finds no address of the initramfs (the lease's is gone)"
ok 'vm_wait_exit it' "the guest ends the VM"
[ "$FAILED" = 0 ] || diag "$W/it.console" "$W/it.log" "$W/peerd.log" \
    "$W/dhcpd.log"
finish
