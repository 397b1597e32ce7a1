# lib-guest.sh: a real Debian 12 guest for tests/vm/test-debian.sh
# (sourced after lib.sh, POSIX sh).
#
# The guest is a Debian system as an installer leaves it: systemd as init,
# root on LUKS2 (aes-xts, /dev/vda, crypttab "root UUID=... none luks"),
# /boot on its own ext4 disk (/dev/vdb), eth0 static (ifupdown), root
# logged in on the serial console. It is built in two steps, each cached
# in $GUEST_CACHE (outside the clone: /var/cache/peerkey-vm), keyed by a
# hash of what built it:
#	guest_rootfs     GUEST_TAR: mmdebstrap from Debian's archive through
#	                 this machine's apt sources (read at run time), the
#	                 packages the project's .debs depend on included, so
#	                 that "apt install ./peerkey*.deb" needs no network
#	guest_install    GUEST_ROOT_IMG, GUEST_BOOT_IMG: an "installer" boot
#	                 (the host's kernel, a busybox initramfs with
#	                 cryptsetup, mke2fs and tar) formats the root disk
#	                 (LUKS2, cheap forced PBKDF), unpacks the tarball
#	                 (from a third disk), and runs update-initramfs in the
#	                 new system (chroot), as debian-installer does
# The host has no device-mapper: the LUKS2 root can only be made in a VM.
#
# Boots: guest_start NAME copies nothing; it takes the kernel and the
# initramfs out of the run's /boot disk (debugfs: whatever update-initramfs
# in the guest made last) and boots them with the command line a boot
# loader would pass (root=/dev/mapper/root). Disks are the run's copies
# ($W/root.img, $W/boot.img) and the media disk with the .debs
# (guest_media). KVM when /dev/kvm works, else TCG (GUEST_ACCEL).
#	guest_sh NAME CMD [SECONDS]  type CMD at the root shell on the serial
#	                             console, wait for its end; GUEST_RC its
#	                             exit status
#	phase TEXT                   a progress line with the elapsed time
set -u

GUEST_CACHE=${PEERKEY_VM_CACHE:-/var/cache/peerkey-vm}
GUEST_DEBS=${PEERKEY_VM_DEBS:-$top_builddir/tests/pkg/debs}
# Bump when what the cached pieces hold changes in a way no hash sees.
GUEST_LIB_VERSION=1
GUEST_PASS=peerkey-guest-typed-passphrase
GUEST_T0=$(date +%s)

phase() {
	echo "# [$(($(date +%s) - GUEST_T0)) s] $*"
	echo "test-debian: [$(($(date +%s) - GUEST_T0)) s] $*" >&2
}

# KVM if a kernel boots under it here (needs vm_kernel: the host's
# kernel must print its banner within 20 s), else TCG. (/dev/kvm may
# exist and still fail: nested KVM that rejects an MSR, or hangs.)
guest_accel() {
	GUEST_ACCEL=tcg GUEST_CPU=max
	[ -c /dev/kvm ] && [ "${PEERKEY_VM_NO_KVM:-}" != 1 ] || return 0
	timeout 20 qemu-system-x86_64 -accel kvm -cpu host -m 256 -nodefaults \
	    -display none -no-reboot -kernel "$VM_VMLINUX" \
	    -append "console=ttyS0 panic=-1" -serial stdio \
	    > "$W/kvm-probe.log" 2>&1 < /dev/null
	grep -q "Linux version" "$W/kvm-probe.log" &&
	    GUEST_ACCEL=kvm GUEST_CPU=host
	return 0
}

# The packages the .debs depend on (alternatives: the first), and the
# recommends apt would install with them.
guest_deb_deps() {
	for _d in "$GUEST_DEBS"/peerkey_*.deb "$GUEST_DEBS"/peerkey-boot_*.deb \
	    "$GUEST_DEBS"/peerkey-initramfs-tools_*.deb; do
		dpkg-deb -f "$_d" Depends Recommends | sed 's/^[A-Za-z]*://' |
		    tr ',' '\n' | sed 's/|.*//; s/(.*//; s/[[:space:]]//g' |
		    grep -v '^peerkey' | grep -v '^$'
	done | sort -u | tr '\n' ' '
}

# The base system: mmdebstrap into a tarball (cached).
GUEST_INCLUDE="systemd-sysv udev cryptsetup-initramfs initramfs-tools busybox
	linux-image-amd64 ifupdown iproute2 e2fsprogs kmod procps"
