#!/bin/sh
# test-tpm.sh: peerkey-boot with its boot TLS key inside a TPM (swtpm,
# tests/lib-swtpm.sh), as the operator's commands make it: "peerkey init
# --tpm --tpm-pcrs 7" on the machine ("me"), its own peerkeyd guarding
# nothing but knowing its peer "good", "peerkey boot-config" writing the
# boot.conf; "good" is a real peerkeyd holding the blob "peerkey enroll"
# deposited for me's disk (signed by me's node key) for the TPM key.
#
#	this boot, same TPM                  -> the passphrase from good
#	PCR 7 extended (another boot chain)  -> one line, the typed passphrase
#	the TPM rebooted (PCRs reset)        -> the passphrase again
#	another machine's TPM (a copy)       -> one line, typed; good sees
#	                                        nothing and releases nothing;
#	                                        ask-password mode: one line,
#	                                        waits for the request to go
#	no TPM; a TPM that hangs             -> one line, typed, on time
#	a real Mandos server, the TPM key    -> the passphrase (protocol 1)
#	the initramfs mkinitramfs made       -> tss2 and the key in it; its
#	                                        agent unlocks; its files used
#	                                        with another TPM get nothing
#	the dracut module                    -> tss2 and the key in it
. "$(dirname "$0")/lib-boot.sh"
need_root
need swtpm tpm2_pcrextend gpg python3 mandos dbus-daemon mkinitramfs \
    lsinitramfs unmkinitramfs dracut lsinitrd systemd-ask-password unshare \
    cryptsetup
. "$top_srcdir/tests/lib-swtpm.sh"
PEERKEYD=$top_builddir/src/node/peerkeyd
PEERKEY=$top_builddir/src/cli/peerkey
PKTOOL=$top_builddir/tests/tools/pktool
[ -x "$PEERKEYD" ] && [ -x "$PEERKEY" ] && [ -x "$PKTOOL" ] ||
    fatal "peerkeyd, peerkey or pktool not built"
"$PEERKEY" init --tpm --tcti device:/nonexistent >/dev/null 2>"$W/sup"
grep -q "built without TPM support" "$W/sup" &&
    skip "peerkey built without TPM support"

# A peerkeyd; sets PORT_NAME, KEY_NAME. KEYFILE: its node key (made if
# missing).
start_node() {
	_d=$W/$1
	mkdir -p "$_d/state" "$_d/run"
	_kf=${2:-$_d/node.key}
	[ -s "$_kf" ] || "$PKTOOL" keygen "$_kf" >/dev/null
	_p=$(free_port)
	cat > "$_d/peerkeyd.conf" <<EON
[node]
name = $1
key = $_kf
state-directory = $_d/state
runtime-directory = $_d/run
listen = 127.0.0.1
port = $_p
log-level = debug
[announce]
enable = no
EON
	spawn "node_$1" "$PEERKEYD" -d -f "$_d/peerkeyd.conf"
	eval "PORT_$1=$_p"
	eval "KEY_$1=$("$PKTOOL" keyid "$_kf" 2>/dev/null)"
	wait_for "grep -q 'ready on port' '$W/node_$1.log'" 10
}
pk() {
	_n=$1
	shift
	"$PEERKEY" -s "$W/$_n/run/control.sock" "$@"
}

# --- the machine: its keys, its TPM --------------------------------------
swtpm_start "$W/tpm-me" || fatal "swtpm did not start"
TCTI_ME=$SWTPM_TCTI
export PEERKEY_DIR="$W/me"
"$PEERKEY" -j init --tpm --tpm-pcrs 7 --tcti "$TCTI_ME" > "$W/init.json" \
    2> "$W/init.err"
