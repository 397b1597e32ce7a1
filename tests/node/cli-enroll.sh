#!/bin/sh
# cli-enroll.sh: peerkey enroll, rotate and unenroll against real LUKS2
# images and three real peerkeyd on loopback: deposit and release, a
# kill (exit 9, as by kill -9) at every step followed by a run that
# converges, and the failures that must change nothing.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/tests/node/lib-cli.sh"

plan 228

node_start a
node_start b
node_start c
link a b; link a c
link b a; link c a
printf 'correct horse' >"$W/pass"
printf 'wrong horse' >"$W/wrong"

# check_image IMG TEXT: one peerkey slot (and the maintenance key's), one
# token, one blob at b and c, and the key b and c release to a's boot key
# opens IMG.
check_image() {
	is "$(slots "$1")" "$(token_slots "$1")" \
	    "$2: keyslot 0 and the token's keyslots, nothing else"
	is "$(ntokens "$1")" 1 "$2: one peerkey token"
	is "$(peer_blobs b a):$(peer_blobs c a)" "1:1" "$2: b and c hold one blob"
	_b=$(blob_id "$1")
	fetch_key a b "$W/key.b" "$_b" && fetch_key a c "$W/key.c" "$_b" &&
	    opens "$W/key.b" "$1" && cmp -s "$W/key.b" "$W/key.c" &&
	    pass "$2: the key both release opens the image" || fail "$2: the key both release opens the image"
}

# holders IMG: the peers (of b c) that hold a blob for a, as "b c".
holders() {
	_h=""
	for _p in b c; do
		[ "$(peer_blobs $_p a)" -gt 0 ] && _h="$_h $_p"
	done
	echo "${_h# }"
}

# consistent IMG TEXT: what a run that had to recover leaves, whether or
# not every peer took the key: one token and its keyslot; the peers
# holding a blob are exactly the token's held-by, and each one's blob is
# named luks-UUID and opens IMG.
consistent() {
	is "$(ntokens "$1"):$(slots "$1")" "1:$(token_slots "$1")" \
	    "$2: one token, its keyslots and keyslot 0"
	is "$(holders "$1")" "$(cryptsetup luksDump --dump-json-metadata "$1" |
	    jq -r '.tokens[] | select(.type == "peerkey") | .["held-by"] |
	    sort | join(" ")')" "$2: the peers holding a blob are the token's held-by"
	_ok=0
	for _p in $(holders "$1"); do
		[ "$(peer_blobs $_p a)" = 1 ] &&
		    fetch_key a $_p "$W/key.$_p" "luks-$(cryptsetup luksUUID "$1") " &&
		    opens "$W/key.$_p" "$1" || _ok=1
	done
	ok '[ $_ok = 0 ]' \
	    "$2: every holder's one blob is luks-UUID and opens the image"
}

# --- enroll, again, unenroll -------------------------------------------------
luks_image "$W/img" 'correct horse'
pk a enroll "$W/img" --key-file "$W/pass" >"$W/out" 2>&1 &&
    pass "enroll with b and c" || fail "enroll with b and c"
grep -q 'held by: b c' "$W/out" && pass "enroll reports the holders" || fail "enroll reports the holders"
check_image "$W/img" "enroll"
is "$(blob_id "$W/img")" "luks-$(cryptsetup luksUUID "$W/img")" \
    "the blob is named after the disk: luks-UUID"
_ms=$(cryptsetup luksDump --dump-json-metadata "$W/img" | jq -r \
    '.tokens[] | select(.type == "peerkey") | ."maintenance-keyslot"')
is "$(slots "$W/img" | wc -w)" 3 \
    "three keyslots: the passphrase, the key, the maintenance key ($_ms)"
cryptsetup open --test-passphrase --key-slot "$_ms" --key-file \
    "$W/a/maint/$(cryptsetup luksUUID "$W/img").key" "$W/img" &&
    pass "the maintenance key file opens its keyslot" ||
    fail "the maintenance key file opens its keyslot"
