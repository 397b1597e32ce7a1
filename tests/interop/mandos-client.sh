#!/bin/sh
# mandos-client.sh: Debian's real mandos-client, with keys and secrets made
# by Debian's mandos-keygen and imported with "peerkey import-mandos", gets
# its passphrase from peerkeyd over Mandos protocol 1 (--connect), exactly
# as from Debian's mandos server reading the same clients.conf; a disabled
# client (enabled = False) and an unknown key get nothing from either. The
# Mandos-protocol client of libpeerkey (pktool mandos) gets the very same
# bytes from both servers. Also: import-mandos's dry run, its report, and
# that a bad clients.conf imports nothing and names section and option.
. "$(dirname "$0")/lib-interop.sh"
need mandos mandos-keygen certtool gpg ip
need_root

NS=pkioc$$
mk_ns "$NS"
A=alpha-canary-$$-x7Q
B=beta-canary-$$-k2Z
three_clients "$A" "$B" 'checker = true\ninterval = PT1S' False

# refused_client KEYDIR PORT NAME: mandos-client with KEYDIR's keys asks
# 127.0.0.1:PORT, and is killed after 8 s (refused, it would retry for
# ever); stdout in $W/NAME.out, stderr in $W/NAME.err; sets rc.
refused_client() {
	timeout 8 sh -c '. "$0"; mandos_client "$1" "$2" --interface=none \
	    --connect=127.0.0.1:$3' "$(dirname "$0")/lib-interop.sh" "$NS" \
	    "$1" "$2" > "$W/$3.out" 2> "$W/$3.err"
	rc=$?
}

start_peerkeyd "$W/pkd" "$NS" || { diag "$W/peerkeyd.log"; fatal "peerkeyd"; }
ok 'true' "peerkeyd runs in namespace $NS"

# --- import-mandos -----------------------------------------------------------
pk import-mandos --dry-run "$W/clients.conf" > "$W/dry.out" 2>&1
rc=$?
ok '[ $rc = 0 ] && grep -q "^alpha .*would import" "$W/dry.out" &&
    grep -q "^2 of 2 Mandos clients can be imported" "$W/dry.out" &&
    [ "$(pk -j status | grep -c "\"boot_keyid\"")" = 0 ]' \
    "import-mandos --dry-run reports both clients and adds nothing"

# One good client and one with a bad option: nothing is imported.
{ cat "$W/alpha/section"; printf '\n[bad]\nkey_id = %s\n' \
    "$(cat "$W/gamma/keyid")"; printf 'secret = aGVsbG8=\ntimeout = 5 minutes\n'; } \
    > "$W/bad.conf"
pk import-mandos "$W/bad.conf" > "$W/bad.out" 2>&1
rc=$?
ok '[ $rc = 1 ] && grep -q "\[bad\] timeout: \"5 minutes\" is not a duration" \
    "$W/bad.out" && grep -q "nothing imported" "$W/bad.out" &&
    [ "$(pk -j status | grep -c "\"boot_keyid\"")" = 0 ]' \
    "a bad option names [section] and option, and nothing is imported"
printf '[nokey]\nsecret = aGVsbG8=\n' > "$W/nokey.conf"
pk import-mandos "$W/nokey.conf" > "$W/nokey.out" 2>&1
rc=$?
ok '[ $rc = 1 ] && grep -q "\[nokey\] key_id: missing" "$W/nokey.out"' \
    "a client without key_id is refused by name"

pk import-mandos "$W/clients.conf" > "$W/import.out" 2>&1
rc=$?
ok '[ $rc = 0 ] && grep -q "^alpha .*imported: key id $(cut -c1-16 "$W/alpha/keyid")... enabled" "$W/import.out" &&
    grep -q "^beta .*imported: .* DISABLED" "$W/import.out" &&
    grep -q "^2 of 2 Mandos clients imported" "$W/import.out"' \
    "import-mandos imports both clients and reports them"
[ $rc = 0 ] || diag "$W/import.out"
pk -j status > "$W/status.json"
ok 'python3 - "$W/status.json" "$(cat "$W/alpha/keyid")" "$(cat "$W/beta/keyid")" <<PY
import json, sys
s = json.load(open(sys.argv[1]))
p = {x["name"]: x for x in s["peers"]}
a, b = p["alpha"], p["beta"]
assert a["boot_keyid"] == sys.argv[2] and b["boot_keyid"] == sys.argv[3]
assert a["node_keyid"] == "" and a["blobs"] == 1 and b["blobs"] == 1
assert a["state"] == "enabled", a
assert b["state"] == "disabled-by-operator", b
assert a["checker"] == "true" and a["addresses"] == "alpha", a
assert a["interval_ms"] == 1000 and a["timeout_ms"] == 300000, a
assert a["extended_timeout_ms"] == 900000, a
assert a["approval_delay_ms"] == 0 and a["approved_by_default"], a
PY' "peerkeyd holds alpha (enabled) and beta (disabled), no node keys, one blob each"
pk import-mandos "$W/clients.conf" > "$W/again.out" 2>&1
rc=$?
ok '[ $rc = 1 ] && grep -q "^alpha .*NOT imported: a peer named \"alpha\" exists" "$W/again.out"' \
    "importing again refuses clients that exist, by name"

