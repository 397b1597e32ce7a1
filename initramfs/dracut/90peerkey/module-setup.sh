#!/bin/bash
# dracut module for peerkey: installs peerkey-boot, GnuPG, the boot keys
# and configuration, and, in a systemd initrd, a password agent: a path
# unit that starts peerkey-askpass.service whenever systemd-cryptsetup
# asks for a passphrase (a file ask.* in /run/systemd/ask-password). The
# service runs "peerkey-boot -a", which asks the peers and answers the
# request; systemd's own console agent keeps prompting meanwhile, so a
# person can always type the passphrase.
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
	local conf agent tls_key tpm_key tcti pgp_key f libgcc lib

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
	tpm_key=$(peerkey_conf_get tpm-key)
	pgp_key=$(peerkey_conf_get pgp-key)
	# A TPM boot key replaces the key file, and needs the tss2
	# libraries peerkey-boot dlopen()s, the TCTI module TctiLdr
	# dlopen()s (libtss2-tcti-NAME.so.0 for "NAME:conf") and the TPM's
	# drivers; none of it without one.
	if [ -n "$tpm_key" ]; then
		tls_key=$tpm_key
		tcti=$(peerkey_conf_get tpm-tcti)
		tcti=${tcti:-device:/dev/tpmrm0}
		for lib in libtss2-esys.so.0 libtss2-mu.so.0 libtss2-rc.so.0 \
		    libtss2-tctildr.so.0 "libtss2-tcti-${tcti%%:*}.so.0"; do
			f=$(ldconfig -p | sed -n "s/^[[:space:]]*$lib (libc6,x86-64) => //p" |
			    head -n 1)
			if [ -z "$f" ] || ! inst_library "$f"; then
				dfatal "peerkey: $lib not found, needed by the TPM boot key $tpm_key"
				return 1
			fi
		done
		instmods tpm_tis tpm_crb
	fi
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
