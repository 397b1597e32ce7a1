#!/bin/sh
# test-disks.sh: one machine, two enrolled LUKS2 disks, each booted with
# only the device named: nobody types or configures a blob id. The
# machine ("me") and its peers (p, q) are made as an operator makes them
# (peerkey init, invite/join), both disks enrolled with "peerkey enroll",
# the boot configuration written by "peerkey boot-config"; then
#
#	peerkey-boot -d DISK          each disk gets its own passphrase
#	the keyscript, in the image   mkinitramfs with the hook; run in a
#	                              chroot as cryptroot runs it (key field
#	                              "none", CRYPTTAB_SOURCE=the disk)
#	-a, two requests at once      systemd-ask-password for each disk
#	                              (Id=cryptsetup:DISK): each its own
#	a stale key                   q missed a rotate (down): its blob is
#	                              checked against the header, said in one
#	                              line, and p's is taken
#
# The last three fail with an agent that takes the first blob a peer
# sends (AGENT=... to try another build's).
. "$(dirname "$0")/lib-boot.sh"
need cryptsetup gpg jq mkinitramfs unmkinitramfs systemd-ask-password unshare
need_root
[ -x "$PEERKEYD" ] && [ -x "$PEERKEY" ] || skip "peerkeyd or peerkey not built"
KVER=$(ls /lib/modules 2>/dev/null | sort -V | tail -n 1)
[ -n "$KVER" ] || skip "no kernel installed (linux-image-amd64)"

machine me && machine p && machine q
rc=$?
ok '[ $rc = 0 ]' "three machines: peerkey init and peerkeyd"
# guards A B: A has B as a peer.
guards() {
	pkm "$1" -j status | jq -e --arg n "$2" '.peers[] | select(.name == $n)' \
	    > /dev/null
}
pkm q join --name q "$(pkm p invite --address "127.0.0.1:$PORT_p" 2> /dev/null)" \
    > "$W/join-q.out" 2>&1 &&
    pkm me join --name me "$(pkm p invite --address "127.0.0.1:$PORT_p" 2> /dev/null)" \
    > "$W/join-me.out" 2>&1
rc=$?
ok '[ $rc = 0 ] && wait_for "guards q me" 20 && guards me q' \
    "q, then me, join p's cluster (invite, join); p introduces me to q"

# disk N: a LUKS2 image with its own typed passphrase.
for n in 1 2; do
	printf 'typed-passphrase-%s' "$n" > "$W/typed$n"
	truncate -s 20M "$W/disk$n.img"
	cryptsetup -q luksFormat --type luks2 --pbkdf pbkdf2 \
	    --pbkdf-force-iterations 1000 --key-file "$W/typed$n" \
	    "$W/disk$n.img" > /dev/null 2>&1
	pkm me enroll "$W/disk$n.img" --key-file "$W/typed$n" > "$W/enroll$n.out" 2>&1
	rc=$?
	ok '[ $rc = 0 ] && grep -q "held by: p q" "$W/enroll$n.out"' \
	    "peerkey enroll disk $n: held by p and q"
done
ok '[ "$(pkm p -j status | jq -r ".peers[] | select(.name == \"me\") | .blobs")" = 2 ]' \
    "p holds two blobs for me"
# The [boot] settings an operator may choose (kept by boot-config).
printf '[boot]\nwork-directory = %s\nprompt = no\nmdns = no\nretry-min = 200ms\nretry-max = 1s\ngive-up = 30s\n' \
    "$W" > "$W/me/boot.conf"
pkm me boot-config > /dev/null
rc=$?
ok '[ $rc = 0 ] && grep -q "^\[peer p\]" "$W/me/boot.conf" &&
    grep -q "^\[peer q\]" "$W/me/boot.conf"' "peerkey boot-config lists p and q"
C=$W/me/boot.conf

# opens KEYFILE DISK
opens() {
	cryptsetup open --test-passphrase --key-file "$1" "$2" 2> /dev/null
}
# its_own KEYFILE N: KEYFILE opens disk N, and not the other one.
its_own() {
	opens "$1" "$W/disk$2.img" && ! opens "$1" "$W/disk$((3 - $2)).img"
}

# --- the agent with the device -------------------------------------------------
for n in 1 2; do
	timeout 60 "$AGENT" -c "$C" -P none -d "$W/disk$n.img" > "$W/out$n" 2> "$W/err$n"
	rc=$?
	ok '[ $rc = 0 ] && its_own "$W/out$n" $n' \
	    "peerkey-boot -d disk$n: disk $n's own passphrase (not the other's)"
	[ "$FAILED" = 0 ] || diag "$W/err$n"
done
ok 'grep -q "unlocking $W/disk1.img (LUKS UUID $(cryptsetup luksUUID "$W/disk1.img"))" "$W/err1"' \
    "it says which disk it unlocks, by its UUID"

