#!/bin/sh
# test-tpm.sh: a guest with a TPM (qemu tpm-tis backed by swtpm) whose
# boot TLS key is inside it, set up as an operator does: "peerkey init
# --tpm --tpm-pcrs 9" through the guest's TPM (its swtpm state, reached
# over TCP on the host; qemu is then given that very state), then, as in
# test-static.sh, the guest joins the peer, "peerkey enroll"s its disk and
# "peerkey boot-config --tcti device:/dev/tpmrm0" writes its boot.conf
# (how the initramfs reaches the TPM); mkinitramfs with the project's
# hook. Then:
#
#	boot 1, its TPM                 -> the peer releases, the root runs
#	boot 2, same disk and initramfs,
#	        a fresh TPM (a copy)    -> one line: not this TPM's key; the
#	                                   peer is not asked, releases
#	                                   nothing; the typed passphrase
#	                                   unlocks
#	boot 3, its TPM, PCR 9 changed  -> one line: the TPM refuses to sign;
#	                                   the typed passphrase unlocks
#
# A direct kernel boot measures nothing into PCR 9 (the PCR where a boot
# chain that measures the initramfs puts it), so PCR 9 is zero in the
# guest as it was on the host when the key was made. For boot 3 the test
# changes it itself: a test-only init-top script in this test's image,
# honoured only when the kernel command line says peerkey.test-pcr=9,
# writes a raw TPM2_PCR_Extend to /dev/tpmrm0 before cryptroot runs the
# agent (no tpm2-tools in the image).
#
# The direct kernel boot leaves the kernel without usable ACPI tables, so
# the TPM is found by tpm_tis.force=1 (probing the TIS address) instead of
# its ACPI entry, as it would be on a real machine.
. "$(dirname "$0")/lib.sh"
vm_need mkinitramfs swtpm
vm_need_peerkey
. "$top_srcdir/tests/lib-swtpm.sh"
vm_kernel
vm_disk

# --- the keys: the guest's in its TPM, the peer's as usual ------------------
# (Not vm_keys: these are made afresh, with the test's own TPM.)
VM_KEYS=$W/keys
mkdir -p "$VM_KEYS"
swtpm_start "$W/gtpm" || fatal "swtpm did not start"
"$VM_PEERKEY" -d "$VM_KEYS/guest" -j init --tpm --tpm-pcrs 9 \
    --tcti "$SWTPM_TCTI" > "$VM_KEYS/guest.json" 2> "$W/init.err"
rc=$?
swtpm_stop "$W/gtpm"
"$VM_PEERKEY" -d "$VM_KEYS/peer" -j init > "$VM_KEYS/peer.json" \
    2>> "$W/init.err" || rc=1
ok '[ $rc = 0 ] && [ -s "$VM_KEYS/guest/boot/tls.tpm" ] &&
    [ ! -e "$VM_KEYS/guest/boot/tls.key" ]' \
    "peerkey init --tpm --tpm-pcrs 9 through the guest's TPM state"
[ $rc = 0 ] || diag "$W/init.err"
VM_BOOT_ID=$(sed -n 's/.*"boot_keyid": *"\([0-9a-f]*\)".*/\1/p' \
    "$VM_KEYS/guest.json")
VM_PEER_NODE_ID=$(sed -n 's/.*"node_keyid": *"\([0-9a-f]*\)".*/\1/p' \
    "$VM_KEYS/peer.json")

ok 'vm_net_up' "namespaces, bridge, tap and veths"
ok 'vm_peer_start' "the peer runs peerkeyd"
VM_BOOT_CONFIG_ARGS="--tcti device:/dev/tpmrm0"
ok 'vm_enroll' "the guest joins the peer, peerkey enroll of its disk, boot-config"
[ "$FAILED" = 0 ] || diag "$W/join.log" "$W/enroll.log" "$W/boot-config.log"
ok 'grep -q "^tpm-tcti = device:/dev/tpmrm0$" "$VM_IT_CONF" &&
    grep -q "^tpm-key = $VM_KEYS/guest/boot/tls.tpm$" "$VM_IT_CONF" &&
    $VM_CTL status | grep -q "^guest "' \
    "boot.conf names the TPM key and /dev/tpmrm0; the peer guards the guest"

# The test-only PCR hook: TPM2_PCR_Extend(PCR, SHA-256 "peerkey-test"),
# 65 bytes: header (ST_SESSIONS, size, CC 0x182), the PCR handle, a
# password session, one SHA-256 digest.
pcr_extend_cmd() {
	for _h in $( (printf '80020000004100000182%08x' "$1"
	    printf '00000009400000090000000000'
	    printf '00000001000b'
	    printf 'peerkey-test' | sha256sum | cut -c1-64) | sed 's/../& /g'); do
		printf '\\%03o' "0x$_h"
	done
}
mkdir -p "$W/scripts/init-top"
cat > "$W/scripts/init-top/peerkey-test-pcr" <<EOS
#!/bin/sh
# Test only (tests/vm/test-tpm.sh): with peerkey.test-pcr=9 on the kernel
# command line, extend PCR 9 before cryptroot runs peerkey-boot.
PREREQ=""
prereqs() { echo "\$PREREQ"; }
case "\$1" in prereqs) prereqs; exit 0 ;; esac
grep -q "peerkey.test-pcr=9" /proc/cmdline || exit 0
exec 3<> /dev/tpmrm0 || { echo "PEERKEY-VM-PCR: no /dev/tpmrm0"; exit 0; }
printf '$(pcr_extend_cmd 9)' >&3
echo "PEERKEY-VM-PCR: 9 \$(dd bs=64 count=1 <&3 2>/dev/null | od -An -tx1 | tr -d ' \n')"
exec 3<&-
EOS
chmod 755 "$W/scripts/init-top/peerkey-test-pcr"
vm_initramfs_tools_build "$VM_IT_CONF" "$W/tpm.img" "$W/scripts" \
    > "$W/mkinitramfs.log" 2>&1
