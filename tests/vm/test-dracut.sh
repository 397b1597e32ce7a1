#!/bin/sh
# test-dracut.sh: the same unlock as test-static.sh, with an image made
# by dracut (dracut-core, a systemd initrd) and the project's dracut
# module: systemd-cryptsetup asks for the root's passphrase, the
# peerkey-askpass path unit starts peerkey-boot -a, which gets it from the
# peer (a real peerkeyd in the peer's namespace) and answers; the root's
# init prints the marker.
. "$(dirname "$0")/lib.sh"
vm_need dracut
vm_need_peerkey
vm_kernel
vm_disk
vm_keys
vm_dracut
ok 'vm_net_up' "namespaces, bridge, tap and veth"
ok 'vm_peer_start' "the peer runs peerkeyd, guarding the guest's blob"

vm_start dr "$VM_DR_INITRD" "$(vm_cmdline_dracut)"
ok 'vm_wait dr "PEERKEY-VM-MARKER: "' "the unlocked root's init runs"
ok '[ "$(vm_console_value dr PEERKEY-VM-MARKER)" = "$VM_MARKER" ]' \
    "the marker read back in the guest is the one written on the host"
ok '[ "$(vm_console_value dr PEERKEY-VM-ROOT)" = /dev/mapper/root ]' \
    "the root is the dm-crypt mapping"
ok 'grep -q "released" "$W/peerd.log"' "the peer released the passphrase"
ok 'vm_wait_exit dr' "the guest ends the VM"
[ "$FAILED" = 0 ] || diag "$W/dr.console" "$W/dr.log" "$W/peerd.log"
finish