guest_rootfs() {
	_src=/etc/apt/sources.list.d/debian.sources
	[ -r "$_src" ] || fatal "$_src not found: no apt sources"
	_inc="$(echo $GUEST_INCLUDE) $(guest_deb_deps)"
	_h=$( (echo "rootfs $GUEST_LIB_VERSION $_inc"; mmdebstrap --version;
	    cat "$_src"; sed -n '/^guest_rootfs_build()/,/^}/p' \
	    "$top_srcdir/tests/vm/lib-guest.sh") | vm_hash)
	GUEST_KEY=$_h
	GUEST_TAR=$GUEST_CACHE/rootfs-$_h.tar
	[ -s "$GUEST_TAR" ] && return 0
	rm -f "$GUEST_CACHE"/rootfs-*.tar
	phase "mmdebstrap: building the Debian 12 system ($_inc)"
	guest_rootfs_build "$_inc" "$_src" "$GUEST_TAR.tmp.tar" \
	    > "$W/mmdebstrap.log" 2>&1 || {
		tail -n 40 "$W/mmdebstrap.log" | diag
		fatal "mmdebstrap failed"
	}
	mv "$GUEST_TAR.tmp.tar" "$GUEST_TAR"
}

# guest_rootfs_build INCLUDE SOURCES OUT: what an installer would leave,
# plus the test's console (root logged in on ttyS0) and no apt timers
# (nothing may take the dpkg lock while the test installs).
guest_rootfs_build() {
	mmdebstrap --variant=minbase --include="$(echo $1 | tr ' ' ',')" \
	    --customize-hook='echo guest > "$1/etc/hostname"' \
	    --customize-hook='printf "127.0.0.1 localhost\n127.0.1.1 guest\n" > "$1/etc/hosts"' \
	    --customize-hook='printf "/dev/mapper/root / ext4 errors=remount-ro 0 1\nLABEL=pkboot /boot ext4 defaults 0 2\n" > "$1/etc/fstab"' \
	    --customize-hook="printf 'auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet static\n\taddress $VM_GUEST_IP/24\n' > \"\$1/etc/network/interfaces\"" \
	    --customize-hook='mkdir -p "$1/etc/systemd/system/serial-getty@ttyS0.service.d"' \
	    --customize-hook='printf "[Service]\nExecStart=\nExecStart=-/sbin/agetty --autologin root --noclear --keep-baud 115200 %%I dumb\n" > "$1/etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf"' \
	    --customize-hook='chroot "$1" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer' \
	    --customize-hook='chroot "$1" passwd -d root' \
	    bookworm "$3" "$2"
}

# --- the installer boot ------------------------------------------------------

GUEST_INST_MODULES="virtio_pci virtio_blk dm_crypt xts ext4 crc32c_generic"

guest_install() {
	_h=$( (echo "install $GUEST_LIB_VERSION $GUEST_KEY $VM_KVER";
	    sed -n '/^guest_installer_initrd()/,/^}/p' \
	    "$top_srcdir/tests/vm/lib-guest.sh") | vm_hash)
	_d=$GUEST_CACHE/installed-$_h
	GUEST_ROOT_IMG=$_d/root.img
	GUEST_BOOT_IMG=$_d/boot.img
	[ -s "$_d/done" ] && return 0
	rm -rf "$GUEST_CACHE"/installed-*
	mkdir -p "$_d.tmp"
	phase "installer boot: LUKS2 root, unpack, update-initramfs ($GUEST_ACCEL)"
	rm -rf "$W/instroot"
	guest_installer_initrd "$W/instroot" || fatal "no installer initramfs"
	(cd "$W/instroot" && find . | cpio -o -H newc --quiet) |
	    gzip -1 > "$W/installer.img"
	truncate -s 3G "$_d.tmp/root.img"
	mke2fs -q -t ext4 -L pkboot "$_d.tmp/boot.img" 256M ||
	    fatal "cannot make the /boot file system"
	rm -f "$W/inst.serial.in" "$W/inst.serial.out"
	mkfifo "$W/inst.serial.in" "$W/inst.serial.out"
	spawn inst_console sh -c 'exec cat "$1" > "$2"' sh \
	    "$W/inst.serial.out" "$W/inst.console"
	spawn inst qemu-system-x86_64 -accel "$GUEST_ACCEL" -cpu "$GUEST_CPU" -m 1024 \
	    -smp 2 -nodefaults -display none -no-reboot -no-user-config \
	    -kernel "$VM_VMLINUX" -initrd "$W/installer.img" \
	    -append "console=ttyS0 panic=-1 quiet loglevel=3 no_timer_check" \
	    -chardev "pipe,id=con,path=$W/inst.serial" -serial chardev:con \
	    -drive "file=$_d.tmp/root.img,format=raw,if=virtio" \
	    -drive "file=$_d.tmp/boot.img,format=raw,if=virtio" \
	    -drive "file=$GUEST_TAR,format=raw,if=virtio,readonly=on"
	if ! vm_wait inst "PEERKEY-INSTALL: done" 1800 ||
	    ! vm_wait_exit inst 60; then
		diag "$W/inst.console" "$W/inst.log"
		vm_running inst && vm_stop inst
		fatal "the installer boot failed"
	fi
	grep -q "PEERKEY-INSTALL: failed" "$W/inst.console" && {
		diag "$W/inst.console"
		fatal "the installer boot failed"
	}
	cp "$W/inst.console" "$_d.tmp/install.console"
	echo ok > "$_d.tmp/done"
	mv "$_d.tmp" "$_d"
}

