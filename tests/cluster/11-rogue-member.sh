#!/bin/bash
# 11-rogue-member.sh: an attacker holds one member's node key (h3's,
# taken from its running root), and uses it to INTRODUCE machines of his
# own to the nodes that guard h3 (finding 3 of doc/trust.md's threat
# table). Each introduction would be a peer the holder keeps blobs for
# and, once it holds one, dials every interval at addresses of the
# attacker's choosing.
# They are bounded: h2 takes at most max-introductions (here 3) from one
# introducer and refuses the rest; h1 runs with introduced-pending, so
# what h3 introduces waits, unguarded and holding nothing, until an
# operator accepts it ("peerkey accept"). The cluster is built with the
# operator's commands; the attacker's tool is pktool with h3's node key.
#
#	h1 --+                  h1: introduced-pending = yes
#	h2 --+-- switch         h2: max-introductions = 3
#	h3 --+                  h3's node key: the attacker's
CL_INTERVAL=1s CL_TIMEOUT=30s CL_EXTENDED=10s
. "$(dirname "$0")/lib.sh"
cl_init "${1:-}"
cl_switch
for n in 1 2 3; do
	cl_host "$n"
	cl_init_keys "$n" || fatal "h$n: peerkey init"
done
cl_conf 1 "[membership]" "introduced-pending = yes"
cl_conf 2 "[membership]" "max-introductions = 3"
for n in 1 2 3; do
	cl_start "$n"
done
# h1 invites h2, then h3 (whom it introduces to h2).
for n in 2 3; do
	cl_join "$n" 1 || fatal "h$n: peerkey join"
done
ok 'wait_for "cl_guards 2 3" 20' "h2 guards h3, introduced by h1"
ok 'cl_is 2 3 unguarded' \
    "...unguarded: h2 holds nothing of h3, so does not heartbeat it"
d3=$CL_DIR/h3

# rogue_doc N: the identity of a machine of the attacker's own, signed
# by its node key (rogueN.key, made here), as a document must be.
rogue_doc() {
	n3 "$CL_PKTOOL" keygen "$CL_DIR/rogue$1.key" >/dev/null
	jq -cn --arg s "$(n3 "$CL_PKTOOL" ident-forge "$CL_DIR/rogue$1.key" - \
	    "rogue$1" "$(head -c 32 /dev/urandom | cl_hex)" \
	    "192.0.2.99:4141" 1)" '{identity: $s}' >"$CL_DIR/rogue$1.doc"
	echo "$CL_DIR/rogue$1.doc"
}
# introduce N DOC: h3's node key INTRODUCEs DOC to host N.
introduce() {
	n3 "$CL_PKTOOL" introduce "$d3/node.key" "$(cl_addr "$1"):$CL_PORT" \
	    "$2" 2>/dev/null
}
# state_is N NAME STATE: node N sees peer NAME (not an hN) in STATE.
state_is() {
	test "$(cl_pk "$1" -j status | jq -r --arg p "$2" \
	    '.peers[] | select(.name == $p) | .state')" = "$3"
}
acked=0
for i in $(seq 1 8); do
	introduce 2 "$(rogue_doc "$i")" | grep -q '^ack' && acked=$((acked + 1))
done
is "$acked" 3 "h2 took 3 of 8 introductions from h3, its quota"
ok 'test "$(pk2 -j status | jq "[.peers[] | select(.name |
    startswith(\"rogue\"))] | length")" = 3' "...and guards exactly 3"
like "$(introduce 2 "$(rogue_doc 9)")" "quota" \
    "a ninth is refused, and the error says why"
ok 'grep -q "introduction.*quota" "$CL_DIR/h2/peerkeyd.log"' \
    "...with a log line on h2"

# h1 holds every introduction back.
for i in 21 22; do
	like "$(introduce 1 "$(rogue_doc "$i")")" "^ack" \
	    "h1 takes rogue$i's introduction..."
	ok 'state_is 1 "rogue$i" pending' "...as pending, not enabled"
done
# Three intervals: any guarded peer would have been dialled by now.
sleep 3
ok '! grep -q "192.0.2.99" "$CL_DIR/h1/peerkeyd.log"' \
    "h1 never dials a pending peer's address"
echo "stand-in" >"$CL_DIR/blob"
keyfile=$CL_DIR/rogue23.key
like "$(introduce 1 "$(rogue_doc 23)")" "^ack" \
    "h1 takes rogue23, whose node key the attacker holds"
like "$(n3 "$CL_PKTOOL" deposit "$keyfile" "$(cl_addr 1):$CL_PORT" disk \
    "$CL_DIR/blob" 2>/dev/null)" "^error 3 .*pending" \
    "a pending peer's node key cannot deposit"
is "$(pk1 -j status | jq '.peers[] | select(.name == "rogue23") | .blobs')" \
    0 "...h1 holds nothing for it"
like "$(pk1 status)" "rogue21 +pending" "peerkey status shows it pending"
ok 'pk1 accept rogue23 >/dev/null' "the operator accepts rogue23"
ok 'state_is 1 rogue23 unguarded' \
    "...which is no longer pending: unguarded (h1 holds nothing of it)"
like "$(n3 "$CL_PKTOOL" deposit "$keyfile" "$(cl_addr 1):$CL_PORT" disk \
    "$CL_DIR/blob" 2>/dev/null)" "^ack" "...and may deposit"
ok 'state_is 1 rogue23 enabled' "...which makes it guarded, and enabled"
q='.kind == "accepted" and .peer == "rogue23"'
ok 'cl_has 1 "$q"' "h1 recorded who accepted it"
ok 'state_is 1 rogue21 pending' "rogue21 is still pending"
cl_done
