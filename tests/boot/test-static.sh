#!/bin/sh
# test-static.sh: peerkey-boot against real peerkeyd nodes on loopback,
# from the static peer list. First wins with peers down, disabled,
# unknown, silent and dropping SYNs; awaiting approval until an operator
# approves; a wrong pinned node key; a wrong boot key; blob selection;
# Mandos mode against peerkeyd; the clock at 1970; the passphrase opens a
# LUKS2 image; blobs not signed by this machine's node key ignored.
#
#	good    knows us, blob deposited          -> the passphrase
#	dis     knows us, disabled by hand        -> "refused: disabled"
#	unk     does not know our boot key        -> "refused: unknown"
#	appr    needs approval (delay 10m)        -> "awaiting approval"
. "$(dirname "$0")/lib-boot.sh"
need certtool gpg cryptsetup faketime python3 nft ip jq
need_root
[ -x "$PEERKEYD" ] && [ -x "$PEERKEY" ] || skip "peerkeyd or peerkey not built"

boot_keys "$W/k"
stop_gpg_agents "$W/k/gpg"
printf 'static-peer-pass' > "$W/pass"
seal "$W/k" "$W/pass" "$W/blob" luks-aaaa
printf 'second-disk-pass' > "$W/pass2"
seal "$W/k" "$W/pass2" "$W/blob2" luks-bbbb

# start_node NAME: a machine (lib-boot.sh) whose node key id is KEY_NAME.
start_node() {
	machine "$1" || return 1
	eval "KEY_$1=\$(pkm $1 -j init | jq -r .node_keyid)"
}
pk() {
	_n=$1
	shift
	pkm "$_n" "$@" > /dev/null
}

for n in good dis unk appr; do
	start_node $n
	rc=$?
	ok '[ $rc = 0 ]' "peerkeyd $n started"
done
pk good peer add me --boot-key "$BOOT_KEYID" &&
    pk good peer put-blob me luks-aaaa "$W/blob" &&
    pk good peer put-blob me luks-bbbb "$W/blob2"
rc=$?
ok '[ $rc = 0 ]' "good: our boot key added, two blobs deposited"
pk dis peer add me --boot-key "$BOOT_KEYID" &&
    pk dis peer put-blob me luks-aaaa "$W/blob" && pk dis disable me
rc=$?
ok '[ $rc = 0 ]' "dis: added, deposited, then disabled"
pk appr peer add me --boot-key "$BOOT_KEYID" --approval-delay 10m &&
    pk appr peer put-blob me luks-aaaa "$W/blob"
rc=$?
ok '[ $rc = 0 ]' "appr: added with an approval delay"

# peer_conf FILE NODE...: [peer] sections for nodes, pinned.
peers() {
	_f=$1
	shift
	for _n in "$@"; do
		eval "_p=\$PORT_$_n _k=\$KEY_$_n"
		printf '[peer %s]\naddress = 127.0.0.1:%s\nnode-key = %s\n' \
		    "$_n" "$_p" "$_k" >> "$_f"
	done
}

start_slow

# A. First wins among everything.
slow_conf "$W/a.conf" "$W/k" peer "node-key = $KEY_good"
peers "$W/a.conf" dis unk good
timed timeout 25 "$AGENT" -c "$W/a.conf" -b luks-aaaa > "$W/oa" 2> "$W/ea"
ok '[ $rc = 0 ] && cmp -s "$W/oa" "$W/pass"' \
    "first wins: down, SYN-dropping, silent, disabled, unknown and good peers"
ok '[ $rc != 124 ]' \
    "no slow peer delays the good one: done before their 30 s timeouts (${el} ms)"
ok 'grep -q "^peerkey-boot: asking 6 peers$" "$W/ea" &&
    grep -q "^peerkey-boot: good: passphrase received$" "$W/ea"' \
    "progress: asking 6 peers ... good: passphrase received"
[ $rc = 0 ] || diag "$W/ea"

# B. Refusals are named; the agent keeps asking until give-up.
boot_conf "$W/b.conf" "$W/k" "mdns = no" "prompt = no" "give-up = 3s" \
    "retry-min = 300ms"