grep -Eqx '[0-9a-f]{64}' "$W/key.b" && [ "$(wc -c <"$W/key.b")" = 64 ] &&
    pass "the key is text: 64 hex digits (no NUL for ask-password to cut)" ||
    fail "the key is text: 64 hex digits (no NUL for ask-password to cut)"
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
is "$(blob_id "$W/img")" "luks-$(cryptsetup luksUUID "$W/img")" \
    "rotate keeps the blob's name"

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
# rotate_crash STEP WHEN KEY WHOSE RUN WHAT LABEL: a rotate killed at
# STEP dies (9); $W/key.KEY, WHOSE key, still opens the image; then "pk a
# RUN" succeeds (check WHAT) and leaves a consistent image (LABEL).
rotate_crash() {
	PEERKEY_TEST_CRASH_AT=$1 pk a rotate "$W/img" --key-file "$W/pass" \
	    >"$W/out" 2>&1 && r=0 || r=$?
	is "$r" 9 "rotate crash $2: died"
	opens "$W/key.$3" "$W/img" &&
	    pass "rotate crash: the $4 key still opens" ||
	    fail "rotate crash: the $4 key still opens"
	pk a "$5" "$W/img" --key-file "$W/pass" >"$W/out" 2>&1 &&
	    pass "$6" || fail "$6"
	check_image "$W/img" "$7"
}
cp "$W/key.b" "$W/key.old"
rotate_crash enrolled "after deposit" old old enroll \
    "enroll after the rotate crash finishes it" "rotate finished"
opens "$W/key.old" "$W/img" && fail "the old key is killed" || pass "the old key is killed"
rotate_crash deposit mid-deposit b current rotate "rotate again converges" \
    "rotate again"

# A rotate killed at every step (the n-th peer's with "step:n"; undo-* in
# the retiring of the old key), then enroll: whatever the next run finds,
# it leaves a consistent journal and no peer a key that opens nothing;
# then a rotate puts the key with everyone.
for step in token slot depositing sending deposit sending:2 deposit:2 \
    enrolled undo-marked undo-killed; do
	PEERKEY_TEST_CRASH_AT=$step pk a rotate "$W/img" --key-file \
	    "$W/pass" >"$W/out" 2>&1 && r=0 || r=$?
	is "$r" 9 "rotate crash at $step: the run died"
	slots_journalled "$W/img" >/dev/null &&
	    pass "rotate crash at $step: every added keyslot is named by a token" ||
	    fail "rotate crash at $step: every added keyslot is named by a token"
	pk a enroll "$W/img" --key-file "$W/pass" >"$W/out" 2>&1 && r=0 || r=$?
	ok '[ "$r" = 0 ] || [ "$r" = 5 ]' \
	    "rotate crash at $step: enroll finishes or undoes it (exit $r)"
	consistent "$W/img" "rotate crash at $step"
	pk a rotate "$W/img" --key-file "$W/pass" >"$W/out" 2>&1 &&
	    pass "rotate crash at $step: rotate again" ||
	    fail "rotate crash at $step: rotate again"
	check_image "$W/img" "rotate crash at $step, rotated"
done

# A disk enrolled under the old naming (blob "UUID:SLOT", named so in
# its token): rotate moves it to luks-UUID and withdraws the old name.
uuid=$(cryptsetup luksUUID "$W/img")
tok=$(cryptsetup luksDump --dump-json-metadata "$W/img" |
    jq -r '.tokens | to_entries[] | select(.value.type == "peerkey") | .key')
slot=$(cryptsetup luksDump --dump-json-metadata "$W/img" |
    jq -r ".tokens[\"$tok\"].keyslot")
cryptsetup luksDump --dump-json-metadata "$W/img" |
    jq -c ".tokens[\"$tok\"] | .[\"blob-id\"] = \"$uuid:$slot\" | del(.signed)" >"$W/tok.json"
cryptsetup token import --token-id "$tok" --token-replace \
    --json-file "$W/tok.json" "$W/img"
for p in b c; do
	eval "_port=\$PORT_$p"
	pktool unlock "$W/a/boot/tls.key" "127.0.0.1:$_port" 2>/dev/null |
	    sed -n "s/^luks-$uuid \([^ ]*\).*/\1/p" | base64 -d >"$W/legacy.gpg"
	pk $p peer put-blob a "$uuid:$slot" "$W/legacy.gpg"
done
is "$(peer_blobs b a):$(peer_blobs c a):$(blob_id "$W/img")" "2:2:$uuid:$slot" \
    "old naming: the token names $uuid:$slot, b and c hold it"
pk a enroll "$W/img" --key-file "$W/pass" >"$W/out" 2>&1
grep -q "old naming; \"peerkey rotate" "$W/out" &&
    pass "enroll says the old name moves at the next rotate" ||
    fail "enroll says the old name moves at the next rotate"
