#!/bin/sh
# test-refused.sh: the peer is up but has the guest disabled. peerkey-boot
# (in the mkinitramfs image) says on the console that the peer refused,
# its console prompt still works: the passphrase typed on the serial
# console unlocks the LUKS2 root, whose init prints the marker. The typed
# passphrase is not echoed.
. "$(dirname "$0")/lib.sh"
vm_need mkinitramfs
vm_need_peerkey
vm_kernel
vm_disk
vm_keys
vm_initramfs_tools
ok 'vm_net_up' "namespaces, bridge, tap and veth"
ok 'vm_peer_start && $VM_CTL disable guest > "$W/disable.log" 2>&1' \
    "the peer runs peerkeyd, with the guest disabled"

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
