#!/bin/sh
# test-debian.sh: the operator's whole path in a real Debian 12 guest
# (lib-guest.sh: systemd, root on LUKS2, /boot apart, made by mmdebstrap
# and an installer boot), with a peer (the real peerkeyd in a namespace
# bridged to the guest), and only the operator's commands in the guest,
# typed at its root shell on the serial console, as README.md's runbook
# says them:
#
#   boot 1   the passphrase typed at cryptsetup's prompt; then install the
#            project's .debs (apt, from a disk: no network), the user and
#            keys (package scripts, "peerkey init" keeps them), peerkeyd
#            enabled and running, join the peer with a code from
#            "peerkey invite" there, "peerkey enroll" the root device,
#            keyscript=peerkey in crypttab, IP= for the initramfs, "peerkey
#            boot-config --update-initramfs", the check "peerkey-boot
#            --dry-run -d /dev/vda" (and with -b luks-UUID, the blob's
#            name in the runbook: enroll deposits what the boot asks
#            for), reboot;
#   boot 2   unlocked by the peer with nothing typed; the system is up
#            (multi-user, nothing failed: the initramfs' network does not
#            break ifupdown's); poweroff, and the peer's timeout passes;
#   boot 3   the peer refuses; the typed passphrase still unlocks;
#            then remove peerkey: the daemon stops, keys and store stay
#            (the purge is tests/pkg/deb-chroot.sh's).
#
# PEERKEY_VM_DEBS: the .debs to install (default: make check-pkg's).
# PEERKEY_VM_CACHE (default /var/cache/peerkey-vm) keeps the base system
# and the installed disks between runs; PEERKEY_VM_NO_KVM=1 forces TCG.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-guest.sh"
vm_need mmdebstrap debugfs mke2fs dpkg-deb cpio gzip
vm_need_peerkey
ls "$GUEST_DEBS"/peerkey_*.deb "$GUEST_DEBS"/peerkey-boot_*.deb \
    "$GUEST_DEBS"/peerkey-initramfs-tools_*.deb > /dev/null 2>&1 ||
    fatal "no packages in $GUEST_DEBS (make check-pkg builds them first)"
mkdir -p "$GUEST_CACHE"
vm_kernel
guest_accel
phase "accelerator: $GUEST_ACCEL"
guest_rootfs
phase "base system: $GUEST_TAR"
guest_install
phase "installed disks: $(dirname "$GUEST_ROOT_IMG")"

ok 'vm_net_up' "namespaces, bridge, tap and veths"
ok 'guest_disks' "the run's copies of the disks, the .debs on a third"

# --- boot 1: typed -------------------------------------------------------------
phase "boot 1 (the passphrase typed)"
t_start=$(date +%s)
guest_start b1
ok 'vm_wait b1 "Please unlock disk root" 900' \
    "boot 1: cryptsetup asks for the passphrase on the serial console"
t_prompt=$(date +%s)
vm_type b1 "$GUEST_PASS"
ok 'vm_wait b1 "root@guest:~# " 900' \
    "boot 1: the typed passphrase unlocks the root; the root shell is up"
phase "boot 1: up"
guest_sh b1 "export TERM=dumb DEBIAN_FRONTEND=noninteractive" 300
# The peer: keys by "peerkey init", its peerkeyd; a guest unseen for
# $GUEST_TIMEOUT is disabled: twice what boot 1 took to reach its
# prompt, and a minute (a reboot must fit in it, however loaded the
# machine; the power-off then waits that long).
GUEST_TIMEOUT=$((2 * (t_prompt - t_start) + 60))
"$VM_PEERKEY" -d "$W/peer/keys" init > "$W/peer-init.log" 2>&1 ||
    fatal "peerkey init of the peer failed"
mkdir -p "$W/peer/state" "$W/peer/run"
cat > "$W/peer/peerkeyd.conf" <<EOC
[node]
name = vmpeer
key = $W/peer/keys/node.key
state-directory = $W/peer/state
runtime-directory = $W/peer/run
port = $VM_PORT

