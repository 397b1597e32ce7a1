#!/bin/sh
# authz.sh: who may do what. A peer's node key touches only its own blobs
# (its DEPOSIT and WITHDRAW never change another peer's, even with the
# same blob id); a boot key, an unknown key and this node's own key may
# not deposit, withdraw, notice or heartbeat; a node key cannot unlock;
# withdrawing a blob that is not there is ERROR not-found; a DEPOSIT
# that is not a blob signed by the depositing node key is refused.
_title="a peer's node key touches only its own blobs; boot keys cannot deposit"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/node/lib.sh"

start_node a || fatal "cannot start node a"
A=$(node_addr a)
blob "$W/pb" "p's ciphertext"
blob "$W/qb" "q's ciphertext"
blob "$W/evil" "evil"
add_peer a p --timeout 120s
add_peer a q --timeout 120s
keygen "$W/stranger.key" >/dev/null

is "$(deposit a p disk1 "$W/pb")" "ack DEPOSIT" "p deposits its blob"
is "$(deposit a q disk1 "$W/qb")" "ack DEPOSIT" \
    "q deposits its blob (same id)"

# blob_of PEER: the blob its boot key gets back.
blob_of() {
	pktool unlock "$W/$1.boot" "$A" | sed -n 2p | cut -d' ' -f2 |
	    base64 -d
}
is "$(blob_of p)" "p's ciphertext" "p gets its own blob"
is "$(blob_of q)" "q's ciphertext" "q gets its own blob"

is "$(deposit a p disk1 "$W/evil")" "ack DEPOSIT" \
    "p replaces its disk1"
is "$(blob_of p)" "evil" "...which changes p's blob"
is "$(blob_of q)" "q's ciphertext" "...and never q's"
is "$(deposit a p disk2 "$W/evil")" "ack DEPOSIT" "p adds disk2"
is "$(peer_field a q blobs)" 1 "...q still holds one blob"

# A holder keeps only what the depositing node key signed (sblob.h).
like "$(pktool deposit-raw "$W/p.node" "$A" disk1 "$W/qb")" \
    "^error 3 not a signed blob" "an unsigned DEPOSIT: refused (unauthorized)"
pktool seal "$W/q.node" 0000000000000000000000000000000000000000000000000000000000000000 disk1 \
    <"$W/qb" >"$W/q-signed"
like "$(pktool deposit-raw "$W/p.node" "$A" disk1 "$W/q-signed")" \
    "^error 3 not signed by the depositing node key" \
    "p deposits a blob q signed: refused"
pktool seal "$W/p.node" 0000000000000000000000000000000000000000000000000000000000000000 disk9 \
    <"$W/qb" >"$W/p-disk9"
like "$(pktool deposit-raw "$W/p.node" "$A" disk1 "$W/p-disk9")" \
    "^error 3 signed under another blob id" \
    "p's signed disk9 deposited as disk1: refused"
is "$(blob_of p)" "evil" "...p's disk1 is unchanged by all that"
grep -q "deposit: peer p: blob disk1 from .* refused: not a signed blob" \
    "$(node_log a)" && pass "the refusal is logged" ||
    fail "the refusal is logged"
is "$(pktool withdraw "$W/p.node" "$A" disk1)" "ack WITHDRAW" \
    "p withdraws disk1"
is "$(blob_of q)" "q's ciphertext" "...q's disk1 is still there"
like "$(pktool withdraw "$W/p.node" "$A" disk1)" "^error 6 " \
    "withdraw of a blob p does not hold: ERROR not-found"
like "$(pktool withdraw "$W/p.node" "$A" disk1)" "^error 6 " \
    "withdraw of q's blob id with p's key, again: not-found"
is "$(peer_field a q blobs):$(blob_of q)" "1:q's ciphertext" \
    "...q still holds it"

# refused KEYFILE WHO: a key that is no peer's node key can do nothing.
refused() {
	like "$(pktool deposit "$1" "$A" disk1 "$W/evil")" "^error 3 " \
	    "$2: DEPOSIT refused (unauthorized)"
	like "$(pktool withdraw "$1" "$A" disk1)" "^error 3 " \
	    "$2: WITHDRAW refused (unauthorized)"
	like "$(pktool notice "$1" "$A" 60 x)" "^error 3 " \
	    "$2: NOTICE refused (unauthorized)"
	like "$(pktool heartbeat "$1" "$A")" "^error 3 " \
	    "$2: HEARTBEAT refused (unauthorized)"
}
refused "$W/q.boot" "q's boot key"
refused "$W/stranger.key" "an unknown key"
refused "$W/a/node.key" "this node's own key"
is "$(blob_of q)" "q's ciphertext" "q's blob is unchanged by all that"
is "$(blob_of p)" "evil" "p's blob is unchanged by all that"
like "$(grep 'from a key that is no peer' "$(node_log a)" | head -n 1)" \
    "key [0-9a-f]{16}\\.\\.\\.: DEPOSIT from a key that is no peer's node key" \
    "the refusals are logged with the key"
is "$(pktool unlock "$W/q.node" "$A")" "refused unknown boot key" \
    "a node key cannot unlock"

# The audit log: deposits and withdrawals under the right peer only.
is "$(count_events a q deposited)" 1 "q's deposit events: exactly one"
is "$(count_events a p withdrawn)" 1 "p's withdraw events: exactly one"
is "$(count_events a q withdrawn)" 0 "q has no withdraw events"

# At most PK_BLOBS_MAX (32) blobs per peer: one UNLOCK_REPLY carries no
# more, and more would be kept and never released.
i=1
dpids=
while [ $i -lt 32 ]; do
	i=$((i + 1))
	deposit a q "d$i" "$W/qb" >/dev/null &
	dpids="$dpids $!"
done
for dp in $dpids; do
	wait "$dp"
done
is "$(peer_field a q blobs)" 32 "q holds 32 blobs"
like "$(deposit a q d33 "$W/qb")" "^error 4 " \
    "a 33rd is refused: ERROR too-large"
is "$(peer_field a q blobs)" 32 "...and not stored"
is "$(deposit a q d2 "$W/qb")" "ack DEPOSIT" \
    "replacing one of the 32 is fine"
is "$(unlock a q)" "released 32" "q's unlock releases all 32"

ok 'stop_node a' "a stops cleanly"
finish