peers "$W/b.conf" dis unk appr
"$AGENT" -c "$W/b.conf" > "$W/ob" 2> "$W/eb"
rc=$?
ok '[ $rc = 1 ] && [ ! -s "$W/ob" ]' "only refusals: nothing on stdout, exit 1"
ok 'grep -q "^peerkey-boot: dis: refused: disabled: disabled by an operator$" "$W/eb" &&
    grep -q "^peerkey-boot: unk: refused: unknown" "$W/eb" &&
    grep -q "^peerkey-boot: appr: awaiting approval" "$W/eb"' \
    "h: refused: disabled / refused: unknown / awaiting approval"
ok '[ "$(grep -c "appr: awaiting approval" "$W/eb")" = 1 ]' \
    "a repeated refusal is said once"

# C. Awaiting approval, then an operator approves: the agent gets it.
boot_conf "$W/c.conf" "$W/k" "mdns = no" "prompt = no" "give-up = 30s" \
    "retry-min = 300ms"
peers "$W/c.conf" appr
spawn -o "$W/oc" ec "$AGENT" -c "$W/c.conf"
apid=$!
wait_for "grep -q 'awaiting approval' '$W/ec.log'" 10
pk appr approve me
wait $apid
rc=$?
ok '[ $rc = 0 ] && cmp -s "$W/oc" "$W/pass"' \
    "awaiting approval, then approved by the operator: passphrase"
[ $rc = 0 ] || diag "$W/ec.log"

# D. A pinned peer showing another node key is not asked.
boot_conf "$W/d.conf" "$W/k" "mdns = no" "prompt = no" "give-up = 2s"
printf '[peer impostor]\naddress = 127.0.0.1:%s\nnode-key = %s\n' \
    "$PORT_good" "$KEY_dis" >> "$W/d.conf"
"$AGENT" -c "$W/d.conf" > "$W/od" 2> "$W/ed"
rc=$?
ok '[ $rc = 1 ] && [ ! -s "$W/od" ] &&
    grep -q "impostor: wrong server key $KEY_good (pinned $KEY_dis)" "$W/ed"' \
    "wrong pinned node key: handshake refused, nothing released"

# E. A wrong boot key: refused as unknown.
boot_keys "$W/k2"
stop_gpg_agents "$W/k2/gpg"
boot_conf "$W/e.conf" "$W/k2" "mdns = no" "prompt = no" "give-up = 2s"
peers "$W/e.conf" good
"$AGENT" -c "$W/e.conf" > "$W/oe" 2> "$W/ee"
rc=$?
ok '[ $rc = 1 ] && [ ! -s "$W/oe" ] && grep -q "good: refused: unknown" "$W/ee"' \
    "a wrong boot key: good: refused: unknown"

# F. Blob selection.
boot_conf "$W/f.conf" "$W/k" "mdns = no" "prompt = no" "give-up = 2s"
peers "$W/f.conf" good
"$AGENT" -c "$W/f.conf" -b luks-bbbb > "$W/of" 2>/dev/null
rc=$?
ok '[ $rc = 0 ] && cmp -s "$W/of" "$W/pass2"' "-b picks the named blob"
"$AGENT" -c "$W/f.conf" -b luks-cccc > "$W/of2" 2> "$W/ef2"
rc=$?
ok '[ $rc = 1 ] && grep -q "good: has no blob named luks-cccc" "$W/ef2"' \
    "-b with a blob the peer lacks: said, and not taken"

# G. Mandos protocol 1 against peerkeyd's Mandos mode.
boot_conf "$W/g.conf" "$W/k" "mdns = no" "prompt = no" "give-up = 5s"
printf '[mandos gm]\naddress = 127.0.0.1:%s\n' "$PORT_good" >> "$W/g.conf"
"$AGENT" -c "$W/g.conf" > "$W/og" 2> "$W/eg"
rc=$?
ok '[ $rc = 0 ] && { cmp -s "$W/og" "$W/pass" || cmp -s "$W/og" "$W/pass2"; }' \
    "Mandos mode against peerkeyd: a passphrase"
[ $rc = 0 ] || diag "$W/eg"

# H. The clock at 1970, and a real LUKS2 image.
FAKETIME_DONT_FAKE_MONOTONIC=1 faketime '1970-01-01 00:00:10' \
    "$AGENT" -c "$W/f.conf" -b luks-aaaa > "$W/oh" 2> "$W/eh"
rc=$?
ok '[ $rc = 0 ] && cmp -s "$W/oh" "$W/pass"' "clock at 1970 (faketime): works"
truncate -s 20M "$W/disk.img"
cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 \
    --pbkdf-force-iterations 1000 --key-file "$W/pass" "$W/disk.img"