[liveness]
interval = 2s
timeout = ${GUEST_TIMEOUT}s
extended-timeout = 0

[announce]
enable = no
EOC
spawn peerd ip netns exec "$VM_NS_PEER" "$VM_PEERKEYD" -d \
    -f "$W/peer/peerkeyd.conf"
VM_CTL="$VM_PEERKEY -d $W/peer/keys -s $W/peer/run/control.sock"
ok 'wait_for "$VM_CTL status" 20' "the peer runs peerkeyd"
phase "the peer runs; it disables a guest unseen for ${GUEST_TIMEOUT}s"
guest_ok b1 "systemctl is-system-running --wait" \
    "boot 1: the system is running, nothing failed" 300
[ "$GUEST_RC" = 0 ] || guest_sh b1 "systemctl --failed --no-pager" 300

# install -> user -> init -> enable
phase "boot 1: apt install"
guest_ok b1 "mount -o ro /dev/vdc /mnt && cd /mnt && apt install -y ./peerkey*.deb; r=\$?; cd /; umount /mnt; [ \$r = 0 ]" \
    "apt install ./peerkey*.deb: the three packages and their dependencies" 1800
guest_ok b1 "getent passwd peerkey" "the system user peerkey exists" 300
guest_ok b1 "peerkey init" "peerkey init (the keys the package made are kept)" 300
guest_ok b1 "systemctl enable --now peerkeyd && systemctl is-active peerkeyd" \
    "peerkeyd is enabled and running" 300

# invite/join
phase "boot 1: join, enroll, boot-config"
code=$(ip netns exec "$VM_NS_PEER" $VM_CTL invite 2> "$W/invite.log")
ok '[ -n "$code" ]' "peerkey invite on the peer prints a code"
guest_ok b1 "peerkey join $code" "peerkey join CODE: the guest joins the peer" 300
# Joined, the guest is unguarded there until it deposits (liveness.guard
# = held): the peer heartbeats only the machines it holds something of.
ok 'wait_for "$VM_CTL status | grep -q -E \"^guest +unguarded \"" 120' \
    "the peer lists the guest, unguarded until it deposits"
# enroll: the existing passphrase typed at enroll's prompt
phase "boot 1: enroll"
GUEST_N=$((GUEST_N + 1))
vm_type b1 "peerkey enroll /dev/vda; echo PKRC-$GUEST_N=\$?"
vm_wait b1 "Enter an existing passphrase" 300 && vm_type b1 "$GUEST_PASS"
ok 'vm_wait b1 "PKRC-$GUEST_N=[0-9]" 600 &&
    grep -q "PKRC-$GUEST_N=0" "$W/b1.console" &&
    guest_out b1 | grep -q "held by: vmpeer" &&
    guest_out b1 | grep -q -E "blob luks-[0-9a-f-]{36}"' \
    "peerkey enroll /dev/vda: a keyslot added, its blob luks-UUID held by the peer"
ok 'guest_out b1 | grep -q "maintenance key in keyslot [0-9]* (/etc/peerkey/maint/"' \
    "...and a maintenance key, the root being on dm-crypt (peerkey reshare)"
ok '$VM_CTL status | grep -q -E "^guest +enabled "' \
    "the deposit is a proof of life: the peer guards the guest, enabled"
# crypttab / ip= (IP= of initramfs.conf: no boot loader to edit here)
phase "boot 1: crypttab, IP=, boot-config"
guest_ok b1 "sed -i '/^root /s/\$/,keyscript=peerkey/' /etc/crypttab && cat /etc/crypttab" \
    "crypttab: keyscript=peerkey on the root's line" 300
guest_ok b1 "echo IP=$VM_GUEST_IP:::255.255.255.0:guest:eth0:off >> /etc/initramfs-tools/initramfs.conf" \
    "the initramfs' network: IP= in initramfs.conf" 300
