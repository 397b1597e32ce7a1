#!/bin/sh
# test-nopeer.sh: the guest enrolled its disk with the peer (as in
# test-static.sh), and the peer is down by the time it boots: nothing
# listens at the peer's address. peerkey-boot (in
# the mkinitramfs image) says the peer is unreachable and keeps its console
# prompt: the passphrase typed on the serial console unlocks the LUKS2
# root, whose init prints the marker; nothing hangs.
. "$(dirname "$0")/lib.sh"
vm_setup mkinitramfs
ok 'vm_peer_stop' "the peer's peerkeyd stops: nothing listens at its address"
vm_initramfs_tools

vm_start it "$VM_IT_INITRD" "$(vm_cmdline_it)"
ok 'vm_wait it "Please unlock disk root: "' "the console prompt is shown"
ok 'vm_wait it "peerkey-boot: vmpeer: unreachable"' \
    "peerkey-boot says on the console that the peer is unreachable"
vm_type it "$(cat "$VM_PASS")"
ok 'vm_wait it "PEERKEY-VM-MARKER: "' \
    "the passphrase typed on the serial console unlocks the root"
ok '[ "$(vm_console_value it PEERKEY-VM-MARKER)" = "$VM_MARKER" ]' \
    "the marker read back in the guest is the one written on the host"
ok 'vm_wait_exit it' "the guest ends the VM"
[ "$FAILED" = 0 ] || diag "$W/it.console" "$W/it.log"
finish
