#!/bin/sh
# cli-enroll.sh: peerkey enroll, rotate and unenroll against real LUKS2
# images and three real peerkeyd on loopback: deposit and release, a
# kill (exit 9, as by kill -9) at every step followed by a run that
# converges, and the failures that must change nothing.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/tests/node/lib-cli.sh"

plan 97

node_start a
node_start b
node_start c
link a b; link a c
link b a; link c a
printf 'correct horse' >"$W/pass"
printf 'wrong horse' >"$W/wrong"

# check_image IMG TEXT: one peerkey slot, one token, one blob at b and c, and
# the key b and c release to a's boot key opens IMG.
check_image() {
	is "$(slots "$1")" "0 $(cryptsetup luksDump --dump-json-metadata "$1" |
	    jq -r '.tokens[] | select(.type == "peerkey") | .keyslot')" \
	    "$2: keyslot 0 and the token's keyslot, nothing else"
	is "$(ntokens "$1")" 1 "$2: one peerkey token"
	is "$(peer_blobs b a):$(peer_blobs c a)" "1:1" "$2: b and c hold one blob"
	_b=$(blob_id "$1")
	fetch_key a b "$W/key.b" "$_b" && fetch_key a c "$W/key.c" "$_b" &&
	    opens "$W/key.b" "$1" && cmp -s "$W/key.b" "$W/key.c" &&
	    pass "$2: the key both release opens the image" || fail "$2: the key both release opens the image"
}

# --- enroll, again, unenroll -------------------------------------------------
luks_image "$W/img" 'correct horse'
pk a enroll "$W/img" --key-file "$W/pass" >"$W/out" 2>&1 &&
    pass "enroll with b and c" || fail "enroll with b and c"
grep -q 'held by: b c' "$W/out" && pass "enroll reports the holders" || fail "enroll reports the holders"
check_image "$W/img" "enroll"
is "$(cryptsetup luksDump --dump-json-metadata "$W/img" | jq -r \
    '.tokens[] | select(.type == "peerkey") | .state')" enrolled \
    "the token says enrolled"
dump "$W/img" >"$W/before"
pk a -j enroll "$W/img" --key-file "$W/wrong" >"$W/out" 2>&1 &&
    pass "enroll again: already enrolled, no passphrase needed" || fail "enroll again: already enrolled, no passphrase needed"
dump "$W/img" >"$W/after"
cmp -s "$W/before" "$W/after" && pass "enroll again changes nothing" || fail "enroll again changes nothing"
is "$(jq -r .result "$W/out")" "already enrolled" "enroll --json says so"

cp "$W/key.b" "$W/key.old"
pk a rotate "$W/img" --key-file "$W/pass" >"$W/out" 2>&1 &&
    pass "rotate" || fail "rotate"
check_image "$W/img" "rotate"
cmp -s "$W/key.b" "$W/key.old" && fail "rotate changed the key" || pass "rotate changed the key"

pk a unenroll "$W/img" >"$W/out" 2>&1 &&
    pass "unenroll" || fail "unenroll"
is "$(slots "$W/img"):$(ntokens "$W/img")" "0:0" "unenroll: slot and token gone"
is "$(peer_blobs b a):$(peer_blobs c a)" "0:0" "unenroll: blobs withdrawn"
opens "$W/pass" "$W/img" && pass "the passphrase still opens the image" || fail "the passphrase still opens the image"

# --- a crash at every step, then a run that converges --------------------------
for step in token slot depositing deposit enrolled; do
	luks_image "$W/img" 'correct horse'
	PEERKEY_TEST_CRASH_AT=$step pk a enroll "$W/img" --key-file \
	    "$W/pass" >"$W/out" 2>&1 && r=0 || r=$?
	is "$r" 9 "crash at $step: the run died"
	slots_journalled "$W/img" >/dev/null &&
	    pass "crash at $step: every added keyslot is named by a token" || fail "crash at $step: every added keyslot is named by a token"
	pk a enroll "$W/img" --key-file "$W/pass" >"$W/out" 2>&1 &&
	    pass "crash at $step: enroll again succeeds" || fail "crash at $step: enroll again succeeds"
	check_image "$W/img" "crash at $step"
	[ "$step" = enrolled ] || pk a unenroll "$W/img" >/dev/null
done

# rotate killed after the new key is deposited: the next run retires the
# old one; killed mid-deposit: the next rotate converges too.
cp "$W/key.b" "$W/key.old"
PEERKEY_TEST_CRASH_AT=enrolled pk a rotate "$W/img" --key-file "$W/pass" \
    >"$W/out" 2>&1 && r=0 || r=$?
is "$r" 9 "rotate crash after deposit: died"
opens "$W/key.old" "$W/img" && pass "rotate crash: the old key still opens" || fail "rotate crash: the old key still opens"
pk a enroll "$W/img" --key-file "$W/pass" >"$W/out" 2>&1 &&
    pass "enroll after the rotate crash finishes it" || fail "enroll after the rotate crash finishes it"