"$AGENT" -c "$W/f.conf" -b luks-aaaa 2>/dev/null |
    cryptsetup open --test-passphrase --key-file=- "$W/disk.img"
rc=$?
ok '[ $rc = 0 ]' "the printed passphrase opens the LUKS2 image"
"$AGENT" -c "$W/f.conf" -b luks-bbbb 2>/dev/null |
    cryptsetup open --test-passphrase --key-file=- "$W/disk.img" 2>/dev/null
rc=$?
ok '[ $rc != 0 ]' "the other disk's passphrase does not"

# I. Only blobs signed by this machine's node key are decrypted (its
# node-public-key is in the boot configuration): a bare OpenPGP message
# and one signed by another node key, both encrypted to our boot key, are
# ignored with one line each; a Mandos server (static [mandos]) cannot
# sign and is taken unsigned; accept-unsigned = yes takes it from anyone.
seal "$W/k" "$W/pass" "$W/bare"
seal "$W/k" "$W/pass" "$W/other.pgp"
"$PKTOOL" seal "$W/k2/node.key" "$(cat "$W/k/keyid")" luks-wwww < "$W/other.pgp" \
    > "$W/other"
pk good peer put-blob me luks-uuuu "$W/bare" &&
    pk good peer put-blob me luks-wwww "$W/other" &&
    pk unk peer add me --boot-key "$(cat "$W/k/keyid")" &&
    pk unk peer put-blob me luks-aaaa "$W/bare"
rc=$?
ok '[ $rc = 0 ]' "good: an unsigned blob and one another node key signed"
# ignored CONF BLOB LINE TITLE: asked for BLOB, the agent takes nothing
# and says LINE (after "peerkey-boot: ").
ignored() {
	_line="peerkey-boot: $3"
	"$AGENT" -c "$1" -b "$2" > "$W/oi" 2> "$W/ei"
	_rc=$?
	ok '[ $_rc = 1 ] && [ ! -s "$W/oi" ] && grep -qxF "$_line" "$W/ei"' \
	    "$4"
}
# taken CONF TITLE [ARGS...]: the agent prints our passphrase.
taken() {
	_c=$1 _t=$2
	shift 2
	"$AGENT" -c "$_c" "$@" > "$W/oi" 2> "$W/ei"
	_rc=$?
	ok '[ $_rc = 0 ] && cmp -s "$W/oi" "$W/pass"' "$_t"
}
ignored "$W/f.conf" luks-uuuu "good: blob luks-uuuu is not signed by \
this machine's node key; ignored" \
    "an unsigned blob from a native peer: ignored, said in one line"
ignored "$W/f.conf" luks-wwww "good: blob luks-wwww is not signed by \
this machine's node key (signer key id $(cat "$W/k2/node.id")); ignored" \
    "a blob signed by another node key: ignored, its signer named"
boot_conf "$W/i.conf" "$W/k" "mdns = no" "prompt = no" "give-up = 2s"
printf '[mandos gu]\naddress = 127.0.0.1:%s\n' "$PORT_unk" >> "$W/i.conf"
taken "$W/i.conf" \
    "a [mandos] server's unsigned answer: taken (Mandos cannot sign)"
boot_conf "$W/i4.conf" "$W/k" "mdns = no" "prompt = no" "give-up = 2s" \
    "accept-unsigned = yes"
peers "$W/i4.conf" good
taken "$W/i4.conf" "accept-unsigned = yes: the unsigned blob is taken" \
    -b luks-uuuu
grep -v node-public-key "$W/f.conf" > "$W/i5.conf"
ignored "$W/i5.conf" luks-aaaa "good: blob luks-aaaa is signed, but the \
boot configuration has no node-public-key to check it against (peerkey \
boot-config writes it); ignored" \
    "no node-public-key: even a signed blob is not taken"

# Nothing left behind; no secret in the logs.
ok '! grep -rq "static-peer-pass\|second-disk-pass" "$W"/e* "$W"/*.log' \
    "no passphrase in any log or progress output"
ok '[ -z "$(ls -d "$W"/peerkey-boot.* 2>/dev/null)" ] &&
    ! pgrep -f "gpg-agent.*$W/peerkey-boot" >/dev/null' \
    "private directories removed, no gpg-agent left"

finish
