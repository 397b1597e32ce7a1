#!/bin/bash
# 04-replay-mitm.sh: replay and man-in-the-middle (the Mandos FAQ). An
# attacker h9 on the same switch relays h2's boot-time unlock to h1 and
# records every byte both ways. It learns nothing from the recording,
# replaying the client's bytes gets nothing, and talking to h1 with its
# own key gets nothing either. The cluster is built with the operator's
# commands and h2 boots with its real peerkey-boot; the attacker's tools
# are pktool (relay, replay, a key of its own) and a peerkeyd of its own.
#
#	h1 --+                    h2 --(unlock)--> h9 relay --> h1
#	h2 --+-- switch -- h9     h9: the attacker (no peerkeyd)
#	h3 --+
. "$(dirname "$0")/lib.sh"
cl_init "${1:-}"
cl_cluster 3
cl_host 9
d2=$CL_DIR/h2
d9=$CL_DIR/h9
a1=$(cl_addr 1):$CL_PORT
a9=$(cl_addr 9):$CL_PORT

# released_count: h1's releases to h2 so far.
released_count() {
	cl_count 1 '.kind == "released" and .peer == "h2"'
}

# h2's boot configuration (from "peerkey boot-config") with only h1, whose
# address the attacker's network leads to ADDR: a relay or an impostor.
# h1's pinned node key is kept.
via() {
	CL_BOOT_PEERS=1 cl_boot_conf 2 | sed "s|^address = .*|address = $1|"
}

# A real unlock of h2 (its peerkey-boot), through the attacker's recording
# relay.
cl_down 2
cl_bg 9 relay "$CL_PKTOOL" relay "$a9" "$a1" "$d9/rec"
ok 'wait_for "grep -q listening $d9/relay.log" 10' \
    "the attacker's relay listens"
before=$(released_count)
via "$a9" >"$d2/relay.conf"
ok 'cl_agent 2 "$d2/relay.conf" -g 20s -P none >"$d2/pass" &&
    cl_check_key 2 <"$d2/pass"' \
    "h2's boot unlocks through the relay (it only forwards bytes)"
ok 'wait_for "grep -q relayed $d9/relay.log" 10' \
    "the relay saw the whole session"
ok 'test "$(released_count)" = $((before + 1))' "h1 released once, to h2"
# What h1 sent, as h1 holds it (the attacker cannot ask h1 for it).
sqlite3 "$CL_DIR/h1/state/peerkey.db" "SELECT hex(data) FROM blobs JOIN
    peers ON peers.id = blobs.peer_id WHERE name = 'h2'" |
    tr 'A-F' 'a-f' >"$d9/blob.hex"
cl_hex <"$d9/rec.s2c" >"$d9/s2c.hex"
cl_hex <"$d9/rec.c2s" >"$d9/c2s.hex"
ok 'test -s "$d9/blob.hex"' "h1 holds the blob it sent"
ok '! grep -q "$(head -c 64 "$d9/blob.hex")" "$d9/s2c.hex"' \
    "the recording does not hold the blob (TLS)"
ok 'test -s "$d2/pass" &&
    ! grep -q "$(cl_hex <"$d2/pass")" "$d9/s2c.hex" "$d9/c2s.hex"' \
    "the recording does not hold the passphrase"

# Replay what h2 sent, from the attacker's host.
before=$(released_count)
n9 "$CL_PKTOOL" replay "$a1" "$d9/rec.c2s" >"$d9/replay.out" \
    2>"$d9/replay.bytes"
ok 'grep -q "^received" "$d9/replay.out"' "h1 answers the replay and closes"
cl_hex <"$d9/replay.bytes" >"$d9/replay.hex"
ok '! grep -q "$(head -c 64 "$d9/blob.hex")" "$d9/replay.hex"' \
    "the replay's answer does not hold the blob"
ok '! cmp -s "$d9/replay.hex" "$d9/s2c.hex"' \
    "the replay's answer differs from the recorded one"
ok 'test "$(released_count)" = "$before"' "h1 released nothing to the replay"
wait_for 'cl_is 1 2 enabled' 20

# A man in the middle that speaks TLS itself must show its own key.
"$CL_PKTOOL" keygen "$d9/mitm.key" >"$d9/mitm.id"
ok '! n9 "$CL_PKTOOL" unlock "$d9/mitm.key" "$a1" >"$d9/mitm.out"' \
    "the attacker's own key gets no blob from h1"
ok 'grep -q "unknown boot key" "$d9/mitm.out"' "h1 says why: unknown boot key"
q='.kind == "refused" and (.detail | test("unknown boot key"))
    and (.address | test("192.0.2.9"))'
ok 'cl_has 1 "$q"' \
    "h1 recorded the refusal with the attacker's address"
ok 'test "$(released_count)" = "$before"' "h1 released nothing more"
# Toward h2 the attacker answers with its own key, and even serves h2's
# real blob (copied from a stolen peer). h2's boot agent pins h1's node
# key and takes nothing from it.
"$CL_PKTOOL" keygen "$d9/node.key" >"$d9/node.id"
cl_conf 9
cl_start 9
cl_peer_add 9 2
sqlite3 "$CL_DIR/h1/state/peerkey.db" "SELECT writefile('$d9/h2.blob',
    data) FROM blobs JOIN peers ON peers.id = blobs.peer_id
    WHERE name = 'h2'" >/dev/null
ok 'cl_pk 9 peer put-blob h2 disk "$d9/h2.blob"' \
    "the attacker serves h2's real blob (copied from a peer)"
via "$(cl_addr 9):$CL_PORT" >"$d2/mitm.conf"
ok '! cl_agent 2 "$d2/mitm.conf" -g 6s -P none </dev/null | grep -q .' \
    "h2's agent refuses the attacker's key (pinned node key)"
ok 'grep -q "^peerkey-boot: h1: wrong server key" "$d2/boot.log"' \
    "h2's agent says why: wrong server key"
ok 'test "$(cl_count 9 ".kind == \"released\"")" = 0' \
    "the attacker released nothing (no handshake with it)"
cl_done
