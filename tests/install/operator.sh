#!/bin/sh
# operator.sh: the operator's first steps on what "make install" put in
# place, with peerkeyd started the way peerkeyd.service starts it.
#
# The system is a throwaway one, in private mount and network namespaces:
# the host's root, read-only under an overlay, with the DESTDIR tree of
# make install on top, so that every file is at its installed path. In
# it, as the operator would: systemd-sysusers and systemd-tmpfiles with
# the installed files, "peerkey init", then the daemon with the unit's
# User=, Group=, UMask=, ExecStartPre= and ExecStart= read from the
# installed unit. systemd is not PID 1 here, so the one thing done by
# hand is what it would do for LoadCredential=: copy the key it names
# into a directory only the daemon's user may read, 0400, and set
# $CREDENTIALS_DIRECTORY (the Debian guest's VM test runs the real unit).
# Then: the daemon serves "peerkey status" to root and nobody else, owns
# its state and socket, and the key file is still root's; "peerkey
# boot-config" writes the file the agent reads by default; and every path
# under peerkey's directories that an installed file names exists.
# The namespaces: this script again, inside them.
if [ "${PK_OPERATOR_NS:-}" != 1 ]; then
	PK_OPERATOR_NS=1 exec unshare --mount --net --fork sh "$0" "$@"
fi
. "$(dirname "$0")/../pkg/lib-pkg.sh"
need_root
need setpriv systemd-sysusers systemd-tmpfiles systemd-analyze chroot ip \
    mknod
pkg_dirs

# The throwaway system in $S. The layers must not overlap the host's
# root file system, hence a tmpfs for all of them.
mount -t tmpfs -o mode=755 tmpfs "$W" || fatal "cannot mount a tmpfs"
pkg_umount_at_exit "$W"
mkdir "$W/root" "$W/upper" "$W/work" "$W/sys"
S=$W/sys
pkg_install "$W/root" || { diag "$W/install.log"; fatal "make install failed"; }
# On a merged-/usr host, /lib is a link to usr/lib: what make install put
# in DESTDIR/lib goes there too, or the layer's /lib would hide the host's.
for d in bin sbin lib lib64; do
	[ -L "/$d" ] && [ -d "$W/root/$d" ] && [ ! -L "$W/root/$d" ] || continue
	t=$(readlink "/$d")
	mkdir -p "$W/root/$t"
	cp -a "$W/root/$d/." "$W/root/$t/" && rm -rf "$W/root/$d" &&
	    ln -s "$t" "$W/root/$d" || fatal "cannot merge $d into $t"
done
mount -t overlay overlay \
    -o "lowerdir=$W/root:/,upperdir=$W/upper,workdir=$W/work" "$S" ||
    fatal "cannot mount the overlay"
pkg_umount_at_exit "$S"
# Its own /dev (a few nodes on a tmpfs: nothing of the host's to remove).
mount -t proc proc "$S/proc" && mount -t sysfs sysfs "$S/sys" &&
    mount -t tmpfs -o mode=755 tmpfs "$S/dev" &&
    mount -t tmpfs -o mode=755 tmpfs "$S/run" &&
    mount -t tmpfs -o mode=1777 tmpfs "$S/tmp" || fatal "cannot mount /proc etc."
mknod -m 666 "$S/dev/null" c 1 3 && mknod -m 666 "$S/dev/zero" c 1 5 &&
    mknod -m 666 "$S/dev/random" c 1 8 && mknod -m 666 "$S/dev/urandom" c 1 9 &&
    mknod -m 666 "$S/dev/tty" c 5 0 || fatal "cannot make $S/dev"
ip link set lo up
# What the host may have in peerkey's own directories (another build's
# keys, say) is not part of this system: only what make install put.
for d in "$sysconfdir/peerkey" "$localstatedir/lib/peerkey" \
    "$runstatedir/peerkey"; do
	rm -rf "$S$d"
	[ ! -e "$W/root$d" ] || cp -a "$W/root$d" "$S$d" ||
	    fatal "cannot copy $d"
done

# sys CMD...: CMD in the throwaway system, as root.
sys() {
	chroot "$S" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	    "$@"
}

unit=$systemdsystemunitdir/peerkeyd.service
sys systemd-analyze verify --man=no "$unit" > "$W/verify.log" 2>&1
rc=$?
ok '[ $rc = 0 ] && ! grep -q "peerkeyd.service:" "$W/verify.log"' \
    "systemd-analyze verify accepts the installed unit"
[ $rc = 0 ] || diag "$W/verify.log"

# The unit's settings.
unit_get() {
	sed -n "s/^$1=//p" "$S$unit"
}
user=$(unit_get User)
group=$(unit_get Group)
umask=$(unit_get UMask)
pre=$(unit_get ExecStartPre)
start=$(unit_get ExecStart)
cred=$(unit_get LoadCredential)
ok '[ "$user" = peerkey ] && [ "$group" = peerkey ] && [ -n "$umask" ] &&
    [ -n "$pre" ] && [ -n "$start" ] && [ "${cred%%:*}" = node.key ]' \
    "the unit names its user, group, umask, commands and the key credential"

# --- the system user and its directories ------------------------------------
sys systemd-sysusers "$sysusersdir/peerkey.conf" > "$W/sysusers.log" 2>&1
ok 'sys getent passwd peerkey | grep -q ":$localstatedir/lib/peerkey:" &&
    sys getent group peerkey > /dev/null' \
    "systemd-sysusers peerkey.conf makes the user and group peerkey"
