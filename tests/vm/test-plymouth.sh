#!/bin/sh
# test-plymouth.sh: the initramfs-tools boot with plymouth. The guest
# enrolls its disk with the peer and writes its boot.conf (as in
# test-static.sh); the host has plymouth, whose own initramfs hook puts
# plymouth and plymouthd into the image mkinitramfs makes with the
# project's hook, and its init-premount script starts plymouthd (no
# "splash" on the command line: the details theme, text on the serial
# console). peerkey-boot finds plymouthd running ("plymouth --ping") and
# prompts through "plymouth ask-for-password" instead of the console;
# its progress lines go to plymouth too.
#
# Boot 1: the peer answers. Its passphrase unlocks the root, and the
# agent has ended plymouth's prompt: its ask-for-password child killed by
# PID and reaped, and, since plymouthd cannot withdraw a request (with
# the child killed, what is typed still goes to the old prompt), plymouthd
# quit and started again. A test init-bottom script (after cryptroot)
# finds plymouthd running and no ask-for-password process left, then asks
# plymouth for a password of its own: plymouth shows the first request it
# holds, so its prompt ("PEERKEY-VM-PROBE") shows only if ours is gone;
# the test types the answer. Boot 2: the peer is stopped. The prompt
# comes through plymouth, the passphrase typed on the serial console goes
# to plymouthd, from it through the child's pipe to the agent, and the
# root boots; the probe again.
. "$(dirname "$0")/lib.sh"
vm_setup mkinitramfs plymouth plymouthd lsinitramfs

# A test script in the image: what is left of plymouth once the root is
# unlocked (cryptroot runs in local-top, init-bottom comes after).
mkdir -p "$W/tscripts/init-bottom"
cat > "$W/tscripts/init-bottom/zz-plymouth-check" <<'EOS'
#!/bin/sh
[ "${1:-}" = prereqs ] && exit 0
askers=0
for c in /proc/[0-9]*/cmdline; do
	tr '\0' ' ' < "$c" 2>/dev/null | grep -q "ask-for-password" &&
	    askers=$((askers + 1))
done
if plymouth --ping; then ping=yes; else ping=no; fi
echo "PEERKEY-VM-PLYMOUTH: plymouthd=$ping askers=$askers"
a=$(plymouth ask-for-password --prompt=PEERKEY-VM-PROBE)
echo "PEERKEY-VM-PROBE-ANSWER: $a"
EOS
chmod 755 "$W/tscripts/init-bottom/zz-plymouth-check"
VM_IT_INITRD=$W/it-plymouth.img
vm_initramfs_tools_build "$VM_IT_CONF" "$VM_IT_INITRD" "$W/tscripts" \
    > "$W/mkinitramfs.log" 2>&1 || {
	diag "$W/mkinitramfs.log"
	fatal "mkinitramfs with the peerkey hook and plymouth failed"
}
lsinitramfs "$VM_IT_INITRD" > "$W/image.list"
ok 'grep -q "bin/plymouth$" "$W/image.list" &&
    grep -q "sbin/plymouthd$" "$W/image.list" &&
    grep -q "sbin/peerkey-boot$" "$W/image.list"' \
    "the image holds plymouth, plymouthd (plymouth's own hook) and the agent"

cmdline=$(VM_CMDLINE=$VM_CMDLINE_PLYMOUTH vm_cmdline_it)

# probe NAME: plymouth shows the init-bottom script's own request, so it
# holds none of the agent's; the answer typed reaches that script.
probe() {
	_pn=$1
	ok 'vm_wait $_pn "PEERKEY-VM-PROBE:" 90' \
	    "plymouth shows the next request: the agent's prompt is gone"
	vm_type "$_pn" probe-answer
	ok 'vm_wait $_pn "PEERKEY-VM-PROBE-ANSWER: probe-answer"' \
	    "what is typed next goes to that request, not to the agent's"
}

# Boot 1: the peer's passphrase ends the plymouth prompt.
vm_start ply1 "$VM_IT_INITRD" "$cmdline"
ok 'vm_wait ply1 "peerkey-boot: plymouth runs: the prompt goes through plymouth"' \
    "peerkey-boot finds plymouthd and prompts through it"
ok 'vm_wait ply1 "peerkey-boot: vmpeer: passphrase received"' \
    "peerkey-boot gets the passphrase from the static peer"
ok 'vm_wait ply1 "PEERKEY-VM-PLYMOUTH: "' "the test's init-bottom script runs"
ok '[ "$(vm_console_value ply1 PEERKEY-VM-PLYMOUTH)" = "plymouthd=yes askers=0" ]' \
    "after the peer's answer plymouthd runs and no ask-for-password is left"
ok 'grep -q "peerkey-boot: plymouth.s prompt ended (plymouthd restarted" "$W/ply1.console"' \
    "the agent says it ended plymouth's prompt"
probe ply1
ok 'vm_wait ply1 "PEERKEY-VM-MARKER: "' "the unlocked root's init runs"
ok '[ "$(vm_console_value ply1 PEERKEY-VM-MARKER)" = "$VM_MARKER" ]' \
    "the marker read back in the guest is the one written on the host"
ok '! grep -q "Please unlock disk root: " "$W/ply1.console"' \
    "no console prompt of the agent's beside plymouth's"
ok 'vm_wait_exit ply1' "the guest ends the VM"
[ "$FAILED" = 0 ] || diag "$W/ply1.console" "$W/peerd.log"

# Boot 2: no peer; the passphrase is typed at plymouth's prompt.
ok 'vm_peer_stop' "the peer's peerkeyd stops: nothing listens at its address"
vm_start ply2 "$VM_IT_INITRD" "$cmdline"
ok 'vm_wait ply2 "peerkey-boot: plymouth runs: the prompt goes through plymouth"' \
    "peerkey-boot prompts through plymouth"
ok 'vm_wait ply2 "peerkey-boot: vmpeer: unreachable"' \
    "peerkey-boot says the peer is unreachable"
ok 'vm_wait ply2 "Please unlock disk root"' \
    "plymouth shows the agent's prompt on the serial console"
vm_type ply2 "$(cat "$VM_PASS")"
ok 'vm_wait ply2 "peerkey-boot: passphrase typed at the plymouth prompt"' \
    "the passphrase comes from plymouth's prompt"
ok 'vm_wait ply2 "PEERKEY-VM-PLYMOUTH: "' \
    "the root is unlocked: the test's init-bottom script runs"
ok '[ "$(vm_console_value ply2 PEERKEY-VM-PLYMOUTH)" = "plymouthd=yes askers=0" ]' \
    "no ask-for-password is left after the typed answer"
probe ply2
ok 'vm_wait ply2 "PEERKEY-VM-MARKER: "' \
    "the passphrase typed through plymouth unlocked the root"
ok '[ "$(vm_console_value ply2 PEERKEY-VM-MARKER)" = "$VM_MARKER" ]' \
    "the marker read back in the guest is the one written on the host"
ok '! grep -q "Please unlock disk root: " "$W/ply2.console"' \
    "no console prompt of the agent's beside plymouth's"
ok 'vm_wait_exit ply2' "the guest ends the VM"
[ "$FAILED" = 0 ] || diag "$W/ply2.console"
finish