# guest_installer_initrd ROOT: busybox, cryptsetup, mke2fs, GNU tar and
# the host kernel's modules; its init installs the guest.
guest_installer_initrd() {
	_r=$1
	mkdir -p "$_r/proc" "$_r/sys" "$_r/dev" "$_r/run" "$_r/t" "$_r/b"
	vm_busybox "$_r"
	for _a in chroot cp rm mv ln; do
		ln -sf busybox "$_r/bin/$_a"
	done
	vm_copy_exec "$_r" "$(command -v cryptsetup)" "$(command -v mke2fs)" \
	    "$(command -v tar)"
	_g=$(ldconfig -p | sed -n 's/^[[:space:]]*libgcc_s\.so\.1 (libc6,x86-64) => //p' |
	    head -n 1)
	[ -n "$_g" ] && vm_copy_exec "$_r" "$_g"
	vm_modules "$_r" $GUEST_INST_MODULES || return 1
	printf '%s' "$GUEST_PASS" > "$_r/pass"
	cat > "$_r/init" <<EOI
#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin DM_DISABLE_UDEV=1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r m; do insmod "\$m"; done < /modules.load
i=0
while [ ! -b /dev/vdc ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done
fail() { echo "PEERKEY-INSTALL: failed: \$*"; echo "PEERKEY-INSTALL: done"; poweroff -f; }
mkdir -p /run/cryptsetup
cryptsetup luksFormat -q --type luks2 \\
    --pbkdf argon2id --pbkdf-force-iterations 4 --pbkdf-memory 32768 \\
    --pbkdf-parallel 1 --key-file /pass /dev/vda || fail luksFormat
cryptsetup open --key-file /pass /dev/vda root || fail open
uuid=\$(cryptsetup luksUUID /dev/vda)
mke2fs -q -t ext4 -L pkroot /dev/mapper/root || fail mke2fs
mount -t ext4 /dev/mapper/root /t || fail mount
echo "PEERKEY-INSTALL: unpacking"
tar -C /t --numeric-owner -xpf /dev/vdc || fail tar
mount -t ext4 /dev/vdb /b || fail mount boot
cp -a /t/boot/. /b/ && rm -rf /t/boot && mkdir /t/boot && umount /b ||
    fail boot
mount -t ext4 /dev/vdb /t/boot || fail mount boot
echo "root UUID=\$uuid none luks,discard" > /t/etc/crypttab
for d in dev proc sys; do mount --bind /\$d /t/\$d; done
mount -t tmpfs tmpfs /t/run
# What udev would have made: cryptsetup's hook looks the source up.
mkdir -p /t/dev/disk/by-uuid
ln -sf ../../vda /t/dev/disk/by-uuid/\$uuid
echo "PEERKEY-INSTALL: update-initramfs"
# The modules this machine needs, not most of them: every image the
# test makes under TCG costs minutes less (an operator's choice too).
sed -i 's/^MODULES=.*/MODULES=dep/' /t/etc/initramfs-tools/initramfs.conf
chroot /t update-initramfs -c -k all || fail update-initramfs
[ -s /t/boot/initrd.img-* ] || fail no initramfs
umount /t/run /t/sys /t/proc /t/dev /t/boot /t
cryptsetup close root
sync
echo "PEERKEY-INSTALL: done"
poweroff -f
EOI
	chmod 755 "$_r/init"
}

# --- the run's disks and boots -----------------------------------------------

# The run's copies of the installed disks, and the media disk that
# carries the .debs (an ext4 file system made from a directory).
guest_disks() {
	cp --sparse=always "$GUEST_ROOT_IMG" "$W/root.img" &&
	    cp --sparse=always "$GUEST_BOOT_IMG" "$W/boot.img" || return 1
	mkdir -p "$W/media"
	cp "$GUEST_DEBS"/peerkey_*.deb "$GUEST_DEBS"/peerkey-boot_*.deb \
	    "$GUEST_DEBS"/peerkey-initramfs-tools_*.deb "$W/media/" &&
	    mke2fs -q -t ext4 -L pkmedia -d "$W/media" "$W/media.img" 64M
}

# The newest kernel on the run's /boot disk and its initramfs.
guest_boot_files() {
	_k=$(debugfs -R "ls -l /" "$W/boot.img" 2>/dev/null |
	    awk '{ print $NF }' | sed -n 's/^vmlinuz-//p' | sort -V |
	    tail -n 1)
	[ -n "$_k" ] || return 1
	GUEST_KVER=$_k
	rm -f "$W/vmlinuz" "$W/initrd"
	debugfs -R "dump /vmlinuz-$_k $W/vmlinuz" "$W/boot.img" 2>/dev/null &&
	    debugfs -R "dump /initrd.img-$_k $W/initrd" "$W/boot.img" \
	    2>/dev/null && [ -s "$W/vmlinuz" ] && [ -s "$W/initrd" ]
}

# no_timer_check: under TCG on a loaded machine the IO-APIC timer check
# may fail and panic.
GUEST_CMDLINE="root=/dev/mapper/root ro console=ttyS0 net.ifnames=0 quiet loglevel=3 panic=-1 no_timer_check"

# guest_start NAME: boot the run's disks (needs vm_net_up).
guest_start() {
	_n=$1
	guest_boot_files || fatal "no kernel or initramfs on the /boot disk"
	rm -f "$W/$_n.serial.in" "$W/$_n.serial.out" "$W/$_n.console"
	mkfifo "$W/$_n.serial.in" "$W/$_n.serial.out"
	spawn "${_n}_console" sh -c 'exec cat "$1" > "$2"' sh \
	    "$W/$_n.serial.out" "$W/$_n.console"
	spawn "$_n" ip netns exec "$VM_NS_QEMU" qemu-system-x86_64 \
	    -accel "$GUEST_ACCEL" -cpu "$GUEST_CPU" -m 1024 -smp 2 \
	    -nodefaults -display none -no-reboot -no-user-config \
	    -kernel "$W/vmlinuz" -initrd "$W/initrd" -append "$GUEST_CMDLINE" \
	    -chardev "pipe,id=con,path=$W/$_n.serial" -serial chardev:con \
	    -netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
	    -device "virtio-net-pci,netdev=n0,mac=$VM_MAC" \
	    -drive "file=$W/root.img,format=raw,if=virtio" \
	    -drive "file=$W/boot.img,format=raw,if=virtio" \
	    -drive "file=$W/media.img,format=raw,if=virtio,readonly=on"
}

# guest_sh NAME CMD [SECONDS]: CMD typed at the root shell; true when it
# ended (GUEST_RC: its status), false at the timeout.
# Each command's time goes to the log ("# took N s: CMD"): the profile
# of a run under TCG, where the guest's minutes go.
GUEST_N=0
guest_sh() {
	GUEST_N=$((GUEST_N + 1))
	_gs_t=$(date +%s)
	vm_type "$1" "$2; echo PKRC-$GUEST_N=\$?"
	GUEST_RC=
	vm_wait "$1" "PKRC-$GUEST_N=[0-9]" "${3:-600}" || return 1
	GUEST_RC=$(sed -n "s/.*PKRC-$GUEST_N=\\([0-9]*\\).*/\\1/p" \
	    "$W/$1.console" | tail -n 1)
	echo "# took $(($(date +%s) - _gs_t)) s: $(printf '%s' "$2" | cut -c1-70)"
}

# guest_ok NAME CMD DESCRIPTION [SECONDS]: a TAP result, CMD's status 0.
guest_ok() {
	_go_n=$1 _go_c=$2 _go_s=${4:-600}
	ok 'guest_sh "$_go_n" "$_go_c" "$_go_s" && [ "$GUEST_RC" = 0 ]' "$3"
}

# The console's text after the last occurrence of "PKRC-N=" of the
# command before the latest (what the latest command printed).
guest_out() {
	awk -v a="PKRC-$((GUEST_N - 1))=[0-9]" -v b="PKRC-$GUEST_N=[0-9]" '
	    $0 ~ b { p = 0 } p { print } $0 ~ a { p = 1 }' "$W/$1.console" |
	    tr -d '\r'
}

# vm_type NAME TEXT (lib.sh's, bounded): a guest that has gone away
# leaves no reader on the console pipe, and the write must not block the
# test for ever.
vm_type() {
	vm_running "$1" || return 1
	timeout 30 sh -c 'printf "%s\r" "$2" > "$1"' sh "$W/$1.serial.in" "$2"
}