guest_ok b1 "peerkey boot-config --update-initramfs" \
    "peerkey boot-config --update-initramfs" 1800
# check
guest_ok b1 "peerkey-boot --dry-run -d /dev/vda" \
    "peerkey-boot --dry-run -d /dev/vda: the peer's passphrase opens the disk" 300
ok 'guest_out b1 | grep -q "dry run: the passphrase from vmpeer opens /dev/vda"' \
    "the check says which peer's passphrase opens which disk"
# The blob by the name the runbook and peerkey-boot(8) give it (-b, or
# crypttab's key field): what enroll deposited is what the boot asks for.
guest_ok b1 "peerkey-boot --dry-run -b luks-\$(cryptsetup luksUUID /dev/vda) -d /dev/vda" \
    "peerkey-boot --dry-run -b luks-UUID: the blob the runbook names opens the disk" 300
phase "boot 1: reboot"
vm_type b1 "systemctl reboot"
ok 'vm_wait_exit b1 600' "boot 1: the guest reboots"

# --- boot 2: unlocked by the peer ---------------------------------------------
phase "boot 2 (unlocked by the peer)"
guest_start b2
ok 'vm_wait b2 "peerkey-boot: vmpeer: passphrase received" 900' \
    "boot 2: the peer's passphrase arrives in the initramfs"
ok 'vm_wait b2 "root@guest:~# " 900' \
    "boot 2: the root is unlocked with nothing typed; the root shell is up"
guest_sh b2 "export TERM=dumb" 300
guest_ok b2 "systemctl is-system-running --wait" \
    "boot 2: the system is running, nothing failed (ifupdown's eth0 too)" 300
[ "$GUEST_RC" = 0 ] || guest_sh b2 "systemctl --failed --no-pager; journalctl -b -u networking --no-pager | tail -n 20" 300
guest_ok b2 "[ \$(ip -4 -o addr show dev eth0 | wc -l) = 1 ] && systemctl is-active peerkeyd" \
    "boot 2: eth0 has its one address; peerkeyd runs" 300
phase "boot 2: poweroff, wait for the peer's timeout"
vm_type b2 "systemctl poweroff"
ok 'vm_wait_exit b2 600' "boot 2: the guest powers off"
ok 'wait_for "$VM_CTL status | grep -q \"^guest .*disabled\"" $((GUEST_TIMEOUT + 120))' \
    "the peer disables the guest once it is unseen for ${GUEST_TIMEOUT}s"

# --- boot 3: refused, typed -----------------------------------------------------
phase "boot 3 (refused; typed)"
guest_start b3
ok 'vm_wait b3 "peerkey-boot: vmpeer: refused" 900' \
    "boot 3: the peer refuses (the console says so)"
ok 'vm_wait b3 "Please unlock disk root" 300' "boot 3: the prompt is there"
vm_type b3 "$GUEST_PASS"
ok 'vm_wait b3 "root@guest:~# " 900' \
    "boot 3: the typed passphrase still unlocks the root"
ok '! grep -q "passphrase received" "$W/b3.console"' \
    "boot 3: no peer released the passphrase"
guest_sh b3 "export TERM=dumb DEBIAN_FRONTEND=noninteractive" 300

# --- remove: the daemon stops, the keys and store stay ----------------------------
# (Purging, and the image rebuilt without peerkey, is tests/pkg/
# deb-chroot.sh's: here it would cost one more image under TCG.)
phase "boot 3: remove"
guest_ok b3 "apt-get remove -y peerkey && [ -s /etc/peerkey/node.key ] && [ -d /var/lib/peerkey ] && ! systemctl is-active peerkeyd" \
    "removing peerkey stops peerkeyd, keeps its keys and store" 300
vm_type b3 "systemctl poweroff"
ok 'vm_wait_exit b3 600' "boot 3: the guest powers off"
phase "done"
[ "$FAILED" = 0 ] || diag "$W/b1.console" "$W/b2.console" "$W/b3.console" \
    "$W/peerd.log"
finish
