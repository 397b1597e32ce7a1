#!/bin/sh
# deb-chroot.sh: the packages build-deb.sh left in tests/pkg/debs/,
# installed, used, removed and purged with apt in a throwaway Debian 12
# system, and what their maintainer scripts did checked at each step:
#
#   install   the user peerkey (sysusers.d) and its directories
#             (tmpfiles.d), the keys of "peerkey init" (root's, 0600), the
#             units enabled (peerkeyd, the reshare timer), update-initramfs
#             triggered (the hook adds nothing yet, the image is root's:
#             UMASK=0077), no process left behind;
#   use       "peerkey boot-config --update-initramfs" with peerkeyd
#             running: the image now holds the agent; every path under
#             peerkey's directories that a packaged file names exists;
#   remove    peerkey-initramfs-tools: the image is rebuilt without it;
#             peerkey: the keys and the store stay;
#   purge     everything the packages and their commands made is gone but
#             the system user; no other file differs from before.
#
# The system is made once by mmdebstrap from Debian's archive through this
# machine's apt sources (read at run time) and cached as a tarball outside
# the tree ($PEERKEY_TEST_CACHE, default /var/cache/peerkey-tests), keyed
# by what it holds; each run unpacks a fresh copy and works in private
# mount and network namespaces, so nothing reaches the host or the net.
DEBS=${top_builddir:-.}/tests/pkg/debs
if [ "${PK_CHROOT_NS:-}" != 1 ]; then
	. "$(dirname "$0")/lib-pkg.sh"
	need_root
	need mmdebstrap flock unshare chroot dpkg-deb sha256sum
	n=$(ls "$DEBS"/*.deb 2>/dev/null | wc -l)
	[ "$n" = 4 ] || fatal "no packages in $DEBS (run tests/pkg/build-deb.sh)"

	# The base system: what the packages need, and a kernel for
	# update-initramfs to build images for.
	include="systemd cryptsetup-initramfs initramfs-tools dracut-core"
	include="$include linux-image-amd64 busybox procps"
	for d in "$DEBS"/*.deb; do
		dpkg-deb -f "$d" Depends | tr ',' '\n' | sed 's/|.*//;
		    s/(.*//; s/[[:space:]]//g' | grep -v '^peerkey' |
		    grep -v '^$'
	done | sort -u > "$W/deps"
	include="$include $(tr '\n' ' ' < "$W/deps")"
	sources=/etc/apt/sources.list.d/debian.sources
	[ -r "$sources" ] || fatal "$sources not found: no apt sources"
	cache=${PEERKEY_TEST_CACHE:-/var/cache/peerkey-tests}
	key=$( (echo "deb-chroot 1 $include"; mmdebstrap --version;
	    cat "$sources") | sha256sum | cut -c1-16)
	base=$cache/bookworm-$key.tar
	mkdir -p "$cache"
	(
		flock 9
		if [ ! -f "$base" ]; then
			# (mmdebstrap writes a tarball for a name in .tar)
			rm -rf "$cache"/bookworm-*
			mmdebstrap --variant=apt --include="$(echo $include |
			    tr ' ' ',')" bookworm "$base.new.tar" "$sources" \
			    > "$W/mmdebstrap.log" 2>&1 &&
			    mv "$base.new.tar" "$base"
		fi
	) 9> "$cache/.lock"
	[ -f "$base" ] || { diag "$W/mmdebstrap.log";
	    fatal "mmdebstrap could not make the base system"; }

	# The rest in the namespaces.
	PK_CHROOT_NS=1 PKG_BASE=$base unshare --mount --net --fork sh "$0" "$@"
	exit $?
fi

. "$(dirname "$0")/lib-pkg.sh"
# The directories debian/rules configures.
sbindir=/usr/sbin sysconfdir=/etc localstatedir=/var runstatedir=/run
mandir=/usr/share/man docdir=/usr/share/doc/peerkey
systemdsystemunitdir=/lib/systemd/system sysusersdir=/usr/lib/sysusers.d
tmpfilesdir=/usr/lib/tmpfiles.d initramfstoolsdir=/usr/share/initramfs-tools
keyscriptdir=/lib/cryptsetup/scripts dracutmodulesdir=/usr/lib/dracut/modules.d

R=$W/root
mkdir "$R"
tar -C "$R" --numeric-owner -xpf "$PKG_BASE" || fatal "cannot unpack $PKG_BASE"
# /dev is the tarball's own (mmdebstrap made its nodes): nothing of the
# host's is mounted where removing $W could reach it.
pkg_umount_at_exit "$R/proc"
pkg_umount_at_exit "$R/sys"
pkg_umount_at_exit "$R/run"
pkg_umount_at_exit "$R/tmp"
mount -t proc proc "$R/proc" && mount -t sysfs sysfs "$R/sys" &&
    mount -t tmpfs -o mode=755 tmpfs "$R/run" &&
    mount -t tmpfs -o mode=1777 tmpfs "$R/tmp" || fatal "cannot mount /proc etc."
ip link set lo up
mkdir "$R/tmp/debs"
cp "$DEBS"/*.deb "$R/tmp/debs/"
# No service is started in a chroot (policy-rc.d, as dev.sh does).
printf '#!/bin/sh\nexit 101\n' > "$R/usr/sbin/policy-rc.d"
chmod 755 "$R/usr/sbin/policy-rc.d"

in_root() {
	chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	    DEBIAN_FRONTEND=noninteractive "$@"
}
apt_get() {
	in_root apt-get -y -q --no-install-recommends "$@"
}
# The root file system's files, but what apt and dpkg keep for
# themselves, logs, caches and the initramfs images.
snapshot() {
	(cd "$R" && find . -xdev \( -path ./var/lib/dpkg -o -path ./var/lib/apt \
	    -o -path ./var/cache -o -path ./var/log -o -path ./tmp \
	    -o -path ./var/lib/systemd/deb-systemd-helper-enabled \
	    -o -path ./var/lib/systemd/deb-systemd-helper-masked \) -prune \
	    -o -print | grep -v '^\./boot/initrd\.img' | sort)
}
# Processes whose root is the chroot: none may outlive a package script.
left_in_root() {
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$R" ] &&
		    echo "${p#/proc/} $(tr '\0' ' ' < "$p/cmdline")"
	done
}
KVER=$(cd "$R/boot" && ls vmlinuz-* | sed 's/^vmlinuz-//' | sort -V | tail -n 1)
[ -n "$KVER" ] || fatal "no kernel in the base system"
initrd=/boot/initrd.img-$KVER
mode=-u
[ -e "$R$initrd" ] || mode=-c
in_root update-initramfs $mode -k "$KVER" > "$W/initrd0.log" 2>&1 ||
    { diag "$W/initrd0.log"; fatal "update-initramfs fails before peerkey"; }
snapshot > "$W/before"

# --- install ----------------------------------------------------------------
# shellcheck disable=SC2046
apt_get install $(cd "$R/tmp/debs" && ls ./*.deb | sed 's|^\.|/tmp/debs|') \
    > "$W/install.log" 2>&1
rc=$?
ok '[ $rc = 0 ]' "apt-get installs the four packages"
[ $rc = 0 ] || diag "$W/install.log"
pw=$(in_root getent passwd peerkey)
ok 'echo "$pw" | grep -q "^peerkey:x:[0-9]*:[0-9]*:peerkey node daemon:/var/lib/peerkey:/usr/sbin/nologin$" &&
    [ "$(echo "$pw" | cut -d: -f3)" -lt 1000 ] &&
    in_root getent group peerkey > /dev/null' \
    "the system user and group peerkey exist (sysusers.d)"
[ -n "$pw" ] || grep -i sysusers "$W/install.log" | diag
ok '[ "$(in_root stat -c "%U:%G %a" /var/lib/peerkey)" = "peerkey:peerkey 700" ] &&
    [ "$(in_root stat -c "%U:%G %a" /run/peerkey)" = "peerkey:peerkey 755" ]' \
    "its state and runtime directories are made, its own (tmpfiles.d)"
in_root stat -c "%n %U:%G %a" /var/lib/peerkey /run/peerkey > "$W/dirs" 2>&1
grep -q "peerkey:peerkey 700" "$W/dirs" || diag "$W/dirs"
ok 'for f in /etc/peerkey/node.key /etc/peerkey/boot/tls.key \
    /etc/peerkey/boot/pgp.key; do
	[ "$(in_root stat -c "%U %a" "$f")" = "root 600" ] || exit 1
    done && [ -s "$R/etc/peerkey/boot/pgp.pub" ] &&
    grep -q "keys made" "$W/install.log"' \
    "the first installation makes the keys (peerkey init), root's, 0600"
ok '[ -L "$R/etc/systemd/system/multi-user.target.wants/peerkeyd.service" ]' \
    "peerkeyd.service is enabled"
ok '[ -L "$R/etc/systemd/system/timers.target.wants/peerkey-reshare.timer" ] &&
    [ -f "$R/lib/systemd/system/peerkey-reshare.service" ]' \
    "peerkey-reshare.timer is enabled (it runs peerkey reshare daily)"
ok 'grep -q "no /etc/peerkey/boot.conf yet" "$W/install.log" &&
    [ "$(stat -c %a "$R$initrd")" = 600 ]' \
    "update-initramfs ran (the hook adds nothing yet); the image is root's only"
left_in_root > "$W/left"
ok '[ ! -s "$W/left" ]' "no process outlives the package scripts"
diag "$W/left"

# --- use --------------------------------------------------------------------
# shellcheck disable=SC2016
spawn daemon chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    /usr/sbin/peerkeyd -d
wait_for '[ -S "$R/run/peerkey/control.sock" ]' 30 ||
    { diag "$W/daemon.log"; fatal "peerkeyd did not start in the system"; }
in_root peerkey boot-config --update-initramfs > "$W/bootconf.log" 2>&1
rc=$?
lsinitramfs "$R$initrd" > "$W/initrd.list" 2>/dev/null
ok '[ $rc = 0 ] && grep -q "sbin/peerkey-boot$" "$W/initrd.list" &&
    grep -q "lib/cryptsetup/scripts/peerkey$" "$W/initrd.list" &&
    grep -q "etc/peerkey/boot/tls.key$" "$W/initrd.list"' \
    "peerkey boot-config --update-initramfs: the image holds the agent and keys"
[ $rc = 0 ] || diag "$W/bootconf.log"
stop "$PID_daemon"

mkdir "$W/x"
for d in "$DEBS"/*.deb; do
	dpkg-deb -x "$d" "$W/x"
done
pkg_named_missing "$W/x" "$R" > "$W/missing"
ok '[ ! -s "$W/missing" ]' \
    "every path under peerkey's directories named by a packaged file exists"
diag "$W/missing"

# --- remove -----------------------------------------------------------------
apt_get remove peerkey-initramfs-tools > "$W/remove-it.log" 2>&1
rc=$?
lsinitramfs "$R$initrd" > "$W/initrd2.list" 2>/dev/null
ok '[ $rc = 0 ] && grep -q "update-initramfs" "$W/remove-it.log" &&
    ! grep -q "peerkey" "$W/initrd2.list"' \
    "removing peerkey-initramfs-tools rebuilds the image without peerkey"
[ $rc = 0 ] || diag "$W/remove-it.log"
apt_get remove peerkey > "$W/remove.log" 2>&1
rc=$?
ok '[ $rc = 0 ] && [ -s "$R/etc/peerkey/node.key" ] &&
    [ -d "$R/var/lib/peerkey" ] && [ ! -e "$R/usr/sbin/peerkeyd" ]' \
    "removing peerkey keeps the keys and the store"
[ $rc = 0 ] || diag "$W/remove.log"

# --- purge ------------------------------------------------------------------
apt_get purge peerkey peerkey-boot peerkey-initramfs-tools peerkey-dracut \
    > "$W/purge.log" 2>&1
rc=$?
ok '[ $rc = 0 ] && [ ! -e "$R/etc/peerkey" ] && [ ! -e "$R/var/lib/peerkey" ] &&
    [ ! -e "$R/run/peerkey" ] && in_root getent passwd peerkey > /dev/null' \
    "purging removes the keys, the configuration, the store; the user stays"
[ $rc = 0 ] || diag "$W/purge.log"
ok '! in_root dpkg -l "peerkey*" 2>/dev/null | grep -q "^[a-z][a-z] "' \
    "dpkg knows no peerkey package any more"
snapshot > "$W/after"
diff "$W/before" "$W/after" > "$W/diff"
ok '[ ! -s "$W/diff" ]' "no file is left or missing after the purge"
diag "$W/diff"
finish
