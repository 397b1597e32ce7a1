# lib.sh: real qemu boots for the tests in tests/vm (sourced, POSIX sh).
#
# Test driver (TAP): ok, diag, skip, fatal, finish, spawn, stop, wait_for,
# $W, NETNS from tests/lib-tap.sh, and
#	vm_need                            tools and root; skip ("1..0 # SKIP")
#	                                   when one is missing, fail under
#	                                   CI=true
#
# Guest pieces, built once and cached in $VM_CACHE (the build tree's
# tests/vm/cache), keyed by the hashes of their inputs:
#	vm_kernel                          VM_KVER, VM_VMLINUX: Debian's kernel,
#	                                   vmlinux pulled out of the bzImage's
#	                                   xz stream and booted directly (PVH)
#	vm_disk                            VM_DISK, VM_PASS, VM_MARKER: a LUKS2
#	                                   disk (pbkdf2, 1000 iterations,
#	                                   aes-ecb, known volume key) whose ext4
#	                                   root prints its marker from /sbin/init
#	vm_busybox_initrd                  VM_BB_INITRD: a hand-built busybox
#	                                   initramfs (no peerkey code): network,
#	                                   ping, typed line, cryptsetup open with
#	                                   the disk's passphrase, switch_root
#
# Network (vm_net_up; removed by the cleanup trap):
#	$VM_NS_PEER  the peer: eth0 = 192.0.2.1/24 and IPv6 link-local
#	$VM_NS_GUEST the guest machine while it runs, before the reboot the
#	             test boots: eth0 = 192.0.2.10/24 (taken down before
#	             qemu starts, which then has that address)
#	$VM_NS_QEMU  qemu: bridge br0 (mcast_snooping 0) joining tap0 (the
#	             guest's NIC) and the veths whose other ends are the
#	             peer's and the guest's eth0. No user-mode networking, no
#	             route anywhere else.
#	The guest is 192.0.2.10 (VM_GUEST_IP); its MAC is fixed.
#
# peerkey, as an operator sets it up (vm_keys, vm_peer_start, vm_enroll;
# vm_setup TOOL... does all a test with one peer starts with):
# the guest's and the peer's keys made by "peerkey init", the peer's
# peerkeyd, the guest's own peerkeyd (in $VM_NS_GUEST) joining it with an
# invitation code, "peerkey enroll" of a copy of the disk image (the
# host-side stand-in for the guest enrolling its root: enroll needs no
# device-mapper), "peerkey boot-config" writing the boot configuration
# the initramfs images are built from.
#
# Boots (one VM at a time: every test holds $VM_CACHE/lock):
#	vm_start NAME INITRD CMDLINE       qemu -accel tcg -cpu max, serial
#	                                   console on a pipe chardev; what the
#	                                   guest prints goes to $W/NAME.console;
#	                                   $VM_QEMU_EXTRA: more qemu arguments
#	                                   (a TPM: lib-swtpm.sh's swtpm_start_qemu)
#	vm_wait NAME REGEX [SECONDS]       until the console shows REGEX (ERE);
#	                                   false at timeout or when qemu exits
#	vm_type NAME TEXT                  type TEXT and Enter on the console
#	vm_wait_exit NAME [SECONDS]        until qemu exits (guest rebooted)
#	vm_stop NAME                       stop qemu (by PID)
#
# The guest's root (on the LUKS disk) prints, from its /sbin/init:
#	PEERKEY-VM-ROOT: <device mounted on />
#	PEERKEY-VM-MARKER: <the marker written into the disk's plaintext>
#	PEERKEY-VM-LINKS: <the links, "NAME " each (ip -o link)>
#	PEERKEY-VM-ADDRS: <the addresses, "DEV=ADDR/LEN " each (ip -o addr)>
# then reboots, which ends qemu (-no-reboot).
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
: "${VM_TIMEOUT:=300}"
VM_CACHE=${VM_CACHE:-$top_builddir/tests/vm/cache}
VM_GUEST_IP=192.0.2.10
VM_PEER_IP=192.0.2.1
VM_MAC=52:54:00:70:6b:01
# Bump when the layout of a cached piece changes.
VM_LIB_VERSION=3

. "$top_srcdir/tests/lib-tap.sh"

# Tools (Debian packages in dev.sh) and root; then the cache lock, held
# until the test exits, so that only one VM runs at a time.
vm_need() {
	need qemu-system-x86_64 busybox cryptsetup mkfs.ext4 openssl xz flock \
	    ip modprobe "$@"
	need_root
	ls /boot/vmlinuz-* >/dev/null 2>&1 ||
	    skip "no kernel in /boot (linux-image-amd64)"
	mkdir -p "$VM_CACHE"
	exec 9> "$VM_CACHE/lock"
	flock 9
}