rc=$?
ok '[ $rc = 0 ]' "mkinitramfs: the hook, the TPM boot key, the test's PCR hook"
[ $rc = 0 ] || diag "$W/mkinitramfs.log"

released() {
	$VM_CTL -j events 2>/dev/null | grep -c '"released"'
}

# tpm_boot NAME TPMDIR [CMDLINE...]: the guest with the TPM in TPMDIR.
tpm_boot() {
	_n=$1
	_t=$2
	shift 2
	swtpm_start_qemu "$_t" "$W/$_n.tpm.sock" || return 1
	VM_QEMU_EXTRA="-chardev socket,id=chrtpm,path=$W/$_n.tpm.sock
	    -tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-tis,tpmdev=tpm0"
	vm_start "$_n" "$W/tpm.img" \
	    "$(vm_cmdline_it tpm_tis.force=1 tpm_tis.interrupts=0 "$@")"
}
# tpm_boot_done NAME TPMDIR
tpm_boot_done() {
	vm_wait_exit "$1" || vm_stop "$1"
	swtpm_stop "$2"
}

# Boot 1: its own TPM.
tpm_boot tpm1 "$W/gtpm"
ok 'vm_wait tpm1 "peerkey-boot: vmpeer: passphrase received"' \
    "its own TPM: peerkey-boot gets the passphrase with the TPM key"
ok 'vm_wait tpm1 "PEERKEY-VM-MARKER: " &&
    [ "$(vm_console_value tpm1 PEERKEY-VM-MARKER)" = "$VM_MARKER" ]' \
    "the root unlocked by its peer runs"
tpm_boot_done tpm1 "$W/gtpm"
[ "$FAILED" = 0 ] || diag "$W/tpm1.console" "$W/peerd.log"

# Boot 2: the same disk and initramfs, another machine's TPM.
n0=$(released)
tpm_boot tpm2 "$W/freshtpm"
ok 'vm_wait tpm2 "peerkey-boot: boot key $VM_BOOT_ID: TPM device:/dev/tpmrm0: the boot key $VM_BOOT_ID was not made by this TPM .*: no peer can be asked, type the passphrase"' \
    "a fresh TPM: one console line, the key is not this TPM's"
ok 'vm_wait tpm2 "Please unlock disk root: "' "the console prompt is shown"
vm_type tpm2 "$(cat "$VM_PASS")"
ok 'vm_wait tpm2 "PEERKEY-VM-MARKER: " &&
    [ "$(vm_console_value tpm2 PEERKEY-VM-MARKER)" = "$VM_MARKER" ]' \
    "a fresh TPM: the typed passphrase unlocks"
ok '[ "$(released)" = "$n0" ] &&
    [ "$(grep -c "peerkey-boot: vmpeer:" "$W/tpm2.console")" = 0 ]' \
    "a fresh TPM: the peer was not asked and released nothing"
tpm_boot_done tpm2 "$W/freshtpm"
[ "$FAILED" = 0 ] || diag "$W/tpm2.console"

# Boot 3: its own TPM, PCR 9 changed by the test hook before the agent.
n0=$(released)
tpm_boot tpm3 "$W/gtpm" peerkey.test-pcr=9
ok 'vm_wait tpm3 "PEERKEY-VM-PCR: 9 80020000001300000000"' \
    "the test hook extended PCR 9 (TPM2_PCR_Extend answered success)"
ok 'vm_wait tpm3 "peerkey-boot: boot key $VM_BOOT_ID: TPM device:/dev/tpmrm0: PCR 9 changed since the boot key was bound to it: the TPM refuses to sign: no peer can be asked, type the passphrase"' \
    "PCR 9 changed: one console line, the TPM refuses to sign"
ok 'vm_wait tpm3 "Please unlock disk root: "' "the console prompt is shown"
vm_type tpm3 "$(cat "$VM_PASS")"
ok 'vm_wait tpm3 "PEERKEY-VM-MARKER: " &&
    [ "$(vm_console_value tpm3 PEERKEY-VM-MARKER)" = "$VM_MARKER" ]' \
    "PCR 9 changed: the typed passphrase unlocks"
ok '[ "$(released)" = "$n0" ]' "PCR 9 changed: the peer released nothing"
tpm_boot_done tpm3 "$W/gtpm"
[ "$FAILED" = 0 ] || diag "$W/tpm3.console"
finish