rc=$?
ok '[ $rc = 0 ] && [ -s "$W/me/boot/tls.tpm" ] && [ ! -e "$W/me/boot/tls.key" ] &&
    [ "$(stat -c %a "$W/me/boot/tls.tpm")" = 600 ] &&
    [ "$(cat "$W/me/boot/tls.tcti")" = "$TCTI_ME" ]' \
    "peerkey init --tpm --tpm-pcrs 7: boot/tls.tpm (0600) and the TCTI; no software key"
[ $rc = 0 ] || diag "$W/init.err"
TPM_ID=$(sed -n 's/.*"boot_keyid": "\([0-9a-f]*\)".*/\1/p' "$W/init.json")
ok 'grep -q "\"boot_key_tpm\": true" "$W/init.json" &&
    grep -q "\"boot_key_pcrs\": \"7\"" "$W/init.json" && [ ${#TPM_ID} = 64 ]' \
    "init says: a TPM key, bound to PCR 7, its key id"
"$PEERKEY" init > "$W/init2.out" 2>&1
ok 'grep -q "^boot key     $TPM_ID  (kept, in the TPM, bound to PCR 7)" "$W/init2.out"' \
    "init again (without --tpm) keeps the TPM key"

# The blob: a passphrase encrypted to me's boot OpenPGP key.
printf 'tpm-bound-pass' > "$W/pass"
mkdir -m 700 "$W/seal"
GNUPGHOME=$W/seal gpg --batch -q --import "$W/me/boot/pgp.pub" 2>/dev/null
FPR=$(GNUPGHOME=$W/seal gpg --list-keys --with-colons 2>/dev/null |
    awk -F: '/^fpr/ { print $10; exit }')
GNUPGHOME=$W/seal gpg --batch -q --trust-model always -r "$FPR" \
    --encrypt < "$W/pass" > "$W/blob" 2>/dev/null
stop_gpg_agents "$W/seal"
# (That bare message is for Debian's mandos below, which cannot sign; the
# peerkeyd "good" holds what "peerkey enroll" deposits.)

# --- good guards me; me's own peerkeyd knows good; enroll; boot-config --
start_node good
pk good peer add me --boot-key "$TPM_ID" \
    --node-key "$("$PKTOOL" keyid "$W/me/node.key")" --timeout 1h > /dev/null
rc=$?
ok '[ $rc = 0 ]' "good: me added with its TPM boot key id and node key"
start_node me "$W/me/node.key"
GOOD_BOOT=$("$PKTOOL" keygen "$W/good/boot.key")
pk me peer add good --boot-key "$GOOD_BOOT" --node-key "$KEY_good" \
    --address "127.0.0.1:$PORT_good" > "$W/me-add.out" 2>&1
rc=$?
ok '[ $rc = 0 ]' "me's peerkeyd knows good"
[ $rc = 0 ] || diag "$W/me-add.out"
# me's disk, enrolled as an operator does: its key signed by me's node key
# and deposited with good.
printf 'typed-tpm-disk' > "$W/typed"
truncate -s 20M "$W/disk.img"
cryptsetup -q luksFormat --type luks2 --pbkdf pbkdf2 \
    --pbkdf-force-iterations 1000 --key-file "$W/typed" "$W/disk.img" \
    > /dev/null 2>&1
"$PEERKEY" -s "$W/me/run/control.sock" enroll "$W/disk.img" \
    --key-file "$W/typed" > "$W/enroll.out" 2>&1
rc=$?
ok '[ $rc = 0 ] && grep -q "held by: good" "$W/enroll.out"' \
    "peerkey enroll: me's disk key, held by good"
[ $rc = 0 ] || diag "$W/enroll.out"
# opens FILE: FILE holds a passphrase of me's disk.
opens() {
	cryptsetup open --test-passphrase --key-file "$1" "$W/disk.img" \
	    2> /dev/null
}
mkdir -m 700 "$W/run"
printf '[boot]\nwork-directory = %s\nprompt = no\nmdns = no\nretry-min = 200ms\nretry-max = 1s\n' \
    "$W/run" > "$W/me/boot.conf"
"$PEERKEY" -s "$W/me/run/control.sock" boot-config > "$W/bc.out" 2>&1
rc=$?
C=$W/me/boot.conf
ok '[ $rc = 0 ] && grep -q "^tpm-key = $W/me/boot/tls.tpm$" "$C" &&
    grep -q "^tpm-tcti = $TCTI_ME$" "$C" && ! grep -q "^tls-key" "$C" &&
    grep -q "^\[peer good\]$" "$C"' \
    "boot-config names the TPM key and its TCTI, no tls-key, and the peer"
[ $rc = 0 ] || diag "$W/bc.out" "$C"
"$AGENT" -n -c "$C" 2> "$W/n.err"
ok 'grep -q "configuration OK (1 address, boot key $TPM_ID in the TPM)" "$W/n.err"' \
    "peerkey-boot -n: the TPM key's id, without opening the TPM"

# --- boots -----------------------------------------------------------------
# boot NAME [CONF] [give-up]: the agent, its stdout and stderr in $W/NAME.*
boot() {
	timeout 30 "$AGENT" -c "${2:-$C}" -g "${3:-15s}" > "$W/$1.out" \
	    2> "$W/$1.err"
}
# typed NAME CONF: the agent with a prompt on a FIFO; one line typed once
# it has said why no peer can be asked.
typed() {
	rm -f "$W/$1.fifo"
	mkfifo "$W/$1.fifo"
	sed "s|^prompt = no|prompt = yes\nprompt-device = $W/$1.fifo|" "$2" \
	    > "$W/$1.run.conf"
	timeout 30 "$AGENT" -c "$W/$1.run.conf" -g 20s > "$W/$1.out" \
	    2> "$W/$1.err" &
	_a=$!
	wait_for "grep -q 'type the passphrase' '$W/$1.err'" 20
	# (A signal may interrupt the shell's open of the FIFO: again.)
	_i=0
	until printf 'typed at the console\n' 2>/dev/null > "$W/$1.fifo"; do
		_i=$((_i + 1))
		[ $_i -lt 50 ] && kill -0 $_a 2>/dev/null || break
		sleep 0.1
	done
	wait $_a
}
# said_once ERR: a typed boot's stderr is the one line about the TPM and
# then the line saying the passphrase was typed, nothing else.
said_once() {
	[ "$(wc -l < "$1")" = 2 ] &&
	    [ "$(sed -n 2p "$1")" = "peerkey-boot: passphrase typed at the console prompt" ]
}
released() {
	pk good -j events 2>/dev/null | grep -c '"released"'
}

boot ok1
rc=$?
ok '[ $rc = 0 ] && opens "$W/ok1.out"' \
    "the TPM key's handshake with good: the enrolled disk's key"
ok 'grep -q "^peerkey-boot: good: passphrase received$" "$W/ok1.err"' \
    "progress: good: passphrase received"
[ $rc = 0 ] || diag "$W/ok1.err" "$W/node_good.log"
ok 'grep -q "$TPM_ID" "$W/node_good.log" && [ "$(released)" = 1 ]' \
    "good released it to the TPM key id (and logged the id)"

# PCR 7 changes, as another boot chain would measure.
swtpm_pcr_extend "$TCTI_ME" 7
n0=$(released)
typed pcr "$C"
rc=$?
ok '[ $rc = 0 ] && [ "$(cat "$W/pcr.out")" = "typed at the console" ]' \
    "PCR 7 extended: the typed passphrase still unlocks"
ok 'said_once "$W/pcr.err" &&
    grep -q "^peerkey-boot: boot key $TPM_ID: TPM $TCTI_ME: PCR 7 changed since the boot key was bound to it: the TPM refuses to sign: no peer can be asked, type the passphrase$" "$W/pcr.err"' \
    "PCR 7 extended: one console line says so"
said_once "$W/pcr.err" || diag "$W/pcr.err"
ok '[ "$(released)" = "$n0" ]' "PCR 7 extended: good released nothing"

# The same TPM after a reboot: PCRs reset, the key signs again.
swtpm_stop "$W/tpm-me"
swtpm_start "$W/tpm-me" || fatal "swtpm did not restart"
sed "s|^tpm-tcti = .*|tpm-tcti = $SWTPM_TCTI|" "$C" > "$W/reboot.conf"
boot ok2 "$W/reboot.conf"
rc=$?
ok '[ $rc = 0 ] && opens "$W/ok2.out"' \
    "the TPM rebooted (PCR 7 back to its boot value): the passphrase again"

# A copy of the initramfs' files on another machine: another TPM.
swtpm_start "$W/tpm-thief" || fatal "the thief's swtpm did not start"
sed "s|^tpm-tcti = .*|tpm-tcti = $SWTPM_TCTI|" "$C" > "$W/thief.conf"
# tpm_seen: how many handshakes good has seen with the TPM boot key, or
# failed at all. Other connections (the machine's own node heartbeating
# good) are not the thief's and do not count.
tpm_seen() {
	{ grep -F "$TPM_ID" "$W/node_good.log"
	  grep "handshake" "$W/node_good.log" | grep -v "handshake done"; } |
	    wc -l
}
n0=$(released)
c0=$(tpm_seen)
typed thief "$W/thief.conf"
rc=$?
ok '[ $rc = 0 ] && [ "$(cat "$W/thief.out")" = "typed at the console" ] &&
    said_once "$W/thief.err" &&
    grep -q "^peerkey-boot: boot key $TPM_ID: TPM .*: the boot key $TPM_ID was not made by this TPM" "$W/thief.err"' \
    "another TPM: cannot load the key, one line, only a typed passphrase"
ok '[ "$(released)" = "$n0" ] &&
    [ "$(tpm_seen)" = "$c0" ]' \
    "another TPM: good saw no handshake and released nothing"

# The same in ask-password mode (dracut): systemd's own agent prompts;
# peerkey-boot says the one line and stays until the request is gone (no
# restart by the path unit, no second line).
cat > "$W/ask.sh" <<EOS
#!/bin/sh
mkdir -p /run/systemd/ask-password
mount -t tmpfs tmpfs /run/systemd/ask-password || exit 9
systemd-ask-password --no-tty --timeout=3 -n \
    --id=cryptsetup:/dev/disk/by-uuid/1234 "Please enter passphrase:" \
    > /dev/null 2>&1 &
"$AGENT" -a -c "$W/thief.conf" -g 20s 2> "$W/ask.err"
echo \$? > "$W/ask.rc"
EOS
chmod +x "$W/ask.sh"
unshare --mount --propagation private "$W/ask.sh"
ok '[ "$(cat "$W/ask.rc")" = 4 ] && [ "$(wc -l < "$W/ask.err")" = 1 ] &&
    grep -q "was not made by this TPM" "$W/ask.err"' \
    "ask-password mode, another TPM: one line, then it waits for the request to go (exit 4)"
[ "$(wc -l < "$W/ask.err")" = 1 ] || diag "$W/ask.err"

# No TPM at all.
sed "s|^tpm-tcti = .*|tpm-tcti = device:$W/no/tpmrm0|" "$C" > "$W/none.conf"
typed none "$W/none.conf"
rc=$?
ok '[ $rc = 0 ] && said_once "$W/none.err" &&
    grep -q "^peerkey-boot: boot key $TPM_ID: no TPM: $W/no/tpmrm0: No such file or directory: no peer can be asked" "$W/none.err"' \
    "no TPM: one line, the typed passphrase"

# A TPM that never answers: bounded by tpm-timeout.
swtpm_hung_start "$W/hung" "$SWTPM_TCTI" || fatal "hung TPMs"
sed "s|^tpm-tcti = .*|tpm-tcti = swtpm:host=127.0.0.1,port=$SWTPM_MUTE_PORT\ntpm-timeout = 1s|" \
    "$C" > "$W/hung.conf"
timed typed hung "$W/hung.conf"
ok '[ $rc = 0 ] && said_once "$W/hung.err" &&
    grep -q "loading the boot key: no answer within 1000 ms: no peer can be asked" "$W/hung.err"' \
    "a TPM that hangs: one line after tpm-timeout, the typed passphrase (${el} ms)"
swtpm_stop "$W/hung"	# it holds the thief TPM's control channel

# Mandos protocol 1 with the TPM key, against Debian's real mandos server.
P1=$(free_port)
start_mandos "$W/m1" "$P1" "$W/blob" "$TPM_ID" "$FPR"
{
	sed -n '/^\[boot\]/,/^$/p' "$W/reboot.conf" | sed '/^$/d'
	printf '\n[mandos m1]\naddress = 127.0.0.1:%s\n' "$P1"
} > "$W/mandos.conf"
boot mandos "$W/mandos.conf"
rc=$?
ok '[ $rc = 0 ] && cmp -s "$W/mandos.out" "$W/pass" &&
    grep -q "^peerkey-boot: m1: passphrase received$" "$W/mandos.err"' \
    "Mandos protocol 1: a real mandos server serves the TPM key's id"
[ $rc = 0 ] || diag "$W/mandos.err" "$W/mandos_$P1.log"

# --- the real initramfs: mkinitramfs with the project's hook ---------------
# The image is made from the boot.conf above (the TPM as it is now); its
# own agent and tss2 libraries run in a chroot of it.
KVER=$(ls /lib/modules 2>/dev/null | sort -V | tail -n 1)
[ -n "$KVER" ] || fatal "no kernel installed (linux-image-amd64)"
IC=$W/itconf
mkdir -p "$IC/hooks" "$IC/scripts" "$IC/conf.d"
printf 'MODULES=list\nBUSYBOX=auto\nCOMPRESS=gzip\nUMASK=0077\n' \
    > "$IC/initramfs.conf"
: > "$IC/modules"
cp "$top_builddir/initramfs/initramfs-tools/hooks/peerkey" "$IC/hooks/"
PEERKEY_BOOT_CONF=$W/reboot.conf PEERKEY_BOOT_AGENT=$AGENT \
    PEERKEY_KEYSCRIPT=$top_builddir/initramfs/initramfs-tools/scripts/peerkey \
    mkinitramfs -d "$IC" -o "$W/it.img" "$KVER" > "$W/mkinitramfs.log" 2>&1
rc=$?
ok '[ $rc = 0 ]' "mkinitramfs with the hook and the TPM boot key's boot.conf"
[ $rc = 0 ] || diag "$W/mkinitramfs.log"
lsinitramfs -l "$W/it.img" > "$W/it.list" 2>/dev/null
ok 'grep " ${W#/}/me/boot/tls\.tpm$" "$W/it.list" | grep -q "^-rw-------" &&
    ! grep -q "/tls\.key$" "$W/it.list"' \
    "image: the TPM key file (0600), no software key"
ok 'for l in esys mu rc tctildr tcti-swtpm; do
	grep -Eq "/libtss2-$l\.so\.[0-9]( |$)" "$W/it.list" || exit 1
    done' "image: the tss2 libraries and the TCTI module (dlopen()ed: not in ldd)"
mkdir "$W/x"
unmkinitramfs "$W/it.img" "$W/x" 2>/dev/null
R=$W/x
[ -d "$W/x/main" ] && R=$W/x/main
mkdir -p "$R/dev" "$R/proc" "$R$W/run" "$R/tmp"
chmod 700 "$R$W/run"
# The mounts are the host's: undo them (lazily, so they cannot stay busy)
# before the exit trap removes $W, whatever fails first.
at_exit "umount -l '$R/proc' 2>/dev/null; umount -l '$R/dev' 2>/dev/null"
mount --bind /dev "$R/dev" && mount -t proc proc "$R/proc"
IA=/sbin/peerkey-boot
[ -e "$R/usr/sbin/peerkey-boot" ] && IA=/usr/sbin/peerkey-boot
n0=$(released)
chroot "$R" "$IA" -c /etc/peerkey/boot.conf -g 15s > "$W/img.out" \
    2> "$W/img.err"
rc=$?
ok '[ $rc = 0 ] && opens "$W/img.out" && [ "$(released)" = $((n0 + 1)) ]' \
    "the image's agent and tss2 sign with the machine's TPM: the passphrase"
[ $rc = 0 ] || diag "$W/img.err"

# The seed's attack: the initramfs' files, read out and used from another
# machine (its own TPM) against good, which still trusts this one.
sed "s|^tpm-tcti = .*|tpm-tcti = $(sed -n 's/^tpm-tcti = //p' \
    "$W/thief.conf")|" "$R/etc/peerkey/boot.conf" > "$R/etc/peerkey/thief.conf"
n0=$(released)
c0=$(tpm_seen)
chroot "$R" "$IA" -c /etc/peerkey/thief.conf -g 5s > "$W/steal.out" \
    2> "$W/steal.err"
rc=$?
ok '[ $rc = 3 ] && [ ! -s "$W/steal.out" ] &&
    [ "$(wc -l < "$W/steal.err")" = 1 ] &&
    grep -q "was not made by this TPM" "$W/steal.err"' \
    "the initramfs' files with another TPM: no key, no passphrase"
grep -q "was not made by this TPM" "$W/steal.err" || diag "$W/steal.err"
ok '[ "$(released)" = "$n0" ] &&
    [ "$(tpm_seen)" = "$c0" ] &&
    pk good -j status | grep -q "\"state\": \"enabled\""' \
    "good, still trusting the machine, saw no handshake and released nothing"
umount "$R/proc"
umount "$R/dev"

# The dracut module, the same boot.conf: a private copy of dracut's tree.
D=$W/dracut
cp -as /usr/lib/dracut "$D"
rm -rf "$D/modules.d/90peerkey"
cp -r "$top_builddir/initramfs/dracut/90peerkey" "$D/modules.d/"
PEERKEY_BOOT_CONF=$W/reboot.conf PEERKEY_BOOT_AGENT=$AGENT dracutbasedir=$D \
    dracut --no-hostonly --force --no-early-microcode \
    --modules "bash systemd peerkey" --kver "$KVER" --tmpdir "$W" \
    "$W/dracut.img" > "$W/dracut.log" 2>&1
rc=$?
lsinitrd "$W/dracut.img" > "$W/dr.list" 2>/dev/null
ok '[ $rc = 0 ] && grep " ${W#/}/me/boot/tls\.tpm$" "$W/dr.list" |
    grep -q "^-rw-------" && ! grep -q "/tls\.key$" "$W/dr.list" &&
    for l in esys mu rc tctildr tcti-swtpm; do
	grep -Eq "/libtss2-$l\.so\.[0-9]( |$)" "$W/dr.list" || exit 1
    done' "dracut image: the TPM key file, the tss2 libraries and the TCTI module"
[ $rc = 0 ] || tail -n 20 "$W/dracut.log" | diag

# How the initramfs reaches the TPM, when not as init did: kept from then on.
"$PEERKEY" -s "$W/me/run/control.sock" boot-config --tcti device:/dev/tpmrm0 \
    --out "$W/dev.conf" > /dev/null 2>&1 &&
    "$PEERKEY" -s "$W/me/run/control.sock" boot-config --out "$W/dev2.conf" \
    > /dev/null 2>&1
ok 'grep -q "^tpm-tcti = device:/dev/tpmrm0$" "$W/dev.conf" &&
    grep -q "^tpm-tcti = device:/dev/tpmrm0$" "$W/dev2.conf"' \
    "boot-config --tcti: the initramfs' TCTI, kept by later boot-configs"

finish
