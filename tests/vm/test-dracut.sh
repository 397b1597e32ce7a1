#!/bin/sh
# test-dracut.sh: the same enroll and unlock as test-static.sh, with an
# image made by dracut (dracut-core, a systemd initrd) and the project's
# dracut module: systemd-cryptsetup asks for the root's passphrase
# (Id=cryptsetup:DEVICE), the peerkey-askpass path unit starts
# peerkey-boot -a, which reads that device's header, gets the disk's blob
# from the peer (a real peerkeyd in the peer's namespace), checks it
# against the header and answers; the root's init prints the marker.
. "$(dirname "$0")/lib.sh"
vm_setup dracut
vm_dracut

vm_start dr "$VM_DR_INITRD" "$(vm_cmdline_dracut)"
ok 'vm_wait dr "peerkey-boot: answering cryptsetup:/dev/[^ ]*: disk /dev/[^ ]*, LUKS UUID $VM_LUKS_UUID"' \
    "the request names the device; the agent reads its UUID from the header"
ok 'vm_wait dr "PEERKEY-VM-MARKER: "' "the unlocked root's init runs"
ok '[ "$(vm_console_value dr PEERKEY-VM-MARKER)" = "$VM_MARKER" ]' \
    "the marker read back in the guest is the one written on the host"
ok '[ "$(vm_console_value dr PEERKEY-VM-ROOT)" = /dev/mapper/root ]' \
    "the root is the dm-crypt mapping"
ok 'grep -q "released" "$W/peerd.log"' "the peer released the passphrase"
ok 'vm_wait_exit dr' "the guest ends the VM"
[ "$FAILED" = 0 ] || diag "$W/dr.console" "$W/dr.log" "$W/peerd.log"
finish
