#!/bin/sh
# cli-hostile.sh: the peerkey command against what it reads from outside:
# an inviter that answers "peerkey join" with a JOIN_REPLY missing
# fields or signed identities, or with a member's identity that its node
# key did not sign (pktool serve plays it, with the key the code pins;
# pktool ident-forge signs), and a LUKS2
# header whose peerkey token was tampered with. Each case crashed or
# stopped half way before issue 16: now a clear error, and nothing lost
# or left half done.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/tests/node/lib-cli.sh"

plan 14

node_start c
EVIL=$(pktool keygen "$W/evil.key")
K1=1111111111111111111111111111111111111111111111111111111111111111
K2=2222222222222222222222222222222222222222222222222222222222222222
K3=3333333333333333333333333333333333333333333333333333333333333333

# evil_join DOC: c joins with a code pinning the hostile inviter, which
# answers with the JOIN_REPLY document DOC; the command's output in
# $W/out, its exit status in $rc.
evil_join() {
	printf '%s' "$1" >"$W/reply.json"
	: >"$W/serve.out"
	spawn -o "$W/serve.out" serve "$PKTOOL" serve "$W/evil.key" \
	    127.0.0.1:0 join-reply "$W/reply.json"
	_spid=$!
	wait_for 'grep -q "^listening" "$W/serve.out"' 20 ||
	    fatal "pktool serve did not start"
	_port=$(sed -n 's/^listening //p' "$W/serve.out")
	_code=$(python3 -c 'import base64, json, os, sys
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
c = {"v": 1, "a": "127.0.0.1:" + sys.argv[1], "k": sys.argv[2],
     "s": b64(os.urandom(32)), "e": 4102444800}
print(b64(json.dumps(c).encode()))' "$_port" "$EVIL")
	rc=0
	pk c join "$_code" >"$W/out" 2>&1 || rc=$?
	wait "$_spid" 2>/dev/null || :
}

npeers() {
	pk c -j status | jq '.peers | length'
}

# --- the inviter's identity without a signed document ------------------------
# (the minimal input of issue 16, whose strcasecmp(NULL, ...) crashed:
# now an inviter must show a signed identity)
evil_join '{"self":{"name":"inv"},"members":[]}'
is "$rc" 1 "an inviter without a signed identity: join fails (no crash)"
grep -q 'bad reply from the inviter.*identity.*nothing was added' \
    "$W/out" && pass "...saying why and that nothing was added" ||
    { fail "...saying why and that nothing was added"; diag "$W/out"; }
is "$(npeers)" 0 "...and c guards no one"

# --- a member whose identity its node key did not sign, one without
# addresses (json_pack of a missing "addresses" failed before issue 16:
# "out of memory" half way, peers already added, boot.conf not refreshed)
rm -f "$W/c/boot.conf"
pktool keygen "$W/m1.key" >/dev/null
pktool keygen "$W/victim.key" >/dev/null
inv=$(pktool ident-forge "$W/evil.key" - inv "$K1" 127.0.0.1:9 1)
m1=$(pktool ident-forge "$W/m1.key" - m1 "$K2" "" 1)
m2=$(pktool ident-forge "$W/evil.key" "$W/victim.key" m2 "$K3" 127.0.0.1:9 1)
evil_join "{\"self\":{\"identity\":\"$inv\"},\"members\":[
 {\"identity\":\"$m1\"},
 {\"name\":\"m2\",\"identity\":\"$m2\"}]}"
is "$rc" 5 "a reply with a bad member: join exits 5 (partial)"
grep -q 'member 1 (m2).*signature.*not added' "$W/out" &&
    pass "...naming the member left out and why" ||
    { fail "...naming the member left out and why"; diag "$W/out"; }
is "$(pk c -j status | jq -r '[.peers[].name] | sort | join(" ")')" "inv m1" \
    "...the inviter and the member without addresses are added"
ok '[ -s "$W/c/boot.conf" ]' "...and boot.conf is refreshed"
unlike "$(cat "$W/out")" "out of memory" "...with no \"out of memory\""
pk c remove --yes inv >/dev/null 2>&1 || :
pk c remove --yes m1 >/dev/null 2>&1 || :

# --- a LUKS2 token with a "held-by" entry that is not a string --------------
# (names_has() did strcmp(json_string_value(7), ...))
node_start b
link c b; link b c
printf 'correct horse' >"$W/pass"
luks_image "$W/disk.img" 'correct horse'
pk c enroll "$W/disk.img" --key-file "$W/pass" >"$W/out" 2>&1 &&
    pass "c enrolls a disk with b" || { fail "c enrolls a disk with b"; diag "$W/out"; }
tok=$(cryptsetup token export --token-id 0 "$W/disk.img")
printf '%s' "$tok" | jq -c '.["held-by"] += [7]' >"$W/tok.json"
cryptsetup token remove --token-id 0 "$W/disk.img"
cryptsetup token import --token-id 0 --json-file "$W/tok.json" "$W/disk.img"
before=$(cryptsetup luksDump --dump-json-metadata "$W/disk.img" | jq -S -c .)
for cmd in enroll rotate unenroll; do
	rc=0
	if [ "$cmd" = unenroll ]; then
		pk c unenroll "$W/disk.img" >"$W/out" 2>&1 || rc=$?
	else
		pk c "$cmd" "$W/disk.img" --key-file "$W/pass" >"$W/out" \
		    2>&1 || rc=$?
	fi
	like "$rc:$(cat "$W/out")" '^6:.*token 0 .*damaged.*held-by.*nothing was changed' \
	    "$cmd on a token with a non-string held-by: refused, named (no crash)"
done
is "$(cryptsetup luksDump --dump-json-metadata "$W/disk.img" | jq -S -c .)" \
    "$before" "...and the header is as it was"
is "$(peer_blobs b c)" 1 "...and b still holds the disk's blob"
finish
