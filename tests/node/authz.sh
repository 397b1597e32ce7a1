#!/bin/sh
# authz.sh: who may do what. A peer's node key touches only its own blobs
# (its DEPOSIT and WITHDRAW never change another peer's, even with the
# same blob id); a boot key, an unknown key and this node's own key may
# not deposit, withdraw, notice or heartbeat; a node key cannot unlock;
# withdrawing a blob that is not there is ERROR not-found.
_title="a peer's node key touches only its own blobs; boot keys cannot deposit"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/node/lib.sh"

start_node a || bail "cannot start node a"
A=$(node_addr a)
blob "$TEST_DIR/pb" "p's ciphertext"
blob "$TEST_DIR/qb" "q's ciphertext"
blob "$TEST_DIR/evil" "evil"
add_peer a p --timeout 120s
add_peer a q --timeout 120s
keygen "$TEST_DIR/stranger.key" >/dev/null

is "p deposits its blob" "$(deposit a p disk1 "$TEST_DIR/pb")" "ack DEPOSIT"
is "q deposits its blob (same id)" "$(deposit a q disk1 "$TEST_DIR/qb")" \
    "ack DEPOSIT"

# blob_of PEER: the blob its boot key gets back.
blob_of() {
	pktool unlock "$TEST_DIR/$1.boot" "$A" | sed -n 2p | cut -d' ' -f2 |
	    base64 -d
}
is "p gets its own blob" "$(blob_of p)" "p's ciphertext"
is "q gets its own blob" "$(blob_of q)" "q's ciphertext"

is "p replaces its disk1" "$(deposit a p disk1 "$TEST_DIR/evil")" \
    "ack DEPOSIT"
is "...which changes p's blob" "$(blob_of p)" "evil"
is "...and never q's" "$(blob_of q)" "q's ciphertext"
is "p adds disk2" "$(deposit a p disk2 "$TEST_DIR/evil")" "ack DEPOSIT"
is "...q still holds one blob" "$(peer_field a q blobs)" 1
is "p withdraws disk1" "$(pktool withdraw "$TEST_DIR/p.node" "$A" disk1)" \
    "ack WITHDRAW"
is "...q's disk1 is still there" "$(blob_of q)" "q's ciphertext"
like "withdraw of a blob p does not hold: ERROR not-found" \
    "$(pktool withdraw "$TEST_DIR/p.node" "$A" disk1)" "^error 6 "
like "withdraw of q's blob id with p's key, again: not-found" \
    "$(pktool withdraw "$TEST_DIR/p.node" "$A" disk1)" "^error 6 "
is "...q still holds it" "$(peer_field a q blobs):$(blob_of q)" \
    "1:q's ciphertext"

# refused KEYFILE WHO: a key that is no peer's node key can do nothing.
refused() {
	like "$2: DEPOSIT refused (unauthorized)" \
	    "$(pktool deposit "$1" "$A" disk1 "$TEST_DIR/evil")" "^error 3 "
	like "$2: WITHDRAW refused (unauthorized)" \
	    "$(pktool withdraw "$1" "$A" disk1)" "^error 3 "
	like "$2: NOTICE refused (unauthorized)" \
	    "$(pktool notice "$1" "$A" 60 x)" "^error 3 "
	like "$2: HEARTBEAT refused (unauthorized)" \
	    "$(pktool heartbeat "$1" "$A")" "^error 3 "
}
refused "$TEST_DIR/q.boot" "q's boot key"
refused "$TEST_DIR/stranger.key" "an unknown key"
refused "$TEST_DIR/a/node.key" "this node's own key"
is "q's blob is unchanged by all that" "$(blob_of q)" "q's ciphertext"
is "p's blob is unchanged by all that" "$(blob_of p)" "evil"
like "the refusals are logged with the key" \
    "$(grep 'from a key that is no peer' "$(node_log a)" | head -n 1)" \
    "key [0-9a-f]{16}\\.\\.\\.: DEPOSIT from a key that is no peer's node key"
is "a node key cannot unlock" \
    "$(pktool unlock "$TEST_DIR/q.node" "$A")" "refused unknown boot key"

# The audit log: deposits and withdrawals under the right peer only.
is "q's deposit events: exactly one" "$(count_events a q deposited)" 1
is "p's withdraw events: exactly one" "$(count_events a p withdrawn)" 1
is "q has no withdraw events" "$(count_events a q withdrawn)" 0

# At most PK_BLOBS_MAX (32) blobs per peer: one UNLOCK_REPLY carries no
# more, and more would be kept and never released.
i=1
while [ $i -lt 32 ]; do
	i=$((i + 1))
	deposit a q "d$i" "$TEST_DIR/qb" >/dev/null
done
is "q holds 32 blobs" "$(peer_field a q blobs)" 32
like "a 33rd is refused: ERROR too-large" \
    "$(deposit a q d33 "$TEST_DIR/qb")" "^error 4 "
is "...and not stored" "$(peer_field a q blobs)" 32
is "replacing one of the 32 is fine" "$(deposit a q d2 "$TEST_DIR/qb")" \
    "ack DEPOSIT"
is "q's unlock releases all 32" "$(unlock a q)" "released 32"

check "a stops cleanly" stop_node a
done_testing
