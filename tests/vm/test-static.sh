#!/bin/sh
# test-static.sh: the whole system. The guest, before its reboot (its own
# peerkeyd in a namespace at its address), joins the peer with an
# invitation code, "peerkey enroll"s its disk and writes its boot.conf
# with "peerkey boot-config". Debian's kernel boots with an image made by
# mkinitramfs and the project's initramfs-tools hook from that boot.conf;
# the LUKS2 root names the peerkey keyscript (cryptopts=, no key: the key
# field is "none"); peerkey-boot, told the device by the keyscript, reads
# the disk's UUID from its header and asks the peer listed in boot.conf
# (192.0.2.1, a real peerkeyd in the peer's namespace, reached over the
# tap bridge) for what enroll deposited, decrypts it with the boot OpenPGP
# key and checks it against the header; cryptsetup opens the root, and
# the root's own init prints the marker written into the plaintext on the
# host.
. "$(dirname "$0")/lib.sh"
vm_setup mkinitramfs
vm_initramfs_tools

vm_start it "$VM_IT_INITRD" "$(vm_cmdline_it)"
ok 'vm_wait it "peerkey-boot: unlocking /dev/[^ ]* \\(LUKS UUID $VM_LUKS_UUID\\)"' \
    "the keyscript names the device; the agent reads its UUID from the header"
ok 'vm_wait it "peerkey-boot: vmpeer: passphrase received"' \
    "peerkey-boot gets the passphrase from the static peer"
ok 'vm_wait it "PEERKEY-VM-MARKER: "' "the unlocked root's init runs"
ok '[ "$(vm_console_value it PEERKEY-VM-MARKER)" = "$VM_MARKER" ]' \
    "the marker read back in the guest is the one written on the host"
ok '[ "$(vm_console_value it PEERKEY-VM-ROOT)" = /dev/mapper/root ]' \
    "the root is the dm-crypt mapping"
ok 'vm_wait_exit it' "the guest ends the VM"
ok 'grep -q "released" "$W/peerd.log"' "the peer logged the release"
[ "$FAILED" = 0 ] || diag "$W/it.console" "$W/it.log" "$W/peerd.log"
finish