# --- the real mandos-client against peerkeyd -----------------------------------
mandos_client "$NS" "$W/alpha" --interface=none \
    --connect=127.0.0.1:$PKD_PORT > "$W/a.out" 2> "$W/a.err"
rc=$?
ok '[ $rc = 0 ] && [ "$(cat "$W/a.out")" = "$A" ] &&
    [ "$(wc -c < "$W/a.out")" = "$(printf %s "$A" | wc -c)" ]' \
    "mandos-client gets alpha's passphrase from peerkeyd, byte for byte"
[ $rc = 0 ] || diag "$W/a.err" "$W/peerkeyd.log"
refused_client "$W/beta" "$PKD_PORT" b
ok '[ $rc != 0 ] && [ ! -s "$W/b.out" ] &&
    grep -q "peer beta.*refused\|beta.*disabled" "$W/peerkeyd.log"' \
    "mandos-client of disabled beta gets nothing from peerkeyd (refusal logged)"
refused_client "$W/gamma" "$PKD_PORT" g
ok '[ $rc != 0 ] && [ ! -s "$W/g.out" ]' \
    "mandos-client with an unknown key gets nothing from peerkeyd"

# --- the same clients.conf in Debian's mandos server ---------------------------
start_mandos "$W/m" "$NS" "$W/clients.conf" ||
    { diag "$W/mandos.log"; fatal "mandos did not start"; }
ok 'true' "Debian's mandos server reads the same clients.conf"
mandos_client "$NS" "$W/alpha" --interface=none \
    --connect=127.0.0.1:$MANDOS_PORT > "$W/ma.out" 2> "$W/ma.err"
rc=$?
ok '[ $rc = 0 ] && [ "$(cat "$W/ma.out")" = "$A" ]' \
    "mandos-client gets alpha's passphrase from mandos too"
refused_client "$W/beta" "$MANDOS_PORT" mb
ok '[ $rc != 0 ] && [ ! -s "$W/mb.out" ]' \
    "and disabled beta gets nothing from mandos either: refusals match"

# --- libpeerkey's Mandos client (pktool mandos) against both servers -----------
ip netns exec "$NS" "$PKTOOL" mandos "$W/alpha/tls-privkey.pem" \
    127.0.0.1:$MANDOS_PORT > "$W/pm.bin" 2> "$W/pm.err"
rc1=$?
ip netns exec "$NS" "$PKTOOL" mandos "$W/alpha/tls-privkey.pem" \
    127.0.0.1:$PKD_PORT > "$W/pp.bin" 2> "$W/pp.err"
rc2=$?
ok '[ $rc1 = 0 ] && [ $rc2 = 0 ] && [ -s "$W/pm.bin" ] &&
    cmp -s "$W/pm.bin" "$W/pp.bin"' \
    "pktool mandos gets the same OpenPGP message from mandos and peerkeyd"
mkdir -m 700 "$W/gh"
GNUPGHOME=$W/gh gpg --batch -q --import "$W/alpha/seckey.txt" 2>/dev/null
ok '[ "$(GNUPGHOME=$W/gh gpg --batch -q -d "$W/pm.bin" 2>/dev/null)" = "$A" ]' \
    "and it decrypts with alpha's mandos-keygen key to the passphrase"
gpgconf --homedir "$W/gh" --kill gpg-agent 2>/dev/null
for srv in $MANDOS_PORT $PKD_PORT; do
	ip netns exec "$NS" "$PKTOOL" mandos "$W/beta/tls-privkey.pem" \
	    127.0.0.1:$srv > "$W/pb$srv.bin" 2> "$W/pb$srv.err"
	eval "rcb$srv=\$?"
done
ok '[ $rcb4242 = 1 ] && [ $rcb4141 = 1 ] && [ ! -s "$W/pb4242.bin" ] &&
    [ ! -s "$W/pb4141.bin" ] && grep -q "0 bytes" "$W/pb4242.err" &&
    grep -q "0 bytes" "$W/pb4141.err"' \
    "disabled beta: TLS completes, zero bytes, close, from both servers"

# --- secret hygiene --------------------------------------------------------------
ok '! grep -q "$A\|$B" "$W/peerkeyd.log" "$W/import.out" "$W/dry.out"' \
    "no passphrase in peerkeyd's log or import-mandos's output"
finish
