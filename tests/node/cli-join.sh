#!/bin/sh
# cli-join.sh: peerkey invite and join with real peerkeyd on loopback:
# the joiner learns the members and is introduced to them; a code works
# once and not after it expires; an introduction from a key a member does
# not guard is refused; a joined machine can enroll with everyone.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/tests/node/lib-cli.sh"

plan 18

node_start a
node_start b
node_start c
node_start d
# b is a member: it joined a (so a holds b's signed identity).
code=$(pk a invite --address "127.0.0.1:$PORT_a" 2>/dev/null)
pk b join "$code" >"$W/out" 2>&1 || { diag "$W/out"; fatal "b joins a"; }

# has_peer NODE NAME NODE-KEY: NODE guards NAME with that node key.
has_peer() {
	[ "$(pk "$1" -j status | jq -r ".peers[] | select(.name == \"$2\") |
	    .node_keyid")" = "$3" ]
}

code=$(pk a invite --address "127.0.0.1:$PORT_a" 2>/dev/null)
[ -n "$code" ] && pass "invite prints a code" || fail "invite prints a code"
pk c join "$code" >"$W/out" 2>&1 && pass "c joins with a's code" ||
    fail "c joins with a's code"
has_peer c a "$NODE_a" && pass "c guards a (the inviter)" ||
    fail "c guards a (the inviter)"
has_peer c b "$NODE_b" && pass "c guards b (a member)" ||
    fail "c guards b (a member)"
has_peer a c "$NODE_c" && pass "a guards c, pinned to c's node key" ||
    fail "a guards c"
is "$(pk a -j status | jq -r '.peers[] | select(.name == "c") |
    .boot_keyid')" "$BOOT_c" "a has c's boot key id"
wait_for 'has_peer b c "$NODE_c"' 20 && pass "a introduced c to b" ||
    fail "a introduced c to b"
sqlite3 "$W/a/state/peerkey.db" "SELECT boot_pgp FROM peers WHERE name = 'c'" |
    grep -q 'BEGIN PGP PUBLIC KEY BLOCK' &&
    pass "a stored c's boot OpenPGP key" || fail "a stored c's boot OpenPGP key"

pk d join "$code" >"$W/out" 2>&1 && r=0 || r=$?
is "$r" 1 "the same code again: refused"
grep -q 'used already' "$W/out" && pass "says it was used" ||
    fail "says it was used"
is "$(pk a -j status | jq '[.peers[] | select(.name == "d")] | length')" 0 \
    "a does not guard d"

code=$(pk a invite --expires 1s --address "127.0.0.1:$PORT_a" 2>/dev/null)
sleep 2
pk d join "$code" >"$W/out" 2>&1 && r=0 || r=$?
is "$r" 1 "an expired code: refused"
grep -q 'expired' "$W/out" && pass "says it expired" || fail "says it expired"

pk d join not-a-code >"$W/out" 2>&1 && r=0 || r=$?
is "$r" 2 "garbage: exit 2, not an invitation code"

# An INTRODUCE from a key b does not guard is refused.
"$PEERKEY" -d "$W/rogue" init >/dev/null
doc=$(printf '{"name":"evil","node_keyid":"%s","boot_keyid":"%s","addresses":"127.0.0.1:1"}' \
    "$(printf %064d 7)" "$(printf %064d 8)")
len=$(printf %08x ${#doc})
frame=$(printf %08x $((${#doc} + 6)))010c$len$(printf %s "$doc" | od -An -v -tx1 | tr -d ' \n')
pktool raw "$W/rogue/node.key" "127.0.0.1:$PORT_b" "$frame" >"$W/out" 2>&1 || true
grep -q '^error 3' "$W/out" && pass "b refuses an introduction from a stranger" ||
    fail "b refuses an introduction from a stranger"
is "$(pk b -j status | jq '[.peers[] | select(.name == "evil")] | length')" 0 \
    "b did not add the stranger's protege"

# The joined machine enrolls with every member.
luks_image "$W/img" pw
printf pw >"$W/pw"
pk c enroll "$W/img" --key-file "$W/pw" >"$W/out" 2>&1 &&
    pass "c enrolls" || fail "c enrolls"
grep -q 'held by: a b' "$W/out" && pass "a and b hold c's key" ||
    fail "a and b hold c's key"

finish