# sha256 of stdin, hex.
vm_hash() {
	sha256sum | cut -c1-16
}

# --- the kernel ------------------------------------------------------------

# The newest installed kernel, as vmlinux (ELF with the PVH note).
vm_kernel() {
	_k=$(ls /boot/vmlinuz-* | sort -V | tail -n 1)
	VM_KVER=${_k#/boot/vmlinuz-}
	[ -d "/lib/modules/$VM_KVER" ] || {
		fatal "no /lib/modules/$VM_KVER"
	}
	_h=$(cat "$_k" | vm_hash)
	VM_VMLINUX=$VM_CACHE/vmlinux-$VM_KVER-$_h
	[ -s "$VM_VMLINUX" ] && return 0
	rm -f "$VM_CACHE/vmlinux-"*
	# The bzImage carries the kernel as one xz stream after its setup
	# code; trailing data follows the stream.
	_off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$_k" | head -n 1 |
	    cut -d: -f1)
	[ -n "$_off" ] || {
		fatal "no xz stream in $_k"
	}
	tail -c +$((_off + 1)) "$_k" | xz -dc --single-stream \
	    > "$VM_VMLINUX.tmp" 2>/dev/null
	if ! head -c 4 "$VM_VMLINUX.tmp" | grep -q ELF; then
		rm -f "$VM_VMLINUX.tmp"
		fatal "could not extract vmlinux from $_k"
	fi
	mv "$VM_VMLINUX.tmp" "$VM_VMLINUX"
}

# --- copying programs into trees -------------------------------------------