check_image "$W/img" "rotate finished"
opens "$W/key.old" "$W/img" && fail "the old key is killed" || pass "the old key is killed"
PEERKEY_TEST_CRASH_AT=deposit pk a rotate "$W/img" --key-file "$W/pass" \
    >"$W/out" 2>&1 && r=0 || r=$?
is "$r" 9 "rotate crash mid-deposit: died"
opens "$W/key.b" "$W/img" && pass "rotate crash: the current key still opens" || fail "rotate crash: the current key still opens"
pk a rotate "$W/img" --key-file "$W/pass" >"$W/out" 2>&1 &&
    pass "rotate again converges" || fail "rotate again converges"
check_image "$W/img" "rotate again"

# --- failures that change nothing ------------------------------------------------
pk a unenroll "$W/img" >/dev/null
luks_image "$W/img" 'correct horse'
dump "$W/img" >"$W/before"
pk a enroll "$W/img" --key-file "$W/wrong" >"$W/out" 2>&1 && r=0 || r=$?
is "$r" 1 "wrong passphrase: exit 1"
grep -q 'opens no keyslot; nothing changed' "$W/out" &&
    pass "wrong passphrase: says so" || fail "wrong passphrase: says so"
dump "$W/img" >"$W/after"
cmp -s "$W/before" "$W/after" && pass "wrong passphrase: header unchanged" || fail "wrong passphrase: header unchanged"

pk a enroll "$W/nosuch.img" --key-file "$W/pass" >"$W/out" 2>&1 && r=0 || r=$?
is "$r" 6 "missing device: exit 6"
grep -q 'nosuch.img' "$W/out" && pass "missing device: names it" || fail "missing device: names it"
[ ! -e "$W/nosuch.img" ] && pass "missing device: not created" || fail "missing device: not created"

head -c 1M /dev/zero >"$W/plain"
pk a enroll "$W/plain" --key-file "$W/pass" >"$W/out" 2>&1 && r=0 || r=$?
is "$r" 6 "not LUKS2: exit 6"
grep -q 'not a LUKS2 volume' "$W/out" && pass "not LUKS2: says so" || fail "not LUKS2: says so"

pk a enroll "$W/img" --peers b,nosuch --key-file "$W/pass" >"$W/out" 2>&1 \
    && r=0 || r=$?
is "$r" 4 "unknown peer: exit 4"
dump "$W/img" >"$W/after"
cmp -s "$W/before" "$W/after" && pass "unknown peer: header unchanged" || fail "unknown peer: header unchanged"

node_stop b
node_stop c
pk a enroll "$W/img" --key-file "$W/pass" >"$W/out" 2>&1 && r=0 || r=$?
is "$r" 1 "no reachable peer: exit 1"
grep -q 'no peer can take the key; nothing changed' "$W/out" &&
    pass "no reachable peer: says so" || fail "no reachable peer: says so"
dump "$W/img" >"$W/after"
cmp -s "$W/before" "$W/after" && pass "no reachable peer: header unchanged" || fail "no reachable peer: header unchanged"

# --- one peer down: partial, then rotate when it is back -----------------------
node_start b
pk a enroll "$W/img" --key-file "$W/pass" >"$W/out" 2>&1 && r=0 || r=$?
is "$r" 5 "c down: enroll exits 5 (partial)"
grep -q 'NOT held by: c' "$W/out" && pass "c down: names c" || fail "c down: names c"
is "$(peer_blobs b a)" 1 "c down: b holds the key"
node_start c
pk a enroll "$W/img" --key-file "$W/pass" >"$W/out" 2>&1 && r=0 || r=$?
is "$r" 5 "c back: enroll still partial, says rotate"
grep -q 'peerkey rotate' "$W/out" && pass "c back: suggests rotate" || fail "c back: suggests rotate"
pk a rotate "$W/img" --key-file "$W/pass" >"$W/out" 2>&1 &&
    pass "c back: rotate" || fail "c back: rotate"
check_image "$W/img" "after rotate with c back"

# --- --peers: only the chosen ------------------------------------------------------
luks_image "$W/img2" 'correct horse'
pk a -j enroll "$W/img2" --peers c --key-file "$W/pass" >"$W/out" 2>&1 &&
    pass "enroll --peers c" || fail "enroll --peers c"
is "$(jq -r '.held_by | join(",")' "$W/out")" c "--peers c: held by c only"
is "$(peer_blobs b a):$(peer_blobs c a)" "1:2" "--peers c: c holds a second blob"
grep -q "^\[peer b\]" "$W/a/boot.conf" && grep -q "^\[peer c\]" "$W/a/boot.conf" &&
    pass "boot.conf lists b and c" || fail "boot.conf lists b and c"

finish
