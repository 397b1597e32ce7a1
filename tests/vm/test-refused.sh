#!/bin/sh
# test-refused.sh: the guest enrolled its disk with the peer (as in
# test-static.sh), then the peer's operator disabled it. peerkey-boot
# (in the mkinitramfs image) says on the console that the peer refused,
# its console prompt still works: the passphrase typed on the serial
# console unlocks the LUKS2 root, whose init prints the marker. The typed
# passphrase is not echoed.
. "$(dirname "$0")/lib.sh"
vm_setup mkinitramfs
ok '$VM_CTL disable guest > "$W/disable.log" 2>&1' \
    "the peer's operator disables the guest"
vm_initramfs_tools

vm_start it "$VM_IT_INITRD" "$(vm_cmdline_it)"
ok 'vm_wait it "Please unlock disk root: "' "the console prompt is shown"
ok 'vm_wait it "peerkey-boot: vmpeer: refused"' \
    "peerkey-boot says on the console that the peer refused"
vm_type it "$(cat "$VM_PASS")"
ok 'vm_wait it "PEERKEY-VM-MARKER: "' \
    "the passphrase typed on the serial console unlocks the root"
ok '[ "$(vm_console_value it PEERKEY-VM-MARKER)" = "$VM_MARKER" ]' \
    "the marker read back in the guest is the one written on the host"
ok '! grep -qF "$(cat "$VM_PASS")" "$W/it.console"' \
    "the typed passphrase is not echoed on the console"
ok '! grep -q "passphrase received" "$W/it.console"' \
    "no peer released the passphrase"
ok 'vm_wait_exit it' "the guest ends the VM"
[ "$FAILED" = 0 ] || diag "$W/it.console" "$W/it.log" "$W/peerd.log"
finish
