#!/bin/sh
# test-dr-dhcp.sh: dracut (systemd initrd, systemd-networkd) with
# ip=dhcp. The guest enrolls its disk (as in test-dracut.sh: boot.conf
# lists the peer's static address 192.0.2.1); then a DHCP server
# (busybox udhcpd, in the peer's namespace) holds the guest's one lease,
# 192.0.2.10/24 for its MAC. systemd-network-generator turns ip=dhcp
# into a .network in /run/systemd/network, networkd takes the lease,
# peerkey-askpass answers systemd-cryptsetup with the passphrase from the
# static peer, the root unlocks. systemd's initrd convention is the
# opposite of Debian's initramfs-tools one: networkd in the initrd
# defaults to KeepConfiguration=dhcp-on-stop, so the lease's address
# stays on eth0 across switch_root (with the generated .network under
# /run, which the booted system's networkd reads and takes over): the
# root's init sees 192.0.2.10/24 on eth0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-net.sh"
vm_setup dracut
ok 'net_dhcpd' "a DHCP server in the peer's namespace holds the guest's lease"
vm_dracut

vm_start dr "$VM_DR_INITRD" "$VM_CMDLINE ip=dhcp rd.neednet=1 \
root=/dev/mapper/root ro rd.luks.name=$VM_LUKS_UUID=root \
rd.luks.options=timeout=0 systemd.show_status=error rd.udev.log_level=3"
ok 'vm_wait dr "peerkey-boot: answering cryptsetup:/dev/[^ ]*: disk /dev/[^ ]*, LUKS UUID $VM_LUKS_UUID"' \
    "the request names the device; the agent reads its UUID from the header"
ok 'vm_wait dr "PEERKEY-VM-ADDRS: "' "the unlocked root's init runs"
ok 'net_dhcp_acked' "udhcpd acknowledged networkd's lease of $VM_GUEST_IP"
ok '[ "$(vm_console_value dr PEERKEY-VM-MARKER)" = "$VM_MARKER" ]' \
    "the marker read back in the guest is the one written on the host"
ok 'grep -q "released" "$W/peerd.log"' "the peer released the passphrase"
ok 'case " $(vm_console_value dr PEERKEY-VM-ADDRS)" in
    *" eth0=$VM_GUEST_IP/24 "*) true ;; *) false ;; esac' \
    "the lease's address stays on eth0 across switch_root (KeepConfiguration=dhcp-on-stop)"
ok 'vm_wait_exit dr' "the guest ends the VM"
[ "$FAILED" = 0 ] || diag "$W/dr.console" "$W/dr.log" "$W/peerd.log" \
    "$W/dhcpd.log"
finish
