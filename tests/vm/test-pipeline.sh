#!/bin/sh
# test-pipeline.sh: the VM machinery without any peerkey code. Debian's
# kernel boots directly (PVH) with a hand-built busybox initramfs on a tap
# device in its own namespace, bridged to the peer's namespace: the guest
# pings the peer, reads a line typed on the serial console, opens the
# LUKS2 disk (cryptsetup, device-mapper in the guest), switches to its
# ext4 root, whose init prints the marker written into the plaintext on
# the host. This proves the disk-building scheme (aes-ecb written by
# openssl at the data offset) and the console judging that the peerkey
# boots rely on.
. "$(dirname "$0")/lib.sh"
vm_need
vm_kernel
vm_disk
vm_busybox_initrd
ok 'vm_net_up' "namespaces, bridge, tap and veth"

vm_start bb "$VM_BB_INITRD" "$VM_CMDLINE"
ok 'vm_wait bb "PEERKEY-VM-PING: " && vm_wait bb "PEERKEY-VM-PING: ok" 1' \
    "the guest reaches the peer's namespace over the tap bridge"
ok 'vm_wait bb "PEERKEY-VM-TYPE-NOW"' "the guest asks for a line"
vm_type bb "hello from the host"
ok 'vm_wait bb "PEERKEY-VM-TYPED: hello from the host"' \
    "a line typed on the serial console reaches the guest"
ok 'vm_wait bb "PEERKEY-VM-MARKER: "' "the LUKS root's init runs"
ok '[ "$(vm_console_value bb PEERKEY-VM-MARKER)" = "$VM_MARKER" ]' \
    "the marker read through /dev/mapper is the one written on the host"
ok '[ "$(vm_console_value bb PEERKEY-VM-ROOT)" = /dev/mapper/root ]' \
    "the root is the dm-crypt mapping"
ok 'vm_wait_exit bb' "the guest ends the VM"
[ "$FAILED" = 0 ] || diag "$W/bb.console" "$W/bb.log"
finish
