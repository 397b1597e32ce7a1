#!/bin/sh
# test-initramfs.sh: real images with the peerkey hook (mkinitramfs with a
# private -d conf dir) and the dracut module (dracut from dracut-core,
# with a private module tree): the agent, its libraries, libgcc_s, GnuPG,
# the keys (mode 0600) and the configuration are in them; the agent runs
# from the extracted mkinitramfs image (chroot) and fetches a passphrase
# from a real mandos server with the image's own gpg; a missing boot
# key fails the build loudly; no boot configuration at all leaves peerkey
# out of an image that builds.
. "$(dirname "$0")/lib-boot.sh"
need mkinitramfs lsinitramfs unmkinitramfs dracut lsinitrd certtool gpg \
    mandos dbus-daemon
need_root
KVER=$(ls /lib/modules 2>/dev/null | sort -V | tail -n 1)
[ -n "$KVER" ] || skip "no kernel installed (linux-image-amd64)"

boot_keys "$W/k"
stop_gpg_agents "$W/k/gpg"
printf 'initramfs-pass' > "$W/pass"
seal "$W/k" "$W/pass" "$W/blob"
P1=$(free_port)
start_mandos "$W/m1" "$P1" "$W/blob" "$BOOT_KEYID" "$BOOT_FPR"
boot_conf "$W/boot.conf" "$W/k" "mdns = no" "prompt = no" "give-up = 20s"
printf '[mandos m1]\naddress = 127.0.0.1:%s\n' "$P1" >> "$W/boot.conf"

export PEERKEY_BOOT_CONF="$W/boot.conf"
export PEERKEY_BOOT_AGENT="$AGENT"
export PEERKEY_KEYSCRIPT="$top_builddir/initramfs/initramfs-tools/scripts/peerkey"

# --- initramfs-tools -------------------------------------------------------
C=$W/itconf
mkdir -p "$C/hooks" "$C/scripts" "$C/conf.d"
cat > "$C/initramfs.conf" <<EOC
MODULES=list
BUSYBOX=auto
COMPRESS=gzip
UMASK=0077
EOC
: > "$C/modules"
cp "$top_builddir/initramfs/initramfs-tools/hooks/peerkey" "$C/hooks/"
mkinitramfs -d "$C" -o "$W/it.img" "$KVER" > "$W/mkinitramfs.log" 2>&1
rc=$?
ok '[ $rc = 0 ] && [ -s "$W/it.img" ]' "mkinitramfs with the peerkey hook builds an image"
[ $rc = 0 ] || diag "$W/mkinitramfs.log"
lsinitramfs -l "$W/it.img" > "$W/it.list" 2>/dev/null
has() {
	grep -Eq "$2" "$1"
}
ok 'has "$W/it.list" " (usr/)?sbin/peerkey-boot$"' "image: the agent"
ok 'has "$W/it.list" " usr/bin/gpg$" && has "$W/it.list" " usr/bin/gpg-agent$" &&
    has "$W/it.list" " usr/bin/gpgconf$"' "image: gpg, gpg-agent, gpgconf"
ok 'has "$W/it.list" "/libgcc_s\.so\.1( |$)"' "image: libgcc_s.so.1"
ok 'has "$W/it.list" "/libavahi-core\.so\.7( |$)" && has "$W/it.list" "/libgpgme\.so\.11( |$)" &&
    has "$W/it.list" "/libgnutls\.so\.30( |$)" && has "$W/it.list" "/libinih\.so\.1( |$)"' \
    "image: the agent's libraries (avahi-core, gpgme, gnutls, inih)"
ok 'has "$W/it.list" " etc/peerkey/boot\.conf$" &&
    has "$W/it.list" "lib/cryptsetup/scripts/peerkey$"' "image: configuration and keyscript"
ok '! grep -q "/libtss2-" "$W/it.list"' \
    "image: no tss2 library when the boot key is a file"
ok 'grep " ${W#/}/k/tls\.key$" "$W/it.list" | grep -q "^-rw-------" &&
    grep " ${W#/}/k/pgp\.key$" "$W/it.list" | grep -q "^-rw-------"' \
    "image: both boot keys, mode 0600"

