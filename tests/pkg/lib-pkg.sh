# lib-pkg.sh: the installation and package tests' own helpers (sourced,
# POSIX sh; tests/install and tests/pkg), on the shell test driver
# tests/lib-tap.sh (ok, diag, need, need_root, skip, fatal, finish, spawn,
# stop, wait_for, at_exit, $W):
#
#	pkg_dirs             sets the configured directories (sbindir,
#	                     sysconfdir, ..., dracutmodulesdir) from the build
#	pkg_install DIR      make install DESTDIR=DIR; log in $W/install.log
#	pkg_files DIR        the files and links under DIR, as absolute
#	                     paths of the installed system, sorted
#	pkg_expected         the files make install must install, sorted
#	pkg_named_paths DIR  every absolute path under one of peerkey's
#	                     directories that the text files under DIR name
#	pkg_named_missing DIR ROOT
#	                     those of them that ROOT lacks (or a line saying
#	                     that DIR names none at all)
#	pkg_umount_at_exit DIR
#	                     DIR and all mounted below it are unmounted at
#	                     exit, before $W is removed (never into a bound
#	                     file system)
set -u

: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)/build}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/lib-tap.sh"
MAKE=${MAKE:-make}

pkg_umount_at_exit() {
	at_exit "umount -R -l '$1' 2>/dev/null"
}

pkg_dirs() {
	# Only the NAME='VALUE' lines: a make called from make may say more.
	_d=$($MAKE -s --no-print-directory -C "$top_builddir" print-dirs \
	    2>/dev/null | grep -E "^[a-z]+='[^']*'$")
	[ -n "$_d" ] && eval "$_d" || fatal "make print-dirs failed"
}

pkg_install() {
	$MAKE -C "$top_builddir" install DESTDIR="$1" > "$W/install.log" 2>&1
}

pkg_files() {
	(cd "$1" && find . \( -type f -o -type l \) | sed 's|^\.||' | sort)
}

# What make install must put where (configure --with-initramfs=both).
pkg_expected() {
	{
		for p in peerkey peerkey-boot peerkeyd; do
			echo "$sbindir/$p"
		done
		for m in peerkey-boot.8 peerkey.8 peerkeyd.8; do
			echo "$mandir/man8/$m"
		done
		echo "$mandir/man5/peerkey.conf.5"
		for d in README.md mandos-compat.md protocol.md trust.md; do
			echo "$docdir/$d"
		done
		echo "$sysconfdir/peerkey/peerkeyd.conf"
		echo "$systemdsystemunitdir/peerkeyd.service"
		echo "$systemdsystemunitdir/peerkey-reshare.service"
		echo "$systemdsystemunitdir/peerkey-reshare.timer"
		echo "$sysusersdir/peerkey.conf"
		echo "$tmpfilesdir/peerkey.conf"
		echo "$initramfstoolsdir/hooks/peerkey"
		echo "$initramfstoolsdir/conf-hooks.d/zz-peerkey"
		echo "$initramfstoolsdir/scripts/init-bottom/peerkey"
		echo "$keyscriptdir/peerkey"
		for f in module-setup.sh peerkey-askpass.path \
		    peerkey-askpass.service; do
			echo "$dracutmodulesdir/90peerkey/$f"
		done
	} | sort
}

# The directories that are peerkey's own, or where it puts its files:
# a path under one of them that an installed file names must exist once
# the operator's commands have run.
pkg_own_dirs() {
	echo "$sbindir/peerkey"
	echo "$sysconfdir/peerkey"
	echo "$localstatedir/lib/peerkey"
	echo "$runstatedir/peerkey"
	echo "$systemdsystemunitdir/peerkey"
	echo "$sysusersdir/peerkey"
	echo "$tmpfilesdir/peerkey"
	echo "$initramfstoolsdir/hooks/peerkey"
	echo "$initramfstoolsdir/conf-hooks.d/zz-peerkey"
	echo "$initramfstoolsdir/scripts/init-bottom/peerkey"
	echo "$keyscriptdir/peerkey"
	echo "$dracutmodulesdir/90peerkey"
	echo "$docdir"
}

pkg_named_paths() {
	_re=$(pkg_own_dirs | sed 's/[.[\*^$]/\\&/g' | paste -sd '|')
	find "$1" -type f -exec grep -Il . {} + | while read -r _f; do
		grep -Eo "($_re)[^][[:space:]\\\\\"'\`;:,(){}<>|&=*]*" "$_f"
	done | sed 's/[.)]*$//' | sort -u
}

pkg_named_missing() {
	pkg_named_paths "$1" > "$W/named"
	[ -s "$W/named" ] || echo "(no file under $1 names any path)"
	while read -r _p; do
		[ -e "$2$_p" ] || echo "$_p"
	done < "$W/named"
}
