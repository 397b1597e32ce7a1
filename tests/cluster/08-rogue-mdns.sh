#!/bin/bash
# 08-rogue-mdns.sh: a rogue host h9 announces _peerkey._tcp by mDNS with a
# key no one enrolled, and even serves h4 a well-formed blob (a wrong
# passphrase encrypted to h4's public OpenPGP key). h4 boots finding its
# peers by mDNS only: the rogue is ignored (the real agent pins its peers'
# node keys) and the disk opens through the real peers.
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
cp "$d4/boot.id" "$d4/pgp.pub" "$d9/"
echo "not the passphrase" | "$CL_PKTOOL" pgp-encrypt "$d9/pgp.pub" >"$d9/bogus"
pk9() { cl_pk 9 "$@"; }
pk9 peer add h4 --boot-key "$(cat "$d9/boot.id")" --timeout 1h >/dev/null
check "the rogue holds a blob for h4" pk9 peer put-blob h4 disk "$d9/bogus"
cl_start_avahi 4
seen() {
	n4 avahi-browse -rpt _peerkey._tcp 2>/dev/null | grep -q "on.032h9"
}
check "the rogue is announced on the link" cl_wait 30 seen
cl_down 4

if cl_have_agent; then
	# The boot configuration pins the real peers' node keys; their
	# static addresses lead nowhere, so only mDNS can find them.
	CL_BOOT_PEERS="1 2 3" cl_bootconf 4 "$d4/rogue.conf" "give-up = 60s" \
	    "mdns = yes" "mdns-trust = pinned"
	sed -i 's|^address = .*|address = 192.0.2.200:4141|' "$d4/rogue.conf"
	check "h4 boots by mDNS with the rogue present: the disk opens" \
	    eval 'n4 "$CL_AGENT" -c "$d4/rogue.conf" -P none 2>>"$d4/boot.log" |
	    cl_check_key 4'
	check "the rogue released nothing to h4" test "$(cl_count 9 \
	    '.kind == "released" and .peer == "h4"')" = 0
else
	# Stand-in for the agent's browser: h4's avahi-daemon lists every
	# announcer; a candidate is used only if it shows a node key that
	# h4's boot configuration pins (the real peers'), as the agent does.
	cl_start_avahi 4
	n4 avahi-browse -rpt _peerkey._tcp 2>/dev/null | awk -F';' \
	    '$1 == "=" && $3 == "IPv4" { print $8 ":" $9 }' | sort -u \
	    >"$d4/found"
	check "h4 finds the real peers and the rogue" \
	    test "$(wc -l <"$d4/found")" -ge 4
	pins=$(cat "$CL_DIR"/h[123]/node.id)
	use=""
	for a in $(cat "$d4/found"); do
		shown=no
		for p in $pins; do
			# Exit 3: the TLS handshake failed on the pin.
			n4 "$CL_PKTOOL" heartbeat "$d4/boot.key" "$a" "$p" \
			    >/dev/null 2>&1
			[ $? != 3 ] && shown=yes
		done
		h=${a%:*}
		[ "$shown" = yes ] && use="$use ${h##*.}"
		case $a in
		"$(cl_addr 9)":*)
			check "the rogue shows no pinned key: ignored" \
			    test "$shown" = no ;;
		esac
	done
	check "the three real peers show their pinned keys" \
	    test "$(echo $use | wc -w)" = 3
	check "h4 boots through the real peers: the disk opens" \
	    eval 'CL_BOOT_PEERS="$use" cl_unlocks 4 30s'
	check "the rogue released nothing to h4" test "$(cl_count 9 \
	    '.kind == "released" and .peer == "h4"')" = 0
fi
cl_stop 9
cl_done
