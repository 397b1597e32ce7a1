#!/bin/sh
# test-static.sh: the whole system. Debian's kernel boots with an image
# made by mkinitramfs and the project's initramfs-tools hook; the LUKS2
# root names the peerkey keyscript (cryptopts=); peerkey-boot asks the
# peer listed in its boot.conf (192.0.2.1, a real peerkeyd in the peer's
# namespace, reached over the tap bridge), decrypts the answer with the
# boot OpenPGP key, cryptsetup opens the root, and the root's own init
# prints the marker written into the plaintext on the host.
. "$(dirname "$0")/lib.sh"
vm_need mkinitramfs
vm_need_peerkey
vm_kernel
vm_disk
vm_keys
vm_initramfs_tools
ok 'vm_net_up' "namespaces, bridge, tap and veth"
ok 'vm_peer_start' "the peer runs peerkeyd, guarding the guest's blob"

vm_start it "$VM_IT_INITRD" "$(vm_cmdline_it)"
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