# vm_copy_exec ROOT FILE...: FILE and every library ldd lists, at their
# own paths under ROOT.
vm_copy_exec() {
	_r=$1
	shift
	for _f in "$@"; do
		for _l in "$_f" $(ldd "$_f" 2>/dev/null |
		    sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p'); do
			[ -e "$_r$_l" ] && continue
			mkdir -p "$_r$(dirname "$_l")"
			cp -L "$_l" "$_r$_l"
		done
	done
}

# vm_busybox ROOT: busybox at ROOT/bin/busybox with the applets the
# guest scripts use.
vm_busybox() {
	vm_copy_exec "$1" "$(command -v busybox)"
	_bb=$(command -v busybox)
	mkdir -p "$1/bin" "$1/sbin"
	[ "$_bb" = /bin/busybox ] || cp "$_bb" "$1/bin/busybox"
	for _a in sh mount umount cat echo mkdir ls sleep ip ping insmod \
	    switch_root reboot poweroff awk sed grep head tr sync dd od dmesg tail; do
		ln -sf busybox "$1/bin/$_a"
	done
}

# --- the LUKS2 root disk ---------------------------------------------------

# The root filesystem's tree: busybox and an init that reports.
vm_rootfs_tree() {
	_t=$1
	mkdir -p "$_t/proc" "$_t/sys" "$_t/dev" "$_t/run" "$_t/tmp"
	vm_busybox "$_t"
	cat > "$_t/sbin/init" <<'EOI'
#!/bin/sh
# The LUKS root's init: say which device is / and what the marker is,
# then end the VM (qemu runs with -no-reboot).
export PATH=/bin:/sbin
[ -e /dev/null ] || mount -t devtmpfs devtmpfs /dev
[ -e /proc/mounts ] || mount -t proc proc /proc
# systemd (dracut) starts init with stdio on /dev/null.
exec < /dev/console > /dev/console 2>&1
root=$(awk '$2 == "/" { d = $1 } END { print d }' /proc/mounts)
echo "PEERKEY-VM-ROOT: $root"
echo "PEERKEY-VM-MARKER: $(cat /peerkey-marker)"
# What the initramfs left of the network (lib-net.sh reads it).
echo "PEERKEY-VM-LINKS: $(ip -o link show | awk -F': ' '{ printf "%s ", $2 }')"
echo "PEERKEY-VM-ADDRS: $(ip -o addr show | awk '{ printf "%s=%s ", $2, $4 }')"
sync
reboot -f
EOI
	chmod 755 "$_t/sbin/init"
	# systemd (dracut) switches only into something that looks like an OS.
	mkdir -p "$_t/etc"
	printf 'ID=peerkey-vm\nNAME="peerkey VM test root"\n' \
	    > "$_t/etc/os-release"
}

# Makes (or reuses) the disk; sets VM_DISK, VM_PASS (file, no newline),
# VM_MARKER (string), VM_LUKS_UUID.
vm_disk() {
	_h=$( (echo "disk $VM_LIB_VERSION"; sed -n '/^vm_rootfs_tree()/,/^}/p' \
	    "$top_srcdir/tests/vm/lib.sh"; cat "$(command -v busybox)") |
	    vm_hash)
	_d=$VM_CACHE/disk-$_h
	VM_DISK=$_d/disk.img
	VM_PASS=$_d/passphrase
	if [ ! -s "$_d/done" ]; then
		rm -rf "$VM_CACHE/disk-"*
		mkdir -p "$_d.tmp"
		vm_disk_build "$_d.tmp" || {
			fatal "could not build the LUKS2 disk"
		}
		mv "$_d.tmp" "$_d"
	fi
	VM_MARKER=$(cat "$_d/marker")
	VM_LUKS_UUID=$(cat "$_d/uuid")
}

# vm_disk_build DIR: the plaintext ext4 is made from a tree with mkfs.ext4
# -d (no mount), then written encrypted into the LUKS2 data segment by
# openssl: the host has no device-mapper. aes-ecb (no IV) is a test-only
# choice that one openssl pass can reproduce; the guest reading the
# marker back through /dev/mapper proves the scheme.
vm_disk_build() {
	_b=$1
	od -An -N12 -tx1 /dev/urandom | tr -d ' \n' |
	    sed 's/^/peerkey-vm-/' > "$_b/marker"
	od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$_b/passphrase"
	head -c 32 /dev/urandom > "$_b/volume.key"
	vm_rootfs_tree "$_b/tree"
	cp "$_b/marker" "$_b/tree/peerkey-marker"
	mkfs.ext4 -q -F -b 4096 -L pkroot -O ^has_journal -d "$_b/tree" \
	    "$_b/fs.img" 16M > "$_b/mkfs.log" 2>&1 || return 1
	truncate -s 20M "$_b/disk.img"
	cryptsetup luksFormat -q --type luks2 --cipher aes-ecb \
	    --key-size 256 --volume-key-file "$_b/volume.key" \
	    --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
	    --luks2-metadata-size 16k --luks2-keyslots-size 1m \
	    --key-file "$_b/passphrase" "$_b/disk.img" > "$_b/format.log" 2>&1 ||
	    return 1
	cryptsetup open --test-passphrase --key-file "$_b/passphrase" \
	    "$_b/disk.img" || return 1
	_off=$(cryptsetup luksDump "$_b/disk.img" |
	    sed -n '/^Data segments:/,/^Keyslots:/s/^[[:space:]]*offset: \([0-9]*\) \[bytes\].*/\1/p' |
	    head -n 1)
	[ -n "$_off" ] || return 1
	cryptsetup luksDump "$_b/disk.img" | grep -q 'cipher: aes-ecb' ||
	    return 1
	openssl enc -aes-256-ecb -nopad \
	    -K "$(od -An -tx1 "$_b/volume.key" | tr -d ' \n')" \
	    -in "$_b/fs.img" -out "$_b/fs.enc" || return 1
	dd if="$_b/fs.enc" of="$_b/disk.img" bs=64k seek="$_off" \
	    oflag=seek_bytes conv=notrunc status=none || return 1
	cryptsetup luksUUID "$_b/disk.img" > "$_b/uuid" || return 1
	rm -rf "$_b/tree" "$_b/fs.img" "$_b/fs.enc"
	echo ok > "$_b/done"
}

# --- modules ---------------------------------------------------------------

# vm_modules ROOT MODULE...: the modules and their dependencies under
# ROOT/lib/modules/KVER, and ROOT/modules.load listing them in load order.
vm_modules() {
	_r=$1
	shift
	: > "$_r/modules.load"
	for _ko in $(modprobe -S "$VM_KVER" --show-depends -a "$@" |
	    awk '$1 == "insmod" { print $2 }'); do
		grep -qxF "$_ko" "$_r/modules.load" && continue
		mkdir -p "$_r$(dirname "$_ko")"
		cp "$_ko" "$_r$_ko"
		echo "$_ko" >> "$_r/modules.load"
	done
}

# The modules every guest needs: NIC, disk, dm-crypt with the disk's
# cipher, ext4.
VM_MODULES="virtio_pci virtio_net virtio_blk dm_crypt ecb ext4"

# --- a hand-built busybox initramfs -----------------------------------------

# Builds (or reuses) VM_BB_INITRD: no peerkey code, only the pipeline.
# Needs vm_kernel and vm_disk first (the disk's passphrase is in it).
vm_busybox_initrd() {
	_h=$( (echo "bb $VM_LIB_VERSION $VM_KVER $VM_MODULES";
	    sed -n '/^vm_busybox_initrd_build()/,/^}/p' \
	    "$top_srcdir/tests/vm/lib.sh"; cat "$VM_PASS"
	    cat "$(command -v busybox)" "$(command -v cryptsetup)") | vm_hash)
	VM_BB_INITRD=$VM_CACHE/busybox-$_h.img
	[ -s "$VM_BB_INITRD" ] && return 0
	rm -f "$VM_CACHE/busybox-"*.img
	rm -rf "$W/bbroot"
	vm_busybox_initrd_build "$W/bbroot" || {
		fatal "could not build the busybox initramfs"
	}
	(cd "$W/bbroot" && find . | cpio -o -H newc --quiet) |
	    gzip -1 > "$VM_BB_INITRD.tmp" &&
	    mv "$VM_BB_INITRD.tmp" "$VM_BB_INITRD"
}

vm_busybox_initrd_build() {
	_r=$1
	mkdir -p "$_r/proc" "$_r/sys" "$_r/dev" "$_r/run" "$_r/newroot" \
	    "$_r/etc"
	vm_busybox "$_r"
	vm_copy_exec "$_r" "$(command -v cryptsetup)"
	_g=$(ldconfig -p | sed -n 's/^[[:space:]]*libgcc_s\.so\.1 (libc6,x86-64) => //p' |
	    head -n 1)
	[ -n "$_g" ] && vm_copy_exec "$_r" "$_g"
	vm_modules "$_r" $VM_MODULES
	cp "$VM_PASS" "$_r/etc/test-passphrase"
	cat > "$_r/init" <<EOI
#!/bin/sh
# Busybox initramfs for the VM pipeline tests (no peerkey code).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r m; do insmod "\$m" || echo "PEERKEY-VM-INSMOD-FAILED: \$m"; done < /modules.load
ip link set lo up
ip link set eth0 up
ip addr add $VM_GUEST_IP/24 dev eth0
i=0
while [ \$i -lt 60 ]; do
	ping -c 1 -W 1 $VM_PEER_IP > /dev/null 2>&1 && break
	i=\$((i + 1))
done
if [ \$i -lt 60 ]; then echo "PEERKEY-VM-PING: ok"; else echo "PEERKEY-VM-PING: failed"; fi
echo "PEERKEY-VM-TYPE-NOW"
read -r line
echo "PEERKEY-VM-TYPED: \$line"
i=0
while [ ! -b /dev/vda ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done
mkdir -p /run/cryptsetup
DM_DISABLE_UDEV=1 cryptsetup open --key-file /etc/test-passphrase /dev/vda root ||
    echo "PEERKEY-VM-OPEN: failed"
if ! mount -t ext4 -o ro /dev/mapper/root /newroot; then
	echo "PEERKEY-VM-MOUNT: failed"
	grep ext4 /proc/filesystems
	dd if=/dev/mapper/root bs=1024 skip=1 count=1 2>/dev/null | od -An -tx1 | head -n 5
	DM_DISABLE_UDEV=1 cryptsetup status root
	dmesg | tail -n 20
fi
for d in dev proc sys; do mount --move /\$d /newroot/\$d; done
exec switch_root /newroot /sbin/init
EOI
	chmod 755 "$_r/init"
}

# --- network -----------------------------------------------------------------

# Two namespaces and the links between them (see the top of this file).
vm_net_up() {
	VM_NS_PEER=pkvmp$$
	VM_NS_GUEST=pkvmg$$
	VM_NS_QEMU=pkvmq$$
	for _n in "$VM_NS_PEER" "$VM_NS_GUEST" "$VM_NS_QEMU"; do
		ip netns add "$_n" || return 1
		NETNS="$NETNS $_n"
	done
	for _n in "$VM_NS_PEER" "$VM_NS_GUEST" "$VM_NS_QEMU"; do
		ip netns exec "$_n" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		    net.ipv6.conf.default.accept_dad=0
		ip -n "$_n" link set lo up
	done
	# The bridge side carries frames only.
	ip netns exec "$VM_NS_QEMU" sysctl -qw \
	    net.ipv6.conf.default.disable_ipv6=1
	ip -n "$VM_NS_QEMU" link add br0 type bridge mcast_snooping 0 &&
	    ip -n "$VM_NS_QEMU" link add veth0 type veth peer name eth0 \
	    netns "$VM_NS_PEER" &&
	    ip -n "$VM_NS_QEMU" link set veth0 master br0 &&
	    ip -n "$VM_NS_QEMU" link add veth1 type veth peer name eth0 \
	    netns "$VM_NS_GUEST" &&
	    ip -n "$VM_NS_QEMU" link set veth1 master br0 &&
	    ip -n "$VM_NS_QEMU" link set veth1 up &&
	    ip -n "$VM_NS_GUEST" addr add "$VM_GUEST_IP/24" dev eth0 &&
	    ip -n "$VM_NS_GUEST" link set eth0 up &&
	    ip -n "$VM_NS_QEMU" tuntap add dev tap0 mode tap &&
	    ip -n "$VM_NS_QEMU" link set tap0 master br0 &&
	    ip -n "$VM_NS_QEMU" link set veth0 up &&
	    ip -n "$VM_NS_QEMU" link set tap0 up &&
	    ip -n "$VM_NS_QEMU" link set br0 up &&
	    ip -n "$VM_NS_PEER" link set eth0 up || return 1
	ip -n "$VM_NS_PEER" addr add "$VM_PEER_IP/24" dev eth0 || return 1
	# The link-local address, once the kernel has made it.
	wait_for "ip -n $VM_NS_PEER -6 addr show dev eth0 scope link |
	    grep -q 'inet6 fe80'" 10
}

# --- qemu --------------------------------------------------------------------

# vm_start NAME INITRD CMDLINE: boot in the background (needs vm_kernel,
# vm_disk, vm_net_up).
vm_start() {
	_n=$1
	rm -f "$W/$_n.serial.in" "$W/$_n.serial.out" "$W/$_n.console"
	mkfifo "$W/$_n.serial.in" "$W/$_n.serial.out"
	# The reader first: qemu opens the pipes read-write, and blocks
	# on a full pipe when no one reads.
	spawn "${_n}_console" sh -c 'exec cat "$1" > "$2"' sh \
	    "$W/$_n.serial.out" "$W/$_n.console"
	spawn "$_n" ip netns exec "$VM_NS_QEMU" qemu-system-x86_64 \
	    -accel tcg -cpu max -m 512 -smp 1 \
	    -nodefaults -display none -no-reboot -no-user-config \
	    -kernel "$VM_VMLINUX" -initrd "$2" -append "$3" \
	    -chardev "pipe,id=con,path=$W/$_n.serial" -serial chardev:con \
	    -netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
	    -device "virtio-net-pci,netdev=n0,mac=$VM_MAC" \
	    -drive "file=$VM_DISK,format=raw,if=virtio,snapshot=on" \
	    ${VM_QEMU_EXTRA-}
}

# The qemu of boot NAME still runs.
vm_running() {
	eval "_p=\${PID_$1:-}"
	[ -n "$_p" ] && kill -0 "$_p" 2>/dev/null &&
	    [ "$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' \
	    "/proc/$_p/status" 2>/dev/null)" != Z ]
}

# vm_wait NAME REGEX [SECONDS]
vm_wait() {
	_s=${3:-$VM_TIMEOUT}
	_i=0
	while [ $_i -lt $((_s * 5)) ]; do
		grep -Eq "$2" "$W/$1.console" 2>/dev/null && return 0
		if ! vm_running "$1"; then
			sleep 0.3
			grep -Eq "$2" "$W/$1.console" 2>/dev/null
			return $?
		fi
		sleep 0.2
		_i=$((_i + 1))
	done
	return 1
}

# vm_type NAME TEXT: a line typed on the serial console.
vm_type() {
	printf '%s\r' "$2" > "$W/$1.serial.in"
}

# vm_wait_exit NAME [SECONDS]
vm_wait_exit() {
	wait_for "! vm_running $1" "${2:-$VM_TIMEOUT}"
}

vm_stop() {
	eval "_p=\${PID_$1:-}"
	[ -n "$_p" ] || return 0
	stop "$_p"
	return 0
}

# The console line "PREFIX: value" last printed by boot NAME.
vm_console_value() {
	sed -n "s/^$2: \\(.*\\)\$/\\1/p" "$W/$1.console" | tr -d '\r' |
	    tail -n 1
}

# The base kernel command line. The initramfs-tools images hold plymouth
# when the host has it (its own hook adds it); plymouth.enable=0 keeps
# its daemon from starting (its init-premount script), so that these
# boots prompt on the console as without plymouth. test-plymouth.sh
# boots with VM_CMDLINE_PLYMOUTH.
VM_CMDLINE_PLYMOUTH="console=ttyS0 net.ifnames=0 panic=-1 quiet loglevel=3"
VM_CMDLINE="$VM_CMDLINE_PLYMOUTH plymouth.enable=0"

# --- peerkey: boot keys, the peer, and the real initramfs images -------------

# The boot agent and the initramfs integration under test: the build
# tree's (make puts the edited hook and module there, beside the files
# used as they are), overridable to try another tree's.
: "${VM_AGENT:=$top_builddir/src/boot-agent/peerkey-boot}"
: "${VM_INITRAMFS_SRC:=$top_builddir/initramfs}"
VM_PEERKEYD=$top_builddir/src/node/peerkeyd
VM_PEERKEY=$top_builddir/src/cli/peerkey
VM_PORT=4141

# The agent and the peer's programs, or skip (fail under CI).
vm_need_peerkey() {
	for _p in "$VM_AGENT" "$VM_PEERKEYD" "$VM_PEERKEY"; do
		[ -x "$_p" ] || skip "$_p not built"
	done
	[ -f "$VM_INITRAMFS_SRC/initramfs-tools/hooks/peerkey" ] ||
	    skip "no initramfs-tools hook in $VM_INITRAMFS_SRC"
	need gpg "$@"
}

# The guest's and the peer's keys, by "peerkey init" in $VM_KEYS/guest
# and $VM_KEYS/peer, made once: the initramfs images that hold the
# guest's boot keys are cached. Sets VM_KEYS, VM_BOOT_ID (the guest's
# boot key id), VM_PEER_NODE_ID. The guest's directory is its peerkey
# configuration directory (peerkey -d): the boot configurations are
# written there too, at paths that stay the same, so that the images
# built from them are found in the cache.
vm_keys() {
	VM_KEYS=$VM_CACHE/keys-$VM_LIB_VERSION
	if [ ! -s "$VM_KEYS/done" ]; then
		rm -rf "$VM_CACHE"/keys-* "$VM_KEYS.tmp"
		mkdir -p "$VM_KEYS.tmp"
		for _m in guest peer; do
			"$VM_PEERKEY" -d "$VM_KEYS.tmp/$_m" -j init \
			    > "$VM_KEYS.tmp/$_m.json" 2> "$VM_KEYS.tmp/$_m.log" ||
			    fatal "peerkey init failed"
		done
		mv "$VM_KEYS.tmp" "$VM_KEYS"
		# peerkey init names its directory in nothing it writes.
		echo ok > "$VM_KEYS/done"
	fi
	VM_BOOT_ID=$(sed -n 's/.*"boot_keyid": *"\([0-9a-f]*\)".*/\1/p' \
	    "$VM_KEYS/guest.json")
	VM_PEER_NODE_ID=$(sed -n 's/.*"node_keyid": *"\([0-9a-f]*\)".*/\1/p' \
	    "$VM_KEYS/peer.json")
}

# vm_pkd_conf DIR NAME [ANNOUNCE]: the peerkeyd.conf of the guest's or
# the peer's node (DIR: guest or peer) named NAME, state under $W/DIR.
vm_pkd_conf() {
	mkdir -p "$W/$1/state" "$W/$1/run"
	cat > "$W/$1/peerkeyd.conf" <<EOC
[node]
name = $2
key = $VM_KEYS/$1/node.key
state-directory = $W/$1/state
runtime-directory = $W/$1/run
port = $VM_PORT

[liveness]
interval = 1h
timeout = 1h
extended-timeout = 1h

[announce]
enable = ${3:-no}
EOC
}

# vm_peer_start [mdns]: the real peerkeyd in $VM_NS_PEER, on port
# $VM_PORT of every address, with the peer's node key (it guards no one
# yet: vm_enroll makes the guest join). With "mdns", a private bus and
# avahi-daemon in the namespace and the node announcing itself.
vm_peer_start() {
	_env=""
	_ann=no
	if [ "${1:-}" = mdns ]; then
		. "$top_srcdir/tests/lib-avahi.sh"
		VM_AVAHI_DIR=$W/avahi
		avahi_start "$VM_AVAHI_DIR" "$VM_NS_PEER" pkvmpeer eth0 \
		    > "$W/avahi-start.log" 2>&1 || return 1
		_ann=yes
		_env="DBUS_SYSTEM_BUS_ADDRESS=$AVAHI_BUS_ADDRESS"
	fi
	vm_pkd_conf peer vmpeer "$_ann"
	spawn peerd ip netns exec "$VM_NS_PEER" env $_env "$VM_PEERKEYD" -d \
	    -f "$W/peer/peerkeyd.conf"
	VM_CTL="$VM_PEERKEY -d $VM_KEYS/peer -s $W/peer/run/control.sock"
	wait_for "$VM_CTL status" 20
}

# vm_peer_stop: the peer's peerkeyd is stopped (by PID).
vm_peer_stop() {
	vm_stop peerd
}

# vm_enroll [BOOT-CONF-LINE...]: the guest, running (its own peerkeyd in
# $VM_NS_GUEST, at the address the VM will have), joins the peer with a
# code from "peerkey invite" there, enrolls a copy of the disk
# ("peerkey enroll", the typed passphrase authorising the new keyslot)
# and writes its boot configurations with "peerkey boot-config": VM_IT_CONF
# (mdns = yes) and VM_DR_CONF (mdns = no), whose [boot] settings
# (faster retries, and the given lines) are the operator's, kept by
# boot-config. Then it "reboots": its peerkeyd stops and its address goes
# away. Sets VM_DISK to the enrolled copy. $VM_BOOT_CONFIG_ARGS: more
# arguments for boot-config (--tcti for a TPM boot key); $VM_INVITE_ARGS:
# for "peerkey invite" (--address: the peer's addresses the guest learns,
# which boot-config lists).
vm_enroll() {
	vm_pkd_conf guest guest
	spawn guestd ip netns exec "$VM_NS_GUEST" "$VM_PEERKEYD" -d \
	    -f "$W/guest/peerkeyd.conf"
	VM_GCTL="$VM_PEERKEY -d $VM_KEYS/guest -s $W/guest/run/control.sock"
	wait_for "$VM_GCTL status" 20 || return 1
	_code=$(ip netns exec "$VM_NS_PEER" $VM_CTL invite ${VM_INVITE_ARGS:-} \
	    2> "$W/invite.log") ||
	    return 1
	ip netns exec "$VM_NS_GUEST" $VM_GCTL join --name guest "$_code" \
	    > "$W/join.log" 2>&1 || return 1
	# Joined, the guest is unguarded at the peer until it deposits
	# (liveness.guard = held); its enroll is a proof of life.
	wait_for "$VM_CTL status | grep -q -E '^guest +(enabled|unguarded)'" \
	    20 || return 1
	cp "$VM_DISK" "$W/disk.img"
	VM_DISK=$W/disk.img
	ip netns exec "$VM_NS_GUEST" $VM_GCTL enroll "$VM_DISK" \
	    --key-file "$VM_PASS" > "$W/enroll.log" 2>&1 || return 1
	grep -q "held by: vmpeer" "$W/enroll.log" || return 1
	$VM_CTL status | grep -q -E '^guest +enabled ' || return 1
	VM_IT_CONF=$VM_KEYS/guest/boot-initramfs-tools.conf
	VM_DR_CONF=$VM_KEYS/guest/boot-dracut.conf
	for _f in "$VM_IT_CONF:yes" "$VM_DR_CONF:no"; do
		{
			printf '[boot]\nretry-max = 2s\nmdns = %s\n' "${_f##*:}"
			for _l in "$@"; do
				echo "$_l"
			done
		} > "${_f%:*}"
		$VM_GCTL boot-config ${VM_BOOT_CONFIG_ARGS:-} --out "${_f%:*}" \
		    > "$W/boot-config.log" 2>&1 || return 1
	done
	vm_stop guestd
	ip -n "$VM_NS_GUEST" link set eth0 down
}

# vm_setup TOOL...: the start of a boot test with one peer: the TOOLs
# (vm_need), peerkey built, the kernel, disk and keys, then three checks:
# the network is up, the peer runs peerkeyd, the guest is enrolled with
# it (vm_enroll).
vm_setup() {
	vm_need "$@"
	vm_need_peerkey
	vm_kernel
	vm_disk
	vm_keys
	ok 'vm_net_up' "namespaces, bridge, tap and veths"
	ok 'vm_peer_start' "the peer runs peerkeyd"
	ok 'vm_enroll' "the guest joins the peer, peerkey enroll of its disk, boot-config"
}

# The kernel command line for initramfs-tools: static address, the LUKS
# root named by cryptopts (cryptsetup-initramfs), unlocked by the peerkey
# keyscript with the key field "none" (no key=): the keyscript names the
# device, and the disk's header its blob.
vm_cmdline_it() {
	echo "$VM_CMDLINE ip=$VM_GUEST_IP:::255.255.255.0:guest:eth0:off" \
	    "root=/dev/mapper/root ro fsck.mode=skip" \
	    "cryptopts=target=root,source=UUID=$VM_LUKS_UUID,luks,keyscript=peerkey" \
	    "$@"
}

# vm_initramfs_tools: VM_IT_INITRD, built by mkinitramfs with a private
# configuration directory holding the project's hook, from VM_IT_CONF
# (vm_enroll) (cached; the host's own hooks, plymouth's among them, are
# part of the key).
vm_initramfs_tools() {
	_h=$( (echo "it $VM_LIB_VERSION $VM_KVER $VM_MODULES";
	    sed -n '/^vm_initramfs_tools_build()/,/^}/p' \
	    "$top_srcdir/tests/vm/lib.sh"; cat "$VM_IT_CONF" \
	    "$VM_KEYS/guest.json" "$VM_AGENT"; ls /usr/share/initramfs-tools/hooks;
	    cd "$VM_INITRAMFS_SRC" &&
	    find initramfs-tools -type f | sort | xargs cat) | vm_hash)
	VM_IT_INITRD=$VM_CACHE/it-$_h.img
	[ -s "$VM_IT_INITRD" ] && return 0
	rm -f "$VM_CACHE/it-"*.img
	vm_initramfs_tools_build "$VM_IT_CONF" "$VM_IT_INITRD.tmp" \
	    > "$W/mkinitramfs.log" 2>&1 || {
		diag "$W/mkinitramfs.log"
		fatal "mkinitramfs with the peerkey hook failed"
	}
	mv "$VM_IT_INITRD.tmp" "$VM_IT_INITRD"
}

# vm_initramfs_tools_build CONF OUT [SCRIPTS]: mkinitramfs with the hook
# and boot configuration CONF into OUT; SCRIPTS, a directory, adds its
# initramfs-tools scripts (test hooks) to the image.
vm_initramfs_tools_build() {
	_c=$W/itconf
	rm -rf "$_c"
	mkdir -p "$_c/hooks" "$_c/scripts" "$_c/conf.d"
	cat > "$_c/initramfs.conf" <<EOC
MODULES=list
BUSYBOX=auto
COMPRESS=gzip
UMASK=0077
EOC
	# The guest's hardware, the disk's cipher (aes-ecb) and its root.
	echo "$VM_MODULES" | tr ' ' '\n' > "$_c/modules"
	cp "$VM_INITRAMFS_SRC/initramfs-tools/hooks/peerkey" "$_c/hooks/"
	# The init-bottom script, where the package installs it beside the
	# hook (mkinitramfs takes the conf dir's scripts too).
	mkdir -p "$_c/scripts/init-bottom"
	cp "$VM_INITRAMFS_SRC/initramfs-tools/scripts/init-bottom/peerkey" \
	    "$_c/scripts/init-bottom/"
	[ -z "${3:-}" ] || cp -R "$3/." "$_c/scripts/"
	PEERKEY_BOOT_CONF=$1 PEERKEY_BOOT_AGENT=$VM_AGENT \
	    PEERKEY_KEYSCRIPT=$VM_INITRAMFS_SRC/initramfs-tools/scripts/peerkey \
	    mkinitramfs -d "$_c" -o "$2" "$VM_KVER"
}

# vm_dracut: VM_DR_INITRD, made by dracut (dracut-core, systemd initrd)
# with the project's module, from a private copy of dracut's module tree
# (cached). The network comes from systemd-networkd (dracut-network) and
# ip= on the command line; the root from systemd-cryptsetup (rd.luks.*),
# whose password request peerkey-askpass answers.
vm_dracut() {
	_h=$( (echo "dracut $VM_LIB_VERSION $VM_KVER $VM_MODULES";
	    sed -n '/^vm_dracut_build()/,/^}/p' \
	    "$top_srcdir/tests/vm/lib.sh"; cat "$VM_DR_CONF" \
	    "$VM_KEYS/guest.json" "$VM_AGENT"; cd "$VM_INITRAMFS_SRC" &&
	    find dracut -type f | sort | xargs cat) | vm_hash)
	VM_DR_INITRD=$VM_CACHE/dracut-$_h.img
	[ -s "$VM_DR_INITRD" ] && return 0
	rm -f "$VM_CACHE/dracut-"*.img
	vm_dracut_build "$VM_DR_CONF" "$VM_DR_INITRD.tmp" \
	    > "$W/dracut.log" 2>&1 || {
		tail -n 40 "$W/dracut.log" | diag
		fatal "dracut with the peerkey module failed"
	}
	mv "$VM_DR_INITRD.tmp" "$VM_DR_INITRD"
}

vm_dracut_build() {
	_d=$W/dracut
	rm -rf "$_d"
	cp -as /usr/lib/dracut "$_d"
	rm -rf "$_d/modules.d/90peerkey"
	cp -r "$VM_INITRAMFS_SRC/dracut/90peerkey" "$_d/modules.d/"
	PEERKEY_BOOT_CONF=$1 PEERKEY_BOOT_AGENT=$VM_AGENT \
	    dracutbasedir=$_d dracut --no-hostonly --force --no-early-microcode \
	    --no-hostonly-cmdline --modules "systemd systemd-initrd \
	    systemd-networkd crypt dm rootfs-block kernel-modules peerkey" \
	    --add-drivers "$VM_MODULES" --kver "$VM_KVER" --tmpdir "$W" \
	    --compress gzip "$2"
}

# The kernel command line for the dracut image.
vm_cmdline_dracut() {
	echo "$VM_CMDLINE ip=$VM_GUEST_IP:::255.255.255.0:guest:eth0:off" \
	    "rd.neednet=1 root=/dev/mapper/root ro" \
	    "rd.luks.name=$VM_LUKS_UUID=root rd.luks.options=timeout=0" \
	    "systemd.show_status=error rd.udev.log_level=3" "$@"
}
