#!/bin/bash
# 12-identity-hijack.sh: a member binds a victim's node key to its own
# boot key (finding 1 of issue 15). The attacker holds member h3's node
# key (taken from its running root); before h4 joins, it INTRODUCEs to
# h2 a peer "h4" whose node key id is h4's (public: every handshake
# shows it) and whose boot key is one the attacker made. Unsigned, that identity made
# h2 refuse h4's real introduction ("a peer with that key exists"), file
# h4's DEPOSITs under the attacker's entry, release h4's blob to h3's
# boot key, and answer h4's own boot key "unknown". With signed
# identities (doc/protocol.md, "Signed identity") h2 takes only a
# document that h4's node key signed: the forgery is refused, whatever
# key it names or signs with, h4's own introduction binds h4's boot
# key, and only that boot key gets h4's blob.
#
#	h1 --+                  h1: the inviter
#	h2 --+-- switch         h2: the holder under attack
#	h3 --+                  h3's node key: the attacker's
#	h4 --+                  h4: the victim, joining through h1
CL_INTERVAL=1s CL_TIMEOUT=30s CL_EXTENDED=10s
. "$(dirname "$0")/lib.sh"
cl_init "${1:-}"
cl_switch
for n in 1 2 3 4; do
	cl_host "$n"
	cl_init_keys "$n" || fatal "h$n: peerkey init"
done
cl_disk 4 || fatal "h4: disk"
for n in 1 2 3 4; do
	cl_start "$n"
done
for n in 2 3; do
	cl_join "$n" 1 || fatal "h$n: peerkey join"
done
ok 'wait_for "cl_guards 2 3" 20' "h2 guards h3, introduced by h1"
d3=$CL_DIR/h3 d4=$CL_DIR/h4
v_node=$(cat "$d4/node.id")
m_boot=$(n3 "$CL_PKTOOL" keygen "$CL_DIR/rogue-boot.key")

# The attacker's identity for "h4": h4's node key, the attacker's boot
# key, h3's address. Unsigned (what finding 1 sent), then as a signed document
# that names h4's node key but is signed by h3's, then as one that
# h3's node key signs for itself under h4's name: all three refused.
jq -cn --arg k "$v_node" --arg b "$m_boot" --arg a "$(cl_addr 3):$CL_PORT" \
    '{name: "h4", node_keyid: $k, boot_keyid: $b, addresses: $a,
    boot_pgp: ""}' >"$CL_DIR/forged.doc"
introduce() {
	n3 "$CL_PKTOOL" introduce "$d3/node.key" "$(cl_addr 2):$CL_PORT" \
	    "$1" 2>/dev/null
}
like "$(introduce "$CL_DIR/forged.doc")" "^error" \
    "h2 refuses an unsigned identity binding h4's node key to the attacker's boot key"
# (h4's public key is in every handshake with h4; the test takes it
# from h4's key file.)
if n3 "$CL_PKTOOL" ident-forge "$d3/node.key" "$d4/node.key" h4 "$m_boot" \
    "$(cl_addr 3):$CL_PORT" 7 >"$CL_DIR/forged.sig" 2>/dev/null; then
	jq -c --arg s "$(cat "$CL_DIR/forged.sig")" '.identity = $s' \
	    "$CL_DIR/forged.doc" >"$CL_DIR/forged2.doc"
	like "$(introduce "$CL_DIR/forged2.doc")" "^error.*signature" \
	    "...and one naming h4's node key but signed by h3's"
	n3 "$CL_PKTOOL" ident-forge "$d3/node.key" - h4 "$m_boot" \
	    "$(cl_addr 3):$CL_PORT" 7 >"$CL_DIR/forged.sig" 2>/dev/null
	jq -c --arg s "$(cat "$CL_DIR/forged.sig")" '.identity = $s' \
	    "$CL_DIR/forged.doc" >"$CL_DIR/forged3.doc"
	like "$(introduce "$CL_DIR/forged3.doc")" "^error" \
	    "...and h3's own signed identity under the name h4 and a node key id that is h4's"
else
	fail "pktool ident-forge: no signed identities in this build"
fi
ok '! cl_guards 2 4' "h2 has no peer h4 yet"
# A machine of the attacker's own, genuinely signed, named h4 first: it
# takes the name, not h4's place.
n3 "$CL_PKTOOL" keygen "$CL_DIR/squat.key" >/dev/null
n3 "$CL_PKTOOL" ident-forge "$CL_DIR/squat.key" - h4 \
    "$(n3 "$CL_PKTOOL" keygen "$CL_DIR/squat-boot.key")" \
    "192.0.2.99:$CL_PORT" 1 >"$CL_DIR/squat.sig" 2>/dev/null
jq -cn --arg s "$(cat "$CL_DIR/squat.sig")" '{identity: $s}' \
    >"$CL_DIR/squat.doc"
like "$(introduce "$CL_DIR/squat.doc")" "^ack" \
    "h2 takes a new machine of the attacker's, signed by its own key, named h4"

# h4 joins through h1, which introduces it to h2 and h3.
cl_join 4 1 || fail "h4: peerkey join"
# peer_of N FIELD: node N's peer with h4's node key, its FIELD.
peer_of() {
	cl_pk "$1" -j status | jq -r --arg k "$v_node" --arg f "$2" \
	    '.peers[] | select(.node_keyid == $k) | .[$f]'
}
ok 'wait_for "test -n \"\$(peer_of 2 name)\"" 20' \
    "h2 guards h4's node key after h1 introduced it"
is "$(peer_of 2 boot_keyid)" "$(cat "$d4/boot.id")" \
    "...bound to h4's own boot key, not the attacker's"
like "$(peer_of 2 name)" "^h4-${v_node:0:8}\$" \
    "...under h4-KEYID8, since the squatter took the name h4"
ok '! grep -q "could not introduce to h2" "$CL_DIR/h1/peerkeyd.log"' \
    "h1's introduction of h4 was not refused by h2"
cl_enroll_luks 4 || fail "h4: peerkey enroll"
is "$(peer_of 2 blobs)" 1 "h2 holds h4's deposit under h4's own entry"
like "$(n3 "$CL_PKTOOL" unlock "$CL_DIR/rogue-boot.key" \
    "$(cl_addr 2):$CL_PORT" 2>/dev/null)" "^refused" \
    "the attacker's boot key gets nothing of h4's from h2"
ok 'CL_BOOT_PEERS=2 cl_unlocks 4' "h4 boots: h2 releases h4's passphrase to h4's boot key"
cl_done
