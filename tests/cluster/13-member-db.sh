#!/bin/bash
# 13-member-db.sh: an attacker holds a member's database: a copy of h1's
# peerkey.db (a leaked backup, or read from h1's running root). It holds
# every blob h1 keeps, each an OpenPGP message encrypted to its owner's
# boot key: no passphrase in clear, no private key of any kind, and no
# key that decrypts another machine's blob (h1's own boot key does not
# open h2's). It is no key to the cluster either: a rogue peerkeyd under
# a key of its own refuses a database that belongs to h1's node key, and
# with the self row removed serves h2's blob only to h2's boot key, which
# the attacker does not have. What it does not protect against: together
# with h2's initramfs (its boot OpenPGP key), h2's blob decrypts -- the
# limit doc/trust.md names (keep databases and their backups as secret
# as the disks' passphrases).
#
#	h1 --+                  h1's database: copied by the attacker
#	h2 --+-- switch
#	h3 --+
#	h9 --+                  the attacker's machine
CL_INTERVAL=1s CL_TIMEOUT=30s CL_EXTENDED=10s
. "$(dirname "$0")/lib.sh"
cl_init "${1:-}"
cl_cluster 3
pass2=$(cl_boot 2) || fatal "h2 cannot boot"
ok 'printf %s "$pass2" | cl_check_key 2' "h2's peers release its passphrase"

# The attacker's copy: a consistent snapshot of h1's live database.
cl_host 9
db=$CL_DIR/h9/stolen.db
sqlite3 "$CL_DIR/h1/state/peerkey.db" ".backup '$db'"
ok 'test -s "$db"' "the attacker copies h1's database"
is "$(sqlite3 "$db" "SELECT count(*) FROM blobs")" 2 \
    "...holding h1's blobs of h2 and h3"
ok '! grep -qaF "$pass2" "$db" && ! grep -qaF "$(printf %s "$pass2" | base64)" "$db"' \
    "h2's passphrase is nowhere in it, in clear or base64"
ok '! grep -qa "PRIVATE KEY" "$db"' "no private key is in it"
body=$(sed -n '2p' "$CL_DIR/h1/node.key")
ok '! grep -qaF "$body" "$db"' "...in particular not h1's node key"

sqlite3 "$db" "SELECT hex(data) FROM blobs JOIN peers ON peers.id = peer_id
    WHERE peers.name = 'h2'" | xxd -r -p >"$CL_DIR/h9/h2.blob"
ok 'test -s "$CL_DIR/h9/h2.blob"' "the attacker extracts h2's blob"
# What a holder keeps is h2's signed blob (doc/protocol.md, section 11):
# the OpenPGP message inside it is what a key would have to open.
ok '"$CL_PKTOOL" unseal "$CL_DIR/h9/h2.blob" >"$CL_DIR/h9/h2.pgp" \
    2>"$CL_DIR/h9/h2.signer" &&
    grep -q "signed $(cat "$CL_DIR/h2/node.id")" "$CL_DIR/h9/h2.signer"' \
    "...signed by h2's node key; the OpenPGP message taken out of it"
ok '! n9 "$CL_PKTOOL" pgp-decrypt "$CL_DIR/h1/boot/pgp.key" \
    <"$CL_DIR/h9/h2.pgp" >/dev/null 2>&1' \
    "h1's own boot OpenPGP key does not decrypt h2's blob"
ok '! n9 "$CL_PKTOOL" pgp-decrypt "$CL_DIR/h3/boot/pgp.key" \
    <"$CL_DIR/h9/h2.pgp" >/dev/null 2>&1' "...nor h3's"

# A rogue peerkeyd with the copy, under a node key of its own.
cl_init_keys 9 || fatal "h9: peerkey init"
cl_conf 9
mkdir -p "$CL_DIR/h9/state"
cp "$db" "$CL_DIR/h9/state/peerkey.db"
timeout 20 ip netns exec "${CL_NS}h9" "$CL_PEERKEYD" -d \
    -f "$CL_DIR/h9/peerkeyd.conf" >"$CL_DIR/h9/rogue.log" 2>&1 && r=0 || r=$?
ok 'test "$r" != 0 && test "$r" != 124' "a rogue peerkeyd refuses to start on h1's database"
ok 'grep -q "belongs to node key $(cat "$CL_DIR/h1/node.id")" "$CL_DIR/h9/rogue.log"' \
    "...saying it belongs to h1's node key"
sqlite3 "$CL_DIR/h9/state/peerkey.db" "DELETE FROM self"
cl_start 9
ok 'wait_for "cl_guards 9 2" 10' "with the self row gone, it runs with h1's peers"
like "$(n9 "$CL_PKTOOL" unlock "$CL_DIR/h9/boot/tls.key" \
    "$(cl_addr 9):$CL_PORT" 2>/dev/null)" "^refused" \
    "...and releases nothing to the attacker's boot key"
like "$(n9 "$CL_PKTOOL" unlock "$CL_DIR/h1/boot/tls.key" \
    "$(cl_addr 9):$CL_PORT" 2>/dev/null)" "^refused" \
    "...nor to h1's boot key (h1 is not a peer of h1's own database)"

# The limit: with h2's initramfs too, h2's blob is h2's passphrase.
ok 'test "$(n9 "$CL_PKTOOL" pgp-decrypt "$CL_DIR/h2/boot/pgp.key" \
    <"$CL_DIR/h9/h2.pgp" 2>/dev/null)" = "$pass2"' \
    "the limit: with h2's initramfs (its boot OpenPGP key) the blob decrypts"
cl_done
