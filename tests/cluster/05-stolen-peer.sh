#!/bin/bash
# 05-stolen-peer.sh: a stolen peer (the Mandos FAQ, "physically grabbing
# the server"). The thief copies h1's whole database, and has h1's own
# keys too. The blobs in it open no disk: they are OpenPGP messages to
# each owner's boot key, which h1 never had.
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
check "the copied database is readable" \
    test "$(sqlite3 "$loot/peerkey.db" "PRAGMA integrity_check")" = ok
nblobs=0
for m in 2 3 4; do
	sqlite3 "$loot/peerkey.db" "SELECT writefile('$loot/h$m.blob', data)
	    FROM blobs JOIN peers ON peers.id = blobs.peer_id
	    WHERE name = 'h$m'" >/dev/null
	[ -s "$loot/h$m.blob" ] && nblobs=$((nblobs + 1))
done
check "the thief has the blobs of h2, h3 and h4" test "$nblobs" = 3
for m in 2 3 4; do
	check "h$m's plaintext key is nowhere in the database" \
	    eval '! grep -qF "$(cat "$CL_DIR/h$m/key")" "$loot"/peerkey.db*'
	check "h$m's blob as a passphrase does not open its disk" \
	    eval '! cl_check_key '"$m"' <"$loot/h'"$m"'.blob" 2>/dev/null'
	check "h1's own OpenPGP key cannot decrypt h$m's blob" \
	    eval '! "$CL_PKTOOL" pgp-decrypt "$d1/pgp.sec" \
	    <"$loot/h'"$m"'.blob" >"$loot/out" 2>/dev/null && ! test -s "$loot/out"'
	other=$((m == 4 ? 2 : m + 1))
	check "another peer's boot key cannot decrypt h$m's blob" \
	    eval '! "$CL_PKTOOL" pgp-decrypt "$CL_DIR/h'"$other"'/pgp.sec" \
	    <"$loot/h'"$m"'.blob" >"$loot/out" 2>/dev/null && ! test -s "$loot/out"'
	# Control: only the owner's boot key opens it.
	check "only h$m's own boot key turns the blob into its key" \
	    eval '"$CL_PKTOOL" pgp-decrypt "$CL_DIR/h'"$m"'/pgp.sec" \
	    <"$loot/h'"$m"'.blob" | cl_check_key '"$m"
done
# The thief's stolen h1 node key cannot withdraw another peer's blob
# from h2 either: only h3's node key may.
n1 "$CL_PKTOOL" withdraw "$d1/node.key" "$(cl_addr 2):$CL_PORT" disk \
    >/dev/null 2>&1
check "a withdraw with h1's node key leaves h3's blob on h2" \
    test "$(cl_pk 2 -j status | jq '.peers[] | select(.name == "h3") | .blobs')" = 1
cl_done