grep -q "deposited unsigned, before blobs were signed: the boot agent ignores it; \"peerkey rotate" "$W/out" &&
    pass "enroll says the old unsigned blob is replaced by a rotate" ||
    fail "enroll says the old unsigned blob is replaced by a rotate"
pk a rotate "$W/img" --key-file "$W/pass" >"$W/out" 2>&1 &&
    pass "old naming: rotate" || fail "old naming: rotate"
check_image "$W/img" "old naming, rotated"
is "$(blob_id "$W/img")" "luks-$uuid" "old naming: rotated to luks-UUID"
is "$(cryptsetup luksDump --dump-json-metadata "$W/img" |
    jq -r '[.tokens[] | select(.type == "peerkey")][0].signed')" true \
    "old unsigned blob: the rotated token says its blob is signed"
for p in b c; do
	eval "_port=\$PORT_$p"
	pktool unlock "$W/a/boot/tls.key" "127.0.0.1:$_port" 2>/dev/null |
	    grep -q "^luks-$uuid [^ ]* signed $NODE_a$" &&
	    pass "old unsigned blob: $p now holds a signed one" ||
	    fail "old unsigned blob: $p now holds a signed one"
done

# --- failures that change nothing ------------------------------------------------
# enroll_fails CODE LABEL ARGS...: "pk a enroll ARGS" exits CODE.
enroll_fails() {
	_ef_code=$1
	_ef_label=$2
	shift 2
	pk a enroll "$@" >"$W/out" 2>&1 && r=0 || r=$?
	is "$r" "$_ef_code" "$_ef_label: exit $_ef_code"
}
# says LABEL TEXT: the last run's output has TEXT.
says() {
	grep -q "$2" "$W/out" && pass "$1: says so" || fail "$1: says so"
}
# unchanged LABEL: the image's LUKS2 header is as $W/before has it.
unchanged() {
	dump "$W/img" >"$W/after"
	cmp -s "$W/before" "$W/after" && pass "$1: header unchanged" ||
	    fail "$1: header unchanged"
}
pk a unenroll "$W/img" >/dev/null
luks_image "$W/img" 'correct horse'
dump "$W/img" >"$W/before"
enroll_fails 1 "wrong passphrase" "$W/img" --key-file "$W/wrong"
says "wrong passphrase" 'opens no keyslot; nothing changed'
unchanged "wrong passphrase"

enroll_fails 6 "missing device" "$W/nosuch.img" --key-file "$W/pass"
grep -q 'nosuch.img' "$W/out" && pass "missing device: names it" || fail "missing device: names it"
[ ! -e "$W/nosuch.img" ] && pass "missing device: not created" || fail "missing device: not created"

head -c 1M /dev/zero >"$W/plain"
enroll_fails 6 "not LUKS2" "$W/plain" --key-file "$W/pass"
says "not LUKS2" 'not a LUKS2 volume'

enroll_fails 4 "unknown peer" "$W/img" --peers b,nosuch --key-file "$W/pass"
unchanged "unknown peer"

node_stop b
node_stop c
enroll_fails 1 "no reachable peer" "$W/img" --key-file "$W/pass"
says "no reachable peer" 'no peer can take the key; nothing changed'
unchanged "no reachable peer"

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

# --- no maintenance key where a thief could read it ---------------------------
# a's maint/ on a plain ext4 (a loop device: no dm-crypt under it), as on a
# machine whose /etc is not encrypted: enroll works, and keeps no key there.
umount "$W/a/maint"
truncate -s 8M "$W/plain.img" && mkfs.ext4 -q "$W/plain.img" &&
    mount -o loop "$W/plain.img" "$W/a/maint" ||
    fatal "cannot mount an ext4 image on $W/a/maint"
at_exit "umount -l '$W/a/maint' 2>/dev/null"
luks_image "$W/img3" 'correct horse'
pk a enroll "$W/img3" --key-file "$W/pass" >"$W/out" 2>&1 &&
    pass "enroll with maint/ on an unencrypted filesystem" ||
    fail "enroll with maint/ on an unencrypted filesystem"
grep -q "no maintenance key: $W/a/maint is not on an encrypted filesystem" \
    "$W/out" && pass "...says there is no maintenance key, and why" ||
    fail "...says there is no maintenance key, and why"
is "$(slots "$W/img3" | wc -w)" 2 "...two keyslots: the passphrase and the key"
ok '[ -z "$(ls -A "$W/a/maint" | grep -v lost+found)" ]' \
    "...and no key file in maint/"

finish
