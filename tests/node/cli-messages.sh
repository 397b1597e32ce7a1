#!/bin/sh
# cli-messages.sh: what the peerkey command tells an operator who gets
# something wrong, or wants to know where things stand: each message says
# what happened and what to do (a refused peer, a missing device, an
# invitation's lifetime, an unknown event kind, a relative -d), every
# command's --help, import-mandos of the clients.conf Debian ships, the
# status table's address and last check, "peerkey list" of enrolled disks
# and their holders, and enroll's progress lines. Real peerkeyd on
# loopback, real LUKS2 images.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/tests/node/lib-cli.sh"

plan 30

trio

# run CMD...: peerkey on a; exit status in $r, stdout+stderr in $W/out.
run() {
	pk a "$@" >"$W/out" 2>&1 </dev/null && r=0 || r=$?
}

# --- enroll: progress lines, then "peerkey list" -----------------------------
run enroll "$W/img" --peers b,c --key-file "$W/pass"
is "$r" 0 "enroll with b and c"
grep -q "img: checking the passphrase (the key derivation takes a few" \
    "$W/out" && grep -q 'img: asking 2 peers for a heartbeat' "$W/out" &&
    grep -q 'img: depositing the key with b' "$W/out" &&
    grep -q 'img: depositing the key with c' "$W/out" &&
    pass "enroll says each step while it works" ||
    fail "enroll says each step while it works"
run list "$W/img"
is "$r" 0 "list IMG"
grep -q "held by: b c" "$W/out" && grep -q "keyslot 1  enrolled" "$W/out" &&
    pass "list: the keyslot, its state and who holds the key" ||
    fail "list: the keyslot, its state and who holds the key"
is "$(pk a -j list "$W/img" | jq -c '.disks[0] | [.held_by, .blob_id]')" \
    "[[\"b\",\"c\"],\"luks-$(cryptsetup luksUUID "$W/img")\"]" \
    "list -j: held_by and the blob's name"
luks_image "$W/plain.img" 'correct horse'
run list "$W/plain.img"
ok '[ "$r" = 0 ] && grep -q "plain.img: not enrolled" "$W/out"' \
    "list of a LUKS2 image peerkey never enrolled: says so"

# --- a peer that refuses connections -----------------------------------------
node_stop c
run rotate "$W/img" --peers c --key-file "$W/pass"
is "$r" 1 "rotate with c down: nothing changed (exit 1)"
like "$(cat "$W/out")" "peer c is not reachable: 127.0.0.1:[0-9]*: Connection refused \(is its peerkeyd running, on that address\?" \
    "a refused connection is named, and what to check"
unlike "$(cat "$W/out")" "system error" "...not \"system error\""

# --- status: address and last check -------------------------------------------
pk a check b >/dev/null
pk a check c >/dev/null
wait_for 'pk a -j status | jq -e ".peers[] | select(.name == \"c\") |
    .last_check > 0 and (.last_check_ok | not)" >/dev/null' 20 || true
wait_for 'pk a -j status | jq -e ".peers[] | select(.name == \"b\") |
    .last_check > 0 and .last_check_ok" >/dev/null' 20 || true
pk a status >"$W/out"
grep -q 'ADDRESS .*LAST CHECK' "$W/out" && pass "status: ADDRESS and LAST CHECK" ||
    fail "status: ADDRESS and LAST CHECK"
like "$(grep '^b ' "$W/out")" "127\.0\.0\.1:$PORT_b .* ok [0-9]+s ago" \
    "status: b's address, its last check ok"
like "$(grep '^c ' "$W/out")" "127\.0\.0\.1:$PORT_c .* FAILED [0-9]+s ago" \
    "status: c's last check FAILED, although c may still read enabled"
grep -q '1 peer failed its last check: "peerkey events --kind check-failed"' \
    "$W/out" && pass "status: says which command tells why" ||
    fail "status: says which command tells why"

# --- a missing device ---------------------------------------------------------
run enroll /dev/peerkey-nosuch --key-file "$W/pass"
is "$r" 6 "enroll of a missing device: exit 6"
like "$(cat "$W/out")" "/dev/peerkey-nosuch: no such device or file \(give the LUKS2 partition, such as /dev/sda3, or an image file: \"lsblk -f\"" \
    "...says so, and how to find the device"
