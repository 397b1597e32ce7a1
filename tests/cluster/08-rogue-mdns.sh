#!/bin/bash
# 08-rogue-mdns.sh: a rogue host h9 announces _peerkey._tcp by mDNS with a
# key no one enrolled, and even serves h4 a well-formed blob (a wrong
# passphrase encrypted to h4's public OpenPGP key). h4 boots finding its
# peers by mDNS only: the rogue is ignored (the real agent pins its peers'
# node keys) and the disk opens through the real peers. With mdns-trust =
# any the rogue's key is taken, but its blob is not signed by h4's node
# key, and the agent ignores it (doc/trust.md, "a position on the LAN"). The cluster is
# built with the operator's commands and h4 boots with its real
# peerkey-boot; the rogue's tools are a peerkeyd of its own and pktool.
#
#	h1, h2, h3 --+-- switch -- h9 (rogue peerkeyd + avahi, unknown key)
#	h4 boots ----+
. "$(dirname "$0")/lib.sh"
cl_init "${1:-}"
cl_cluster 4
d4=$CL_DIR/h4
d9=$CL_DIR/h9
cl_host 9
"$CL_PKTOOL" keygen "$d9/node.key" >"$d9/node.id"
cl_conf 9
cl_start 9
# The rogue knows h4's public keys and serves it a bogus passphrase.
cp "$d4/boot.id" "$d4/boot/pgp.pub" "$d9/"
echo "not the passphrase" | "$CL_PKTOOL" pgp-encrypt "$d9/pgp.pub" >"$d9/bogus"
pk9() { cl_pk 9 "$@"; }
pk9 peer add h4 --boot-key "$(cat "$d9/boot.id")" --timeout 1h >/dev/null
ok 'pk9 peer put-blob h4 disk "$d9/bogus"' "the rogue holds a blob for h4"
# ...and one it signed, with its own node key, for h4's boot key.
"$CL_PKTOOL" seal "$d9/node.key" "$(cat "$d9/boot.id")" disk2 \
    <"$d9/bogus" >"$d9/bogus.signed"
ok 'pk9 peer put-blob h4 disk2 "$d9/bogus.signed"' \
    "the rogue holds a blob it signed for h4"
cl_start_avahi 4
seen() {
	n4 avahi-browse -rpt _peerkey._tcp 2>/dev/null | grep -q "on.032h9"
}
ok 'wait_for "seen" 30' "the rogue is announced on the link"
cl_down 4

# h4's boot configuration (from "peerkey boot-config") pins the real
# peers' node keys; their static addresses lead nowhere (one dead address
# each), so only mDNS can find them.
CL_BOOT_MDNS=yes CL_BOOT_EXTRA="mdns-trust = pinned" cl_boot_conf 4 |
    awk '/^address = / { $0 = "address = 192.0.2.20" ++i ":4141" } 1' \
    >"$d4/rogue.conf"

# First the rogue alone: h4 is cut off from the real peers at the switch.
cl_cut 4 1
cl_cut 4 2
cl_cut 4 3
ok '! cl_agent 4 "$d4/rogue.conf" -g 10s -P none >"$d4/out" &&
    ! test -s "$d4/out"' \
    "with only the rogue reachable, h4's boot gets nothing"
# Pinned: the rogue's announcement names its own key, no configured
# peer's, so it is dropped before it takes a slot; it is never asked.
ok 'grep -q "mdns:peerkey_on_h9: ignored: announces $(cat \
    "$d9/node.id"), no configured peer.s key (mdns-trust = pinned)" \
    "$d4/boot.log"' \
    "h4's agent saw the rogue's announcement and dropped it (not a pinned key)"
ok '! grep -q "mdns:peerkey_on_h9: found by mDNS" "$d4/boot.log"' \
    "...before it took a slot: the rogue was never asked"

# mdns-trust = any takes any server's key: the rogue's TLS handshake
# passes, and its blob is encrypted to h4's public boot key, so it
# decrypts. What stops it is the signature: h4's blobs are signed by h4's
# node key (its public key is in boot.conf, from "peerkey boot-config"),
# and the rogue can sign only with a key of its own. The agent is not told
# the disk (no -d), so nothing but the signature stands in the way.
CL_BOOT_MDNS=yes CL_BOOT_EXTRA="mdns-trust = any" cl_boot_conf 4 |
    awk '/^address = / { $0 = "address = 192.0.2.20" ++i ":4141" } 1' \
    >"$d4/any.conf"
: >"$d4/boot.log"
ok '! cl_agent 4 "$d4/any.conf" -g 10s -P none >"$d4/out" &&
    ! test -s "$d4/out"' \
    "mdns-trust = any, the rogue alone: h4 takes nothing from it"
ok '! grep -q "not the passphrase" "$d4/out"' \
    "the rogue's passphrase never reached stdout"
ok 'grep -q "^peerkey-boot: mdns:peerkey_on_h9: blob disk is not signed \
by this machine.s node key; ignored" "$d4/boot.log"' \
    "h4's agent said the rogue's blob is not signed by it"
ok 'grep -q "^peerkey-boot: mdns:peerkey_on_h9: blob disk2 is not signed \
by this machine.s node key (signer key id $(cat "$d9/node.id")); ignored" \
    "$d4/boot.log"' "...nor the one the rogue signed (its signer named)"
r9=$(cl_count 9 '.kind == "released" and .peer == "h4"')
cl_heal
: >"$d4/boot.log"

# Then with the real peers back on the link.
ok 'cl_agent 4 "$d4/rogue.conf" -g 60s -P none | cl_check_key 4' \
    "h4 boots by mDNS with the rogue present: the disk opens"
ok 'grep -q "^peerkey-boot: mdns:peerkey_on_h[123]: passphrase received" \
    "$d4/boot.log"' "h4's agent found a real peer by mDNS"
ok 'test "$(cl_count 9 ".kind == \"released\" and .peer == \"h4\"")" = "$r9"' \
    "with mdns-trust = pinned the rogue released nothing to h4"
released=0
for n in 1 2 3; do
	released=$((released + $(cl_count "$n" \
	    '.kind == "released" and .peer == "h4"')))
done
ok 'test "$released" -ge 1' "a real peer recorded the release to h4"
cl_stop 9
cl_done