# --- the keyscript, from the image the hook builds -----------------------------------
IC=$W/itconf
mkdir -p "$IC/hooks" "$IC/scripts" "$IC/conf.d"
printf 'MODULES=list\nBUSYBOX=auto\nCOMPRESS=gzip\nUMASK=0077\n' > "$IC/initramfs.conf"
: > "$IC/modules"
cp "$top_builddir/initramfs/initramfs-tools/hooks/peerkey" "$IC/hooks/" ||
    fatal "no built initramfs-tools hook"
PEERKEY_BOOT_CONF=$C PEERKEY_BOOT_AGENT=$AGENT \
    PEERKEY_KEYSCRIPT=$top_builddir/initramfs/initramfs-tools/scripts/peerkey \
    mkinitramfs -d "$IC" -o "$W/it.img" "$KVER" > "$W/mkinitramfs.log" 2>&1
rc=$?
ok '[ $rc = 0 ]' "mkinitramfs with the peerkey hook"
mkdir "$W/x"
unmkinitramfs "$W/it.img" "$W/x" 2> /dev/null
R=$W/x
[ -d "$W/x/main" ] && R=$W/x/main
mkdir -p "$R/dev" "$R/proc" "$R/run" "$R/tmp" "$R/disks"
cp "$W/disk1.img" "$W/disk2.img" "$R/disks/"
# As cryptroot runs it: the key field as $1, the device in the
# environment. /dev and /proc are mounted in a mount namespace of this
# script's own, gone with it.
cat > "$W/keyscript.sh" <<EOS
#!/bin/sh
mount --bind /dev "$R/dev" && mount -t proc proc "$R/proc" || exit 9
exec chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \\
    CRYPTTAB_NAME="disk\$1" CRYPTTAB_SOURCE="/disks/disk\$1.img" \\
    CRYPTTAB_KEY=none CRYPTTAB_OPTION_keyscript=peerkey \\
    /bin/sh /lib/cryptsetup/scripts/peerkey none
EOS
chmod +x "$W/keyscript.sh"
for n in 1 2; do
	unshare --mount --propagation private "$W/keyscript.sh" $n \
	    > "$W/ks$n" 2> "$W/kserr$n"
	rc=$?
	ok '[ $rc = 0 ] && its_own "$W/ks$n" $n' \
	    "keyscript=peerkey, key field none, CRYPTTAB_SOURCE=disk $n: its own passphrase"
	[ "$FAILED" = 0 ] || diag "$W/kserr$n"
done

# --- ask-password: two requests at once, one per disk ----------------------------
cat > "$W/ask.sh" <<EOS
#!/bin/sh
mkdir -p /run/systemd/ask-password
mount -t tmpfs tmpfs /run/systemd/ask-password || exit 9
for n in 1 2; do
	systemd-ask-password --no-tty --timeout=40 -n \\
	    --id="cryptsetup:$W/disk\$n.img" \\
	    "Please enter passphrase for disk disk\$n:" > "$W/asked\$n" &
	echo \$! > "$W/asker\$n"
done
# Both requests stand before the agent looks.
i=0
while [ "\$(ls /run/systemd/ask-password | grep -c '^ask\\.')" -lt 2 ] &&
    [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done
timeout 60 "$AGENT" -a -c "$C" 2> "$W/aerr"
echo \$? > "$W/arc"
for n in 1 2; do
	wait \$(cat "$W/asker\$n")
	echo \$? > "$W/askrc\$n"
done
EOS
chmod +x "$W/ask.sh"
unshare --mount --propagation private "$W/ask.sh"
ok '[ "$(cat "$W/arc")" = 0 ]' "peerkey-boot -a answers both requests"
for n in 1 2; do
	ok '[ "$(cat "$W/askrc$n")" = 0 ] && its_own "$W/asked$n" $n' \
	    "the request for disk $n (Id=cryptsetup:disk$n) gets disk $n's passphrase"
done
[ "$FAILED" = 0 ] || diag "$W/aerr"

# --- a stale key: q was down at a rotate ----------------------------------------
stop_machine q
pkm me rotate "$W/disk1.img" --key-file "$W/typed1" > "$W/rotate.out" 2>&1
rc=$?
ok '[ $rc = 5 ] && grep -q "NOT held by: q" "$W/rotate.out"' \
    "rotate disk 1 with q down: held by p only"
machine q
stop_machine p
spawn -o "$W/stale.out" stale "$AGENT" -c "$C" -P none -d "$W/disk1.img"
uuid1=$(cryptsetup luksUUID "$W/disk1.img")
ok 'wait_for "grep -q \"q: blob luks-$uuid1 does not open $W/disk1.img (no keyslot takes it); trying the next\" \"$W/stale.log\"" 20' \
    "q's stale blob: checked against the header, said in one line"
ok '! grep -q "passphrase received" "$W/stale.log"' "and not handed over"
machine p
wait "$PID_stale"
rc=$?
ok '[ $rc = 0 ] && grep -q "p: passphrase received" "$W/stale.log" &&
    opens "$W/stale.out" "$W/disk1.img"' "p is back: its blob is taken"
[ "$FAILED" = 0 ] || diag "$W/stale.log"
finish
