#!/bin/sh
# build-deb.sh: the Debian packages, built as a Debian developer would
# from a clean copy of the tree (make distdir: what the release tarball
# holds), with "dpkg-buildpackage -us -uc" (source and binaries: dh with
# autoreconf, the unit and fuzz tests), then checked by lintian: no error,
# and no warning that debian/*lintian-overrides does not justify.
#
# dpkg-buildpackage writes beside the tree it builds, so everything
# happens under tests/pkg/deb-build/ of the build directory; the packages
# are left in tests/pkg/debs/ there for deb-chroot.sh and the Debian
# guest's VM test.
. "$(dirname "$0")/lib-pkg.sh"
need dpkg-buildpackage dh lintian dpkg-deb
VERSION=$(dpkg-parsechangelog -l "$top_srcdir/debian/changelog" -S Version) ||
    fatal "cannot read debian/changelog"
B=$top_builddir/tests/pkg/deb-build
DEBS=$top_builddir/tests/pkg/debs
rm -rf "$B" "$DEBS"
mkdir -p "$B" "$DEBS"

$MAKE -C "$top_builddir" distdir distdir="$B/peerkey-$VERSION" \
    > "$W/distdir.log" 2>&1
rc=$?
ok '[ $rc = 0 ] && [ -x "$B/peerkey-$VERSION/debian/rules" ]' \
    "make distdir copies the tree with debian/"
[ $rc = 0 ] || { diag "$W/distdir.log"; fatal "make distdir failed"; }

(cd "$B/peerkey-$VERSION" &&
    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
    DEB_BUILD_OPTIONS="parallel=$(nproc)" dpkg-buildpackage -us -uc) \
    > "$B/build.log" 2>&1
rc=$?
ok '[ $rc = 0 ]' "dpkg-buildpackage -us -uc builds the source and the packages"
[ $rc = 0 ] || { diag "$B/build.log"; fatal "dpkg-buildpackage failed"; }

changes=$B/peerkey_${VERSION}_$(dpkg --print-architecture).changes
for p in peerkey peerkey-boot; do
	ok '[ -s "$B/${p}_${VERSION}_$(dpkg --print-architecture).deb" ]' "$p built"
done
for p in peerkey-initramfs-tools peerkey-dracut; do
	ok '[ -s "$B/${p}_${VERSION}_all.deb" ]' "$p built"
done
ok '[ -s "$B/peerkey_$VERSION.dsc" ] && [ -s "$changes" ]' ".dsc and .changes written"

# The files of each package (a package that misses one fails dh_missing).
for d in "$B"/*.deb; do
	dpkg-deb -c "$d" | awk '{ print $6 }' | sed 's|^\./|/|' |
	    grep -v '/$' > "$W/$(basename "$d" .deb).list"
done
has() {
	grep -qx "$2" "$W/$1_${VERSION}_$3.list"
}
a=$(dpkg --print-architecture)
ok 'has peerkey /usr/sbin/peerkeyd $a && has peerkey /usr/sbin/peerkey $a &&
    has peerkey /lib/systemd/system/peerkeyd.service $a &&
    has peerkey /usr/lib/sysusers.d/peerkey.conf $a &&
    has peerkey /usr/lib/tmpfiles.d/peerkey.conf $a &&
    has peerkey /etc/peerkey/peerkeyd.conf $a' \
    "peerkey: the daemon, the command, the unit, sysusers.d, tmpfiles.d, the configuration"
ok 'has peerkey-boot /usr/sbin/peerkey-boot $a' "peerkey-boot: the agent"
ok 'has peerkey-initramfs-tools /usr/share/initramfs-tools/hooks/peerkey all &&
    has peerkey-initramfs-tools /lib/cryptsetup/scripts/peerkey all &&
    has peerkey-initramfs-tools /usr/share/initramfs-tools/conf-hooks.d/zz-peerkey all' \
    "peerkey-initramfs-tools: the hook, the keyscript, the conf-hook"
ok 'has peerkey-dracut /usr/lib/dracut/modules.d/90peerkey/module-setup.sh all' \
    "peerkey-dracut: the module"

# lintian on the .changes checks the .dsc and every .deb too.
lintian --fail-on error,warning --info "$changes" > "$B/lintian.log" 2>&1
rc=$?
ok '[ $rc = 0 ]' "lintian: no error, no unjustified warning"
diag "$B/lintian.log"

# The four packages, without their -dbgsym companions.
for p in peerkey peerkey-boot peerkey-initramfs-tools peerkey-dracut; do
	cp "$B/${p}_${VERSION}"_*.deb "$DEBS"/
done
ok '[ "$(ls "$DEBS"/*.deb 2>/dev/null | wc -l)" = 4 ]' \
    "the four packages are in tests/pkg/debs/"
finish
