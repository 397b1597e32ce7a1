#!/bin/sh
# identity-replay.sh: a newer signed identity replaces an older one, and an
# older one re-sent loses. c changes its addresses with "peerkey update"
# (UPDATE, signed by c's node key, a fresh sequence number); then an
# attacker who holds member b's node key and b's database (so c's old,
# genuinely signed identity) re-sends the old document: by INTRODUCE
# (refused as stale), by UPDATE from b's key (refused: an UPDATE carries
# the sender's own identity), and c's own old document is refused even
# from c's own key. a keeps c's newest identity throughout, and says so
# in its log and events.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/tests/node/lib-cli.sh"

plan 14

node_start a
node_start b
node_start c
for n in b c; do
	code=$(pk a invite --address "127.0.0.1:$PORT_a" 2>/dev/null)
	pk "$n" join "$code" >"$W/out" 2>&1 || { diag "$W/out"; fatal "$n joins a"; }
done
# addrs_of NODE: the addresses NODE holds for c.
addrs_of() {
	pk "$1" -j status | jq -r '.peers[] | select(.name == "c") | .addresses'
}
wait_for 'test -n "$(addrs_of b)"' 20 && pass "a introduced c to b" ||
    fail "a introduced c to b"

# c's identity as b's database holds it: what the attacker takes.
old=$(sqlite3 "$W/b/state/peerkey.db" \
    "SELECT hex(identity) FROM peers WHERE name = 'c'" | xxd -r -p | base64 -w0)
[ -n "$old" ] && pass "b's database holds c's signed identity" ||
    fail "b's database holds c's signed identity"
jq -cn --arg s "$old" '{identity: $s}' >"$W/old.doc"
was=$(addrs_of a)

new="127.0.0.1:$PORT_c 127.0.0.2:$PORT_c"
pk c update --address "127.0.0.1:$PORT_c" --address "127.0.0.2:$PORT_c" \
    >"$W/out" 2>&1 && pass "c: peerkey update" ||
    { fail "c: peerkey update"; diag "$W/out"; }
like "$(cat "$W/out")" "2 of 2 peers took it" "...a and b took it"
is "$(addrs_of a)" "$new" "a holds c's new addresses"
is "$(addrs_of b)" "$new" "...and so does b"

like "$(pktool introduce "$W/b/node.key" "127.0.0.1:$PORT_a" "$W/old.doc" \
    2>/dev/null)" "^error.*stale" \
    "b's key re-introduces c's older identity to a: refused as stale"
like "$(pktool update "$W/b/node.key" "127.0.0.1:$PORT_a" "$W/old.doc" \
    2>/dev/null)" "^error 3.*own identity" \
    "b's key sends it as an UPDATE: refused (not its own)"
like "$(pktool update "$W/c/node.key" "127.0.0.1:$PORT_a" "$W/old.doc" \
    2>/dev/null)" "^error.*stale" \
    "even c's own key cannot bring back its older identity"
is "$(addrs_of a)" "$new" "a still holds c's newest identity"
ok 'test "$was" != "$new"' "...which is not the old one"
ok 'grep -q "identity: c from b refused: stale identity" "$W/a/peerkeyd.log"' \
    "a's log says whose stale identity it refused"
# events_of KIND: how many events of KIND about c a has recorded.
events_of() {
	pk a -j events | jq --arg k "$1" '[if type == "array" then .[]
	    else .events[] end | select(.kind == $k and .peer == "c")] | length'
}
ok 'wait_for "test \$(events_of identity-refused) -ge 2" 10' \
    "...and its audit log has the refusals"
is "$(events_of identity)" 1 "...and the one identity change"
finish