# The image's own agent, libraries and gpg fetch and decrypt.
mkdir "$W/x"
unmkinitramfs "$W/it.img" "$W/x" 2>/dev/null
R=$W/x
[ -d "$W/x/main" ] && R=$W/x/main
mkdir -p "$R/dev" "$R/proc" "$R/run" "$R/tmp"
# The mounts are the host's: undo them (lazily, so they cannot stay busy)
# before the exit trap removes $W, whatever fails first.
at_exit "umount -l '$R/proc' 2>/dev/null; umount -l '$R/dev' 2>/dev/null"
mount --bind /dev "$R/dev" && mount -t proc proc "$R/proc"
agent_in_image=/sbin/peerkey-boot
[ -e "$R/usr/sbin/peerkey-boot" ] && agent_in_image=/usr/sbin/peerkey-boot
chroot "$R" "$agent_in_image" -c /etc/peerkey/boot.conf > "$W/chroot.out" \
    2> "$W/chroot.err"
rc=$?
ok '[ $rc = 0 ] && cmp -s "$W/chroot.out" "$W/pass"' \
    "the agent runs from the image (chroot) and decrypts with the image's gpg"
[ $rc = 0 ] || diag "$W/chroot.err"
umount "$R/proc"
umount "$R/dev"

# A missing boot key fails the build, and says why.
sed "s|^pgp-key = .*|pgp-key = $W/k/nope.key|" "$W/boot.conf" > "$W/bad.conf"
PEERKEY_BOOT_CONF="$W/bad.conf" mkinitramfs -d "$C" -o "$W/bad.img" "$KVER" \
    > "$W/bad.log" 2>&1
rc=$?
ok '[ $rc != 0 ] && grep -q "nope.key" "$W/bad.log"' \
    "mkinitramfs fails loudly when a boot key is missing"

# Before "peerkey boot-config" (just installed, say) the hook adds
# nothing and the image builds: installing the package or a kernel
# must not fail on that account.
PEERKEY_BOOT_CONF="$W/none.conf" mkinitramfs -d "$C" -o "$W/none.img" \
    "$KVER" > "$W/none.log" 2>&1
rc=$?
lsinitramfs "$W/none.img" > "$W/none.list" 2>/dev/null
ok '[ $rc = 0 ] && grep -q "none.conf yet" "$W/none.log" &&
    ! grep -q "peerkey" "$W/none.list"' \
    "without a boot configuration the image builds, without peerkey"

# --- dracut ----------------------------------------------------------------
# A private module tree: symlinks to dracut's own, plus ours.
D=$W/dracut
cp -as /usr/lib/dracut "$D"
rm -rf "$D/modules.d/90peerkey"
cp -r "$top_builddir/initramfs/dracut/90peerkey" "$D/modules.d/"
dracutbasedir=$D dracut --no-hostonly --force --no-early-microcode \
    --modules "bash systemd peerkey" --kver "$KVER" --tmpdir "$W" \
    "$W/dracut.img" > "$W/dracut.log" 2>&1
rc=$?
ok '[ $rc = 0 ] && [ -s "$W/dracut.img" ]' "dracut with the peerkey module builds an image"
[ $rc = 0 ] || tail -n 20 "$W/dracut.log" | diag
lsinitrd "$W/dracut.img" > "$W/dr.list" 2>/dev/null
ok 'has "$W/dr.list" " usr/sbin/peerkey-boot$" && has "$W/dr.list" " usr/bin/gpg-agent$" &&
    has "$W/dr.list" " usr/bin/gpg$" && has "$W/dr.list" " usr/bin/gpgconf$"' \
    "dracut image: the agent and GnuPG"
ok 'has "$W/dr.list" "/libgcc_s\.so\.1( |$)" && has "$W/dr.list" "/libavahi-core\.so\.7( |$)"' \
    "dracut image: libgcc_s.so.1 and the agent's libraries"
ok 'has "$W/dr.list" " etc/peerkey/boot\.conf$" &&
    grep " ${W#/}/k/pgp\.key$" "$W/dr.list" | grep -q "^-rw-------"' \
    "dracut image: configuration and boot keys (0600)"
ok 'has "$W/dr.list" "peerkey-askpass\.path$" && has "$W/dr.list" "peerkey-askpass\.service$" &&
    has "$W/dr.list" "sysinit\.target\.wants/peerkey-askpass\.path"' \
    "dracut image: the ask-password path and service units, enabled"
ok 'has "$W/dr.list" "systemd-cryptsetup$|systemd-ask-password"' \
    "dracut image: systemd's cryptsetup/ask-password side"

finish
