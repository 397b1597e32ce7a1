#!/bin/sh
# test-tpm.sh: a guest with a TPM (qemu tpm-tis backed by swtpm) whose
# boot TLS key is inside it. The guest's keys are made by the operator's
# commands: "peerkey init --tpm --tpm-pcrs 9" through the same TPM's
# state (swtpm over TCP on the host, then the very state given to qemu),
# its own peerkeyd on the host knowing the peer, "peerkey boot-config
# --tcti device:/dev/tpmrm0" (how the initramfs reaches the TPM), and
# mkinitramfs with the project's hook. Then:
#
#	boot 1, its TPM                 -> the peer releases, the root runs
#	boot 2, same disk and initramfs,
#	        a fresh TPM (a copy)    -> one line: not this TPM's key; the
#	                                   peer releases nothing; the typed
#	                                   passphrase unlocks
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
vm_keys

# --- the guest's keys: peerkey init --tpm through its own TPM ---------------
G=$W/guest
swtpm_start "$W/gtpm" || fatal "swtpm did not start"
PEERKEY_DIR=$G "$VM_PEERKEY" -j init --tpm --tpm-pcrs 9 --tcti "$SWTPM_TCTI" \
    > "$W/init.json" 2> "$W/init.err"
rc=$?
swtpm_stop "$W/gtpm"
ok '[ $rc = 0 ] && [ -s "$G/boot/tls.tpm" ]' \
    "peerkey init --tpm --tpm-pcrs 9 through the guest's TPM state"
[ $rc = 0 ] || diag "$W/init.err"
VM_BOOT_ID=$(sed -n 's/.*"boot_keyid": "\([0-9a-f]*\)".*/\1/p' "$W/init.json")
# The peer encrypts to the guest's boot OpenPGP key.
VM_BOOT_PGP=$W/gpgpub
mkdir -p "$VM_BOOT_PGP"
cp "$G/boot/pgp.pub" "$VM_BOOT_PGP/pgp.pub"
mkdir -m 700 "$W/fprgpg"
GNUPGHOME=$W/fprgpg gpg --batch -q --import "$G/boot/pgp.pub" 2>/dev/null
GNUPGHOME=$W/fprgpg gpg --list-keys --with-colons 2>/dev/null |
    awk -F: '/^fpr/ { print $10; exit }' > "$VM_BOOT_PGP/fpr"
gpgconf --homedir "$W/fprgpg" --kill gpg-agent 2>/dev/null

# The guest's own peerkeyd (on the host's loopback: it only has to tell
# boot-config its peer), then boot-config.
mkdir -p "$G/state" "$G/run"
GP=$(free_port)
cat > "$G/peerkeyd.conf" <<EOC
[node]
name = guest
key = $G/node.key
state-directory = $G/state
runtime-directory = $G/run
listen = 127.0.0.1
port = $GP
[announce]
enable = no
EOC
spawn guestd "$VM_PEERKEYD" -d -f "$G/peerkeyd.conf"
GCTL="$VM_PEERKEY -d $G -s $G/run/control.sock"
wait_for "$GCTL status" 20 || fatal "the guest's peerkeyd did not start"
$GCTL peer add vmpeer --boot-key "$("$VM_PKTOOL" keygen "$W/peerboot.key")" \
    --node-key "$VM_PEER_NODE_ID" --address "$VM_PEER_IP:$VM_PORT" \
    > "$W/gadd.log" 2>&1
printf '[boot]\nretry-max = 2s\nmdns = no\n' > "$G/boot.conf"
$GCTL boot-config --tcti device:/dev/tpmrm0 > "$W/bc.log" 2>&1
rc=$?
ok '[ $rc = 0 ] && grep -q "^tpm-tcti = device:/dev/tpmrm0$" "$G/boot.conf" &&
    grep -q "^tpm-key = $G/boot/tls.tpm$" "$G/boot.conf" &&
    grep -q "^address = $VM_PEER_IP:$VM_PORT$" "$G/boot.conf"' \
    "boot-config --tcti device:/dev/tpmrm0: the TPM key and the peer"
[ $rc = 0 ] || diag "$W/gadd.log" "$W/bc.log" "$G/boot.conf"
stop "$PID_guestd"

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
vm_initramfs_tools_build "$G/boot.conf" "$W/tpm.img" "$W/scripts" \
    > "$W/mkinitramfs.log" 2>&1
rc=$?
ok '[ $rc = 0 ]' "mkinitramfs: the hook, the TPM boot key, the test's PCR hook"
[ $rc = 0 ] || diag "$W/mkinitramfs.log"

ok 'vm_net_up' "namespaces, bridge, tap and veth"
ok 'vm_peer_start' "the peer runs peerkeyd, guarding the guest's TPM key id"
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
