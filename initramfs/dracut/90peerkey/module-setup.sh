#!/bin/bash
# dracut module for peerkey: installs peerkey-boot, GnuPG, the boot keys
# and configuration, and, in a systemd initrd, a password agent: a path
# unit that starts peerkey-askpass.service whenever systemd-cryptsetup
# asks for a passphrase (a file ask.* in /run/systemd/ask-password). The
# service runs "peerkey-boot -a", which asks the peers and answers the
# request; systemd's own console agent keeps prompting meanwhile, so a
# person can always type the passphrase. Nothing names the blob: a
# request's Id=cryptsetup:DEVICE names the disk, whose LUKS header (read
# with libcryptsetup, which inst brings along with the agent) gives the
# UUID its blob is named after and checks the passphrase before it is
# sent, so each enrolled disk gets its own. rd.luks.uuid= or
# rd.luks.name= and nothing else on the command line is enough.
#
# Sourced by dracut, not executed. Environment for tests and unusual
# layouts: PEERKEY_BOOT_CONF, PEERKEY_BOOT_AGENT.

peerkey_conf() {
	echo "${PEERKEY_BOOT_CONF:-/etc/peerkey/boot.conf}"
}

peerkey_agent() {
	echo "${PEERKEY_BOOT_AGENT:-/usr/sbin/peerkey-boot}"
}

# Value of "name = value" in the [boot] section.
peerkey_conf_get() {
	sed -n '/^[[:space:]]*\[boot\][[:space:]]*$/,/^[[:space:]]*\[/{
	    s/^[[:space:]]*'"$1"'[[:space:]]*[=:][[:space:]]*\([^;#]*[^;#[:space:]]\).*$/\1/p
	}' "$(peerkey_conf)" | head -n 1
}

check() {
	[ -x "$(peerkey_agent)" ] || {
		derror "peerkey: $(peerkey_agent) not found"
		return 1
	}
	[ -r "$(peerkey_conf)" ] || {
		derror "peerkey: $(peerkey_conf) not found (run 'peerkey boot-config')"
		return 1
	}
	require_binaries gpg gpg-agent gpgconf || return 1
	return 0
}

depends() {
	echo crypt systemd-ask-password
	return 0
}

install() {
	local conf agent tls_key pgp_key f libgcc

	conf=$(peerkey_conf)
	agent=$(peerkey_agent)
	"$agent" -n -c "$conf" || {
		dfatal "peerkey: $conf does not check out"
		return 1
	}
	inst "$agent" /usr/sbin/peerkey-boot || {
		dfatal "peerkey: cannot install $agent"
		return 1
	}
	inst_multiple gpg gpg-agent gpgconf || {
		dfatal "peerkey: cannot install GnuPG"
		return 1
	}
	# ldd does not list libgcc_s.so.1; pthread_cancel() dlopens it.
	libgcc=$(ldconfig -p | sed -n 's/^[[:space:]]*libgcc_s\.so\.1 .*=> //p' |
	    head -n 1)
	if [ -z "$libgcc" ] || ! inst_simple "$libgcc"; then
		dfatal "peerkey: libgcc_s.so.1 not found"
		return 1
	fi

	tls_key=$(peerkey_conf_get tls-key)
	pgp_key=$(peerkey_conf_get pgp-key)
	for f in "${tls_key:-/etc/peerkey/boot/tls.key}" \
	    "${pgp_key:-/etc/peerkey/boot/pgp.key}"; do
		if ! inst_simple "$f"; then
			dfatal "peerkey: boot key $f not found"
			return 1
		fi
		chmod 600 "${initdir}$f"
	done
	inst_simple "$conf" /etc/peerkey/boot.conf

	inst_simple "$moddir/peerkey-askpass.path" \
	    "$systemdsystemunitdir/peerkey-askpass.path"
	inst_simple "$moddir/peerkey-askpass.service" \
	    "$systemdsystemunitdir/peerkey-askpass.service"
	mkdir -p "${initdir}$systemdsystemunitdir/sysinit.target.wants"
	ln_r "$systemdsystemunitdir/peerkey-askpass.path" \
	    "$systemdsystemunitdir/sysinit.target.wants/peerkey-askpass.path"
	# Network: rd.neednet=1 and ip= on the kernel command line, with
	# dracut's network module (dracut-network) when it is installed.
	return 0
}
