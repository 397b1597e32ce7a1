#!/bin/sh
# install.sh: "make install DESTDIR=..." installs exactly the expected
# files (programs, man pages, docs, configuration, unit, sysusers.d and
# tmpfiles.d files, initramfs-tools hook, conf-hook and keyscript, dracut
# module), with the configured paths substituted (no placeholder left,
# scripts executable), and "make uninstall" removes every one of them.
# operator.sh then runs what was installed.
. "$(dirname "$0")/../pkg/lib-pkg.sh"
need find
pkg_dirs

D=$W/root
pkg_install "$D"
rc=$?
ok '[ $rc = 0 ]' "make install DESTDIR=... succeeds"
[ $rc = 0 ] || diag "$W/install.log"

pkg_files "$D" > "$W/installed"
pkg_expected > "$W/expected"
ok 'cmp -s "$W/expected" "$W/installed"' "it installs exactly the expected files"
cmp -s "$W/expected" "$W/installed" ||
    diff "$W/expected" "$W/installed" | diag

ok '! grep -rIn "@[a-z_]*@" "$D" > "$W/placeholders"' \
    "no placeholder is left in an installed file"
diag "$W/placeholders"

ok '[ -x "$D$initramfstoolsdir/hooks/peerkey" ] &&
    [ -x "$D$keyscriptdir/peerkey" ] &&
    [ -x "$D$dracutmodulesdir/90peerkey/module-setup.sh" ] &&
    [ ! -x "$D$sysconfdir/peerkey/peerkeyd.conf" ]' \
    "the hook, keyscript and module setup are executable, data is not"

unit=$D$systemdsystemunitdir/peerkeyd.service
ok 'grep -qx "ExecStart=$sbindir/peerkeyd -d" "$unit" &&
    grep -qx "LoadCredential=node.key:$sysconfdir/peerkey/node.key" "$unit" &&
    grep -qx "ConditionPathExists=$sysconfdir/peerkey/node.key" "$unit" &&
    grep -q "^ReadWritePaths=.*$localstatedir/lib/peerkey" "$unit" &&
    grep -q "^ReadWritePaths=.*$runstatedir/peerkey" "$unit"' \
    "the unit runs the installed daemon with the configured paths"
ok 'grep -qx "u peerkey - \"peerkey node daemon\" $localstatedir/lib/peerkey" \
    "$D$sysusersdir/peerkey.conf" &&
    grep -qx "d $localstatedir/lib/peerkey 0700 peerkey peerkey -" \
    "$D$tmpfilesdir/peerkey.conf" &&
    grep -qx "d $runstatedir/peerkey 0755 peerkey peerkey -" \
    "$D$tmpfilesdir/peerkey.conf"' \
    "sysusers.d and tmpfiles.d make the user and its two directories"

ok 'grep -q "^CONF=\${PEERKEY_BOOT_CONF:-$sysconfdir/peerkey/boot.conf}$" \
    "$D$initramfstoolsdir/hooks/peerkey" &&
    grep -q "^AGENT=\${PEERKEY_BOOT_AGENT:-$sbindir/peerkey-boot}$" \
    "$D$initramfstoolsdir/hooks/peerkey" &&
    grep -q "PEERKEY_BOOT_CONF:-$sysconfdir/peerkey/boot.conf}" \
    "$D$dracutmodulesdir/90peerkey/module-setup.sh"' \
    "the hook and the dracut module look where peerkey writes"

ok 'grep -q "^UMASK=0077$" "$D$initramfstoolsdir/conf-hooks.d/zz-peerkey"' \
    "the conf-hook keeps the image root's"

# The installed man pages name the installed paths.
ok 'grep -q "^\.I $sysconfdir/peerkey/node.key$" "$D$mandir/man8/peerkeyd.8" &&
    grep -q "$runstatedir/peerkey/control.sock" "$D$mandir/man8/peerkey.8"' \
    "the man pages name the configured paths"

# Uninstall from a second tree, so that nothing but make put files there.
U=$W/again
pkg_install "$U" || fatal "second make install failed"
$MAKE -C "$top_builddir" uninstall DESTDIR="$U" > "$W/uninstall.log" 2>&1
rc=$?
pkg_files "$U" > "$W/left"
ok '[ $rc = 0 ] && [ ! -s "$W/left" ]' "make uninstall removes every file"
diag "$W/left"
finish
