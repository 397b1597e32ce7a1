#!/bin/sh
# cli-init.sh: peerkey init (keys, modes, idempotence, --json) and
# peerkey boot-config (the format peerkey-boot reads), without /etc.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/tests/node/lib-cli.sh"

plan 20

D=$W/x
"$PEERKEY" --dir "$D" init >"$W/out" 2>&1 && pass "init" || fail "init"
grep -q '^node key     [0-9a-f]\{64\}  (new)' "$W/out" &&
    pass "init prints the node key id" || fail "init prints the node key id"
is "$(stat -c %a "$D/boot")" 700 "boot directory is 0700"
is "$(stat -c %a "$D/node.key"):$(stat -c %a "$D/boot/tls.key"):$(stat -c \
    %a "$D/boot/pgp.key")" "600:600:600" "private keys are 0600"
is "$(stat -c %a "$D/boot/pgp.pub")" 644 "the OpenPGP public key is 0644"
grep -q 'BEGIN PGP PUBLIC KEY BLOCK' "$D/boot/pgp.pub" &&
    pass "pgp.pub is an armored public key" || fail "pgp.pub is armored"
grep -q 'BEGIN PGP PRIVATE KEY BLOCK' "$D/boot/pgp.key" &&
    pass "pgp.key is an armored secret key" || fail "pgp.key is armored"
"$PEERKEY" -d "$D" -j init >"$W/j1"
is "$(jq -r '.node_key_created or .boot_key_created or .boot_pgp_created' \
    "$W/j1")" false "init again creates nothing"
md5sum "$D/node.key" "$D/boot/tls.key" "$D/boot/pgp.key" >"$W/sums1"
"$PEERKEY" -d "$D" init >/dev/null
md5sum "$D/node.key" "$D/boot/tls.key" "$D/boot/pgp.key" >"$W/sums2"
cmp -s "$W/sums1" "$W/sums2" && pass "init again keeps every key" ||
    fail "init again keeps every key"
is "$(jq -r .node_keyid "$W/j1")" "$(grep '^node key' "$W/out" |
    awk '{ print $3 }')" "the same node key id both times"
[ "$(jq -r .node_keyid "$W/j1")" != "$(jq -r .boot_keyid "$W/j1")" ] &&
    pass "node and boot keys differ" || fail "node and boot keys differ"

# A group-readable private key is refused, with advice.
chmod 640 "$D/boot/tls.key"
"$PEERKEY" -d "$D" init >"$W/out" 2>&1 && r=0 || r=$?
is "$r" 6 "a group-readable key: exit 6"
grep -q 'chmod 600' "$W/out" && pass "says chmod 600" || fail "says chmod 600"
chmod 600 "$D/boot/tls.key"

# Half an OpenPGP pair is not silently replaced.
mv "$D/boot/pgp.pub" "$W/pgp.pub"
"$PEERKEY" -d "$D" init >"$W/out" 2>&1 && r=0 || r=$?
is "$r" 6 "half an OpenPGP pair: exit 6"
[ ! -e "$D/boot/pgp.pub" ] && pass "nothing made" || fail "nothing made"
mv "$W/pgp.pub" "$D/boot/pgp.pub"

# boot-config from a running node with two peers.
node_start a
node_start b
node_start c
link a b
pk a peer add c --node-key "$NODE_c" --boot-key "$BOOT_c" \
    --address "127.0.0.1:$PORT_c" --address "[::1]:$PORT_c"
pk a peer add m --boot-key "$(printf %064d 1)" >/dev/null
printf '[boot]\ngive-up = 10m\nconnect-timeout = 1s\n' >"$W/a/boot.conf"
pk a -j boot-config >"$W/out"
is "$(jq -r .changed "$W/out")" true "boot-config writes the file"
awk '/^\[peer b\]/ { s = 1 } s && /^node-key/ { print $3; exit }' \
    "$W/a/boot.conf" >"$W/nk"
is "$(cat "$W/nk")" "$NODE_b" "[peer b] pins b's node key"
grep -q "^address = 127.0.0.1:$PORT_c \[::1\]:$PORT_c\$" "$W/a/boot.conf" &&
    pass "[peer c] lists both addresses" || fail "[peer c] addresses"
grep -q '^give-up = 10m$' "$W/a/boot.conf" &&
    grep -q "^tls-key = $W/a/boot/tls.key\$" "$W/a/boot.conf" &&
    ! grep -q '^\[peer m\]' "$W/a/boot.conf" &&
    pass "[boot] kept, keys set, the Mandos client left out" ||
    fail "[boot] kept, keys set, the Mandos client left out"
is "$(pk a -j boot-config | jq -r .changed)" false "boot-config again: unchanged"

finish