diag "$W/sysusers.log"
sys systemd-tmpfiles --create "$tmpfilesdir/peerkey.conf" > "$W/tmpfiles.log" 2>&1
ok '[ "$(sys stat -c "%U:%G %a" "$localstatedir/lib/peerkey")" = "peerkey:peerkey 700" ] &&
    [ "$(sys stat -c "%U:%G %a" "$runstatedir/peerkey")" = "peerkey:peerkey 755" ]' \
    "systemd-tmpfiles --create peerkey.conf makes its two directories, owned by it"
diag "$W/tmpfiles.log"

# $AS_UNIT sh -c "$UMASK_EXEC" UMASK [ENV=VALUE...] CMD...: CMD as the
# unit runs its commands (without systemd's sandbox: the Debian guest's
# test has that). Each program execs the next, so that spawn's $! is
# CMD's PID.
AS_UNIT="chroot $S env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin setpriv
    --reuid=$user --regid=$group --init-groups --inh-caps=-all
    --bounding-set=-all --no-new-privs"
# shellcheck disable=SC2016
UMASK_EXEC='umask "$0"; exec env "$@"'
as_unit() {
	$AS_UNIT sh -c "$UMASK_EXEC" "$umask" "$@"
}

# Before init there is no key: the unit's condition keeps it stopped, and
# the daemon says what to do.
as_unit $pre > "$W/pre0.log" 2>&1
ok '[ ! -e "$S$sysconfdir/peerkey/node.key" ] &&
    grep -q "peerkey init" "$W/pre0.log" &&
    grep -qx "ConditionPathExists=$sysconfdir/peerkey/node.key" "$S$unit"' \
    "before peerkey init the unit does not start, and peerkeyd -n says to init"

# --- peerkey init, then the daemon ------------------------------------------
sys "$sbindir/peerkey" init > "$W/init.log" 2>&1
rc=$?
ok '[ $rc = 0 ] &&
    [ "$(sys stat -c "%U %a" "$sysconfdir/peerkey/node.key")" = "root 600" ]' \
    "peerkey init (no daemon yet) makes the node key, root's, 0600"
diag "$W/init.log"

# What systemd does for LoadCredential=ID:PATH.
cdir=/run/credentials/peerkeyd.service
mkdir -p "$S$cdir"
cp "$S${cred#*:}" "$S$cdir/${cred%%:*}"
chmod 400 "$S$cdir/${cred%%:*}"
chmod 500 "$S$cdir"
sys chown -R "$user:$group" "$cdir"

# Without the credential the daemon cannot read the key, and says why.
as_unit $pre > "$W/nocred.log" 2>&1
rc=$?
ok '[ $rc != 0 ] && grep -q "LoadCredential" "$W/nocred.log"' \
    "as peerkey without the credential, peerkeyd -n fails and names LoadCredential="
diag "$W/nocred.log"

as_unit CREDENTIALS_DIRECTORY=$cdir $pre > "$W/pre.log" 2>&1
rc=$?
ok '[ $rc = 0 ] && grep -q "configuration OK" "$W/pre.log"' \
    "ExecStartPre (peerkeyd -n) passes as peerkey with the credential"
diag "$W/pre.log"

# shellcheck disable=SC2086
spawn daemon $AS_UNIT sh -c "$UMASK_EXEC" "$umask" \
    CREDENTIALS_DIRECTORY=$cdir $start
sock=$S$runstatedir/peerkey/control.sock
wait_for '[ -S "$sock" ] && grep -q "ready on port" "$W/daemon.log"' 30
ok 'grep -q "ready on port" "$W/daemon.log"' \
    "ExecStart (peerkeyd -d) starts as peerkey and gets ready"
grep -q "ready on port" "$W/daemon.log" || diag "$W/daemon.log"

uid=$(sys id -u peerkey)
ok '[ -n "$uid" ] && [ "$uid" != 0 ] &&
    [ "$(awk "/^Uid:/ { print \$2 }" /proc/$PID_daemon/status)" = "$uid" ]' \
    "the daemon's uid is peerkey's"
ok 'sys "$sbindir/peerkey" status > "$W/status.log" 2>&1' \
    "root's peerkey status is served"
diag "$W/status.log"
ok '! sys setpriv --reuid=nobody --regid=nogroup --clear-groups \
    "$sbindir/peerkey" status > "$W/nobody.log" 2>&1 &&
    grep -qi "denied" "$W/nobody.log"' "nobody's peerkey status is refused"
diag "$W/nobody.log"
ok '[ "$(sys stat -c "%U %a %F" "${sock#$S}")" = "peerkey 600 socket" ] &&
    [ "$(sys stat -c %U "$localstatedir/lib/peerkey/peerkey.db")" = peerkey ] &&
    [ "$(sys stat -c "%U %a" "$sysconfdir/peerkey/node.key")" = "root 600" ]' \
    "the socket and the store are peerkey's; the key file stays root's, 0600"

# --- the boot side's configuration ----------------------------------------
sys "$sbindir/peerkey" boot-config > "$W/bootconf.log" 2>&1
rc=$?
ok '[ $rc = 0 ] && [ -s "$S$sysconfdir/peerkey/boot.conf" ]' \
    "peerkey boot-config writes $sysconfdir/peerkey/boot.conf"
diag "$W/bootconf.log"
sys "$sbindir/peerkey-boot" -n > "$W/agent-n.log" 2>&1
rc=$?
ok '[ $rc = 0 ]' "peerkey-boot -n checks that file by default"
[ $rc = 0 ] || diag "$W/agent-n.log"

# --- every path the installed files name now exists -------------------------
pkg_named_missing "$W/root" "$S" > "$W/missing"
ok '[ ! -s "$W/missing" ]' \
    "every path under peerkey's directories named by an installed file exists"
diag "$W/missing"

stop "$PID_daemon"
rc=$?
ok '[ $rc = 0 ] && grep -q "stopped" "$W/daemon.log"' "SIGTERM stops the daemon cleanly"
finish
