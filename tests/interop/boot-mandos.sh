#!/bin/sh
# boot-mandos.sh: peerkey-boot in Mandos mode, with the keys mandos-keygen
# made for an existing Mandos client (tls-privkey.pem, seckey.txt), gets
# its passphrase from Debian's real mandos server, unchanged; a client the
# server has disabled gets nothing and the agent gives up. The same agent
# and keys get the same passphrase from peerkeyd after import-mandos.
# Needs src/boot-agent/peerkey-boot (or PEERKEY_BOOT=path); outside CI the file
# is skipped until it is built.
. "$(dirname "$0")/lib-interop.sh"
need mandos mandos-keygen certtool gpg ip
need_root
AGENT=${PEERKEY_BOOT:-$top_builddir/src/boot-agent/peerkey-boot}
[ -x "$AGENT" ] || skip "peerkey-boot not built ($AGENT)"

NS=pkiob$$
mk_ns "$NS"
A=boot-canary-$$-Jq4
keygen "$W/alpha" alpha "$A" && keygen "$W/beta" beta "beta-$$" ||
    fatal "mandos-keygen failed"
{
	printf '[DEFAULT]\nchecker = true\n\n'
	cat "$W/alpha/section"
	printf '\n'
	cat "$W/beta/section"
	printf 'enabled = False\n'
} > "$W/clients.conf"
start_mandos "$W/m" "$NS" "$W/clients.conf" ||
    { diag "$W/mandos.log"; fatal "mandos did not start"; }
start_peerkeyd "$W/pkd" "$NS" || { diag "$W/peerkeyd.log"; fatal "peerkeyd"; }
pk import-mandos "$W/clients.conf" > "$W/import.out" 2>&1 ||
    { diag "$W/import.out"; fatal "import-mandos failed"; }

# boot_conf NAME KEYDIR PORT GIVEUP: a boot.conf asking one Mandos server.
boot_conf() {
	mkdir -p -m 700 "$W/work-$1"
	{
		printf '[boot]\ntls-key = %s/tls-privkey.pem\n' "$2"
		printf 'pgp-key = %s/seckey.txt\n' "$2"
		printf 'work-directory = %s/work-%s\n' "$W" "$1"
		printf 'mdns = no\nprompt = no\ngive-up = %s\n\n' "$4"
		printf '[mandos srv]\naddress = 127.0.0.1:%s\n' "$3"
	} > "$W/$1.conf"
}

boot_conf am "$W/alpha" $MANDOS_PORT 30s
ip netns exec "$NS" "$AGENT" -c "$W/am.conf" > "$W/am.out" 2> "$W/am.err"
rc=$?
ok '[ $rc = 0 ] && [ "$(cat "$W/am.out")" = "$A" ] &&
    [ "$(wc -c < "$W/am.out")" = "$(printf %s "$A" | wc -c)" ]' \
    "peerkey-boot with mandos-keygen's keys gets the passphrase from Debian's mandos"
[ $rc = 0 ] || diag "$W/am.err" "$W/mandos.log"
ok '! grep -q "$A" "$W/am.err"' "and never shows it on stderr"

boot_conf bm "$W/beta" $MANDOS_PORT 5s
ip netns exec "$NS" "$AGENT" -c "$W/bm.conf" > "$W/bm.out" 2> "$W/bm.err"
rc=$?
ok '[ $rc != 0 ] && [ ! -s "$W/bm.out" ]' \
    "a client mandos has disabled gets nothing; the agent gives up"

boot_conf ap "$W/alpha" $PKD_PORT 30s
ip netns exec "$NS" "$AGENT" -c "$W/ap.conf" > "$W/ap.out" 2> "$W/ap.err"
rc=$?
ok '[ $rc = 0 ] && cmp -s "$W/ap.out" "$W/am.out"' \
    "the same agent and keys get the same passphrase from peerkeyd"
[ $rc = 0 ] || diag "$W/ap.err" "$W/peerkeyd.log"
boot_conf bp "$W/beta" $PKD_PORT 5s
ip netns exec "$NS" "$AGENT" -c "$W/bp.conf" > "$W/bp.out" 2> "$W/bp.err"
rc=$?
ok '[ $rc != 0 ] && [ ! -s "$W/bp.out" ]' \
    "and disabled beta gets nothing from peerkeyd either"
finish
