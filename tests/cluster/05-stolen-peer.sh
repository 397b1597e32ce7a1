#!/bin/bash
# 05-stolen-peer.sh: a stolen peer (the Mandos FAQ, "physically grabbing
# the server"). The thief copies h1's whole database, and has h1's own
# keys too. The blobs in it open no disk: they are OpenPGP messages to
# each owner's boot key, which h1 never had (signed by each owner's node
# key: the signature hides nothing). The cluster is built with
# the operator's commands; the thief's tools are sqlite3 and pktool.
#
#	h1 (stolen, db copied) --+
#	h2, h3, h4 -------------+-- switch
. "$(dirname "$0")/lib.sh"
cl_init "${1:-}"
cl_cluster 4
d1=$CL_DIR/h1
loot=$CL_DIR/loot
mkdir -m 700 "$loot"

# The thief's copy, taken while h1 runs (WAL included), and opened offline.
cp "$d1"/state/peerkey.db* "$loot/"
cl_stop 1
ok 'test "$(sqlite3 "$loot/peerkey.db" "PRAGMA integrity_check")" = ok' \
    "the copied database is readable"
nblobs=0
for m in 2 3 4; do
	sqlite3 "$loot/peerkey.db" "SELECT writefile('$loot/h$m.blob', data)
	    FROM blobs JOIN peers ON peers.id = blobs.peer_id
	    WHERE name = 'h$m'" >/dev/null
	[ -s "$loot/h$m.blob" ] && nblobs=$((nblobs + 1))
done
ok 'test "$nblobs" = 3' "the thief has the blobs of h2, h3 and h4"
for m in 2 3 4; do
	# A blob is signed, not secret: its OpenPGP message reads out.
	ok '"$CL_PKTOOL" unseal "$loot/h$m.blob" >"$loot/h$m.pgp" \
	    2>"$loot/h$m.signer" &&
	    test "$(cat "$loot/h$m.signer")" = "signed $(cat "$CL_DIR/h$m/node.id")"' \
	    "h$m's blob is signed by h$m's node key; its OpenPGP message reads out"
	# Control: only the owner's boot key opens it.
	ok '"$CL_PKTOOL" pgp-decrypt "$CL_DIR/h$m/boot/pgp.key" \
	    <"$loot/h$m.pgp" >"$CL_DIR/h$m/key" &&
	    cl_check_key "$m" <"$CL_DIR/h$m/key"' \
	    "only h$m's own boot key turns the blob into its key"
	ok 'test -s "$CL_DIR/h$m/key" && ! cat "$loot"/peerkey.db* |
	    cl_hex | grep -q "$(cl_hex <"$CL_DIR/h$m/key")"' \
	    "h$m's plaintext key is nowhere in the database"
	ok '! cl_check_key "$m" <"$loot/h$m.blob" 2>/dev/null' \
	    "h$m's blob as a passphrase does not open its disk"
	ok '! "$CL_PKTOOL" pgp-decrypt "$d1/boot/pgp.key" \
	    <"$loot/h$m.pgp" >"$loot/out" 2>/dev/null &&
	    ! test -s "$loot/out"' \
	    "h1's own OpenPGP key cannot decrypt h$m's blob"
	other=$((m == 4 ? 2 : m + 1))
	ok '! "$CL_PKTOOL" pgp-decrypt "$CL_DIR/h$other/boot/pgp.key" \
	    <"$loot/h$m.pgp" >"$loot/out" 2>/dev/null &&
	    ! test -s "$loot/out"' \
	    "another peer's boot key cannot decrypt h$m's blob"
done
# The thief's stolen h1 node key cannot withdraw another peer's blob
# from h2 either: only h3's node key may.
blob3=$(sqlite3 "$loot/peerkey.db" "SELECT blob_id FROM blobs JOIN peers
    ON peers.id = blobs.peer_id WHERE name = 'h3'")
blobs3() {
	cl_pk 2 -j status | jq '.peers[] | select(.name == "h3") | .blobs'
}
n1 "$CL_PKTOOL" withdraw "$d1/node.key" "$(cl_addr 2):$CL_PORT" "$blob3" \
    >/dev/null 2>&1
ok 'test "$(blobs3)" = 1' \
    "a withdraw with h1's node key leaves h3's blob on h2"
n3 "$CL_PKTOOL" withdraw "$CL_DIR/h3/node.key" "$(cl_addr 2):$CL_PORT" \
    "$blob3" >/dev/null
ok 'test "$(blobs3)" = 0' \
    "control: the same withdraw with h3's node key removes it"
cl_done