unlike "$(cat "$W/out")" "Block device required" "...not \"Block device required\""

# --- invitations: a lifetime in bounds, said in its unit ----------------------
run invite --expires 400d --address 127.0.0.1:1
is "$r" 2 "invite --expires 400d: refused (exit 2)"
grep -q 'expires 400d: a code is valid for 1s to 7d00h' "$W/out" &&
    pass "...with the bounds" || fail "...with the bounds"
run invite --expires 0 --address 127.0.0.1:1
ok '[ "$r" = 2 ] && grep -q "a code is valid for 1s to" "$W/out" &&
    ! grep -q "not a duration" "$W/out"' \
    "invite --expires 0: out of bounds, not \"not a duration\""
run invite --expires 90m --address 127.0.0.1:1
ok '[ "$r" = 0 ] && grep -q "within 1h30m:" "$W/out"' \
    "invite --expires 90m: \"within 1h30m\", not seconds"

# --- events: an unknown kind ---------------------------------------------------
run events --kind nosuch
is "$r" 2 "events --kind nosuch: exit 2"
grep -q 'no event kind "nosuch"; the kinds: added removed .*released' \
    "$W/out" && pass "...and the kinds there are" ||
    fail "...and the kinds there are"
for k in $(sed -n 's/.*the kinds: //p' "$W/out"); do
	grep -q "$k" "$top_srcdir/doc/peerkeyd.8.in" ||
	    echo "# kind $k not in peerkeyd(8)"
done >"$W/undoc"
is "$(cat "$W/undoc")" "" "every kind is in peerkeyd(8)"

# --- a relative -d ------------------------------------------------------------
(cd "$W" && "$PEERKEY" -d a -s "$W/a/run/control.sock" boot-config \
    --out "$W/rel.conf" >/dev/null 2>&1)
is "$(sed -n 's/^tls-key = //p' "$W/rel.conf")" "$W/a/boot/tls.key" \
    "a relative -d: boot.conf names the key by its absolute path"

# --- every command's --help ----------------------------------------------------
bad=""
for c in $("$PEERKEY" --help | sed -n 's/^  \([a-z-]*\) .*/\1/p'); do
	"$PEERKEY" "$c" --help >"$W/out" 2>&1 &&
	    grep -q "^usage: peerkey $c" "$W/out" || bad="$bad $c"
done
is "$bad" "" "every COMMAND --help prints its usage and exits 0"

# --- import-mandos of the clients.conf Debian ships ----------------------------
# /etc/mandos/clients.conf of Debian's mandos, its DEFAULT checker line as
# Mandos' default (fping -q -- %%(host)s), with a client appended as
# mandos-keygen prints it.
[ -r /etc/mandos/clients.conf ] || fatal "no /etc/mandos/clients.conf (mandos)"
sed 's/^;checker = /checker = /' /etc/mandos/clients.conf >"$W/clients.conf"
grep -q '^checker = fping -q -- %%(host)s' "$W/clients.conf" ||
    fatal "Debian's clients.conf has no fping checker line"
sed -n '/^\[testclient\]/,$p' "$top_srcdir/tests/unit/mandos-keygen.conf" |
    sed 's/^host = .*/host = 127.0.0.1/' >>"$W/clients.conf"
run import-mandos "$W/clients.conf"
is "$r" 0 "import-mandos of Debian's clients.conf: imported (exit 0)"
grep -q '1 of 1 Mandos clients imported' "$W/out" && pass "...says so" ||
    fail "...says so"
is "$(pk a -j status | jq -r '.peers[] | select(.name == "testclient") |
    .checker')" "fping -q -- %(host)s" \
    "...its checker is an argument list, no script"
unlike "$(cat "$W/out")" "needs a shell" "...no \"needs a shell\""
printf '[x]\nhost = 127.0.0.1\nkey_id = %064d\nfingerprint = %040d\nsecret = aGk=\nchecker = fping -q -- %%%%(host)s && true\n' 7 7 \
    >"$W/shell.conf"
run import-mandos --dry-run "$W/shell.conf"
ok '[ "$r" = 1 ] && grep -q "needs a shell" "$W/out"' \
    "a checker with shell syntax still needs --checker-dir"

finish
