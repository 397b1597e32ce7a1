#!/bin/sh
# test-mdns.sh: peerkey-boot finds its peers by mDNS, with its embedded
# libavahi-core stack (no avahi-daemon, no D-Bus on its side), over IPv6
# link-local only, and fetches the passphrase from a real peerkeyd that a
# real avahi-daemon announces: what "peerkey enroll" deposited there for
# our disk, with the boot configuration "peerkey boot-config" wrote.
#
#	ns pkbA$$ (the booting machine)        ns pkbN$$ (a node)
#	peerkey-boot, no static peers          peerkeyd + dbus + avahi-daemon
#	eth0 fe80::a ------------ veth ------- eth0 fe80::b (no IPv4 at all)
#
# Then: mdns-trust = pinned with the node's key (accepted) and with
# another key (refused: the unpinned server is never asked).
. "$(dirname "$0")/lib-boot.sh"
need certtool gpg ip avahi-daemon dbus-daemon unshare cryptsetup jq
need_root
PKTOOL=$top_builddir/tests/tools/pktool
[ -x "$PEERKEYD" ] && [ -x "$PEERKEY" ] && [ -x "$PKTOOL" ] ||
    skip "peerkeyd, peerkey or pktool not built"
. "$top_srcdir/tests/lib-avahi.sh"

NA=pkbA$$
NN=pkbN$$
ip netns add "$NA" && NETNS="$NETNS $NA"
ip netns add "$NN" && NETNS="$NETNS $NN"
ip link add "pkbA$$" type veth peer name "pkbN$$"
ip link set "pkbA$$" netns "$NA"
ip link set "pkbN$$" netns "$NN"
for ns in $NA $NN; do
	ip -n "$ns" link set lo up
	ip -n "$ns" link set "$ns" name eth0
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.eth0.accept_dad=0
done
ip -n "$NA" link set eth0 addrgenmode none
ip -n "$NN" link set eth0 addrgenmode none
ip -n "$NA" addr add fe80::a/64 dev eth0 nodad
ip -n "$NN" addr add fe80::b/64 dev eth0 nodad
ip -n "$NA" link set eth0 up
ip -n "$NN" link set eth0 up
ok '[ -z "$(ip -n "$NA" -4 addr show dev eth0)" ] && [ -z "$(ip -n "$NN" -4 addr show dev eth0)" ]' \
    "two namespaces joined by a veth, IPv6 link-local only"

mkdir -p "$W/av"
avahi_start "$W/av" "$NN" pknode eth0
rc=$?
ok '[ $rc = 0 ]' "a real avahi-daemon runs in the node's namespace"
at_exit 'avahi_cleanup "$W/av"'

mkdir -p "$W/n/state" "$W/n/run"
NKEY=$("$PKTOOL" keygen "$W/n/node.key")
cat > "$W/n/peerkeyd.conf" <<EOC
[node]
name = pknode
key = $W/n/node.key
state-directory = $W/n/state
runtime-directory = $W/n/run
port = 4141
[announce]
enable = yes
EOC
spawn node env DBUS_SYSTEM_BUS_ADDRESS="$AVAHI_BUS_ADDRESS" \
    ip netns exec "$NN" "$PEERKEYD" -d -f "$W/n/peerkeyd.conf"
wait_for "grep -q 'ready on port' '$W/node.log'" 10

# The booting machine, as an operator makes it: "peerkey init", its
# peerkeyd (on loopback), the node as its peer, its disk enrolled with
# "peerkey enroll" (run in its namespace, where the node is reachable),
# its boot configuration from "peerkey boot-config".
machine me
rc=$?
ME_NODE=$(pkm me -j init | jq -r .node_keyid)
BOOT_KEYID=$(pkm me -j init | jq -r .boot_keyid)
"$PEERKEY" -s "$W/n/run/control.sock" peer add me --boot-key "$BOOT_KEYID" \
    --node-key "$ME_NODE" --timeout 1h > /dev/null &&
    pkm me peer add pknode --node-key "$NKEY" \
    --boot-key "$("$PKTOOL" keygen "$W/n/boot.key")" \
    --address "[fe80::b%eth0]:4141" > /dev/null
rc=$((rc + $?))
ok '[ $rc = 0 ]' "the node guards our machine; our machine knows the node"
printf 'typed-mdns' > "$W/typed"
truncate -s 20M "$W/disk.img"
cryptsetup -q luksFormat --type luks2 --pbkdf pbkdf2 \
    --pbkdf-force-iterations 1000 --key-file "$W/typed" "$W/disk.img" \
    > /dev/null 2>&1
ip netns exec "$NA" "$PEERKEY" -d "$W/me" -s "$W/me/run/control.sock" \
    enroll "$W/disk.img" --key-file "$W/typed" > "$W/enroll.out" 2>&1
rc=$?
ok '[ $rc = 0 ] && grep -q "held by: pknode" "$W/enroll.out"' \
    "peerkey enroll: our disk's key, signed, held by the node"
[ $rc = 0 ] || diag "$W/enroll.out"
pkm me boot-config > /dev/null || fatal "peerkey boot-config failed"
# opens FILE: FILE holds a passphrase of our disk.
opens() {
	cryptsetup open --test-passphrase --key-file "$1" "$W/disk.img" \
	    2> /dev/null
}

boot_conf_of "$W/m.conf" "$W/me/boot.conf" "mdns = yes" "prompt = no" \
    "give-up = 20s" "mdns-interfaces = eth0" "mdns-mandos = no"
start=$(date +%s%N)
ip netns exec "$NA" "$AGENT" -c "$W/m.conf" > "$W/om" 2> "$W/em"
rc=$?
el=$(( ($(date +%s%N) - start) / 1000000 ))
ok '[ $rc = 0 ] && opens "$W/om"' \
    "found by mDNS over IPv6 link-local: passphrase (${el} ms)"
ok 'grep -q "found by mDNS at fe80::b%eth0 port 4141" "$W/em"' \
    "the link-local address carries its interface (fe80::b%eth0)"
ok 'grep -q "passphrase received (server key $NKEY)" "$W/em"' \
    "an unpinned server's key id is logged"
[ $rc = 0 ] || diag "$W/em"

# The node announces _mandos._tcp too: with mdns-mandos = yes, both are
# browsed and asked, and one of them wins. Which is found first is a race
# (the native answer may come before _mandos._tcp is resolved), so a few
# runs are allowed for the Mandos service to be seen; if browsing
# _mandos._tcp were broken it would be seen in none.
boot_conf_of "$W/mm.conf" "$W/me/boot.conf" "mdns = yes" "prompt = no" \
    "give-up = 20s" "mdns-interfaces = eth0"
for try in 1 2 3 4 5 6; do
	ip netns exec "$NA" "$AGENT" -c "$W/mm.conf" > "$W/omm" 2> "$W/emm"
	rc=$?
	[ $rc = 0 ] || break
	grep -q "(Mandos)" "$W/emm" && break
done
ok '[ $rc = 0 ] && opens "$W/omm" &&
    grep -q "mdns-mandos:pknode: found by mDNS at fe80::b%eth0 port 4141 (Mandos)" "$W/emm"' \
    "_mandos._tcp is browsed too (mdns-mandos = yes)"

# mdns-trust = pinned: only a server showing a configured node key.
# pinned NAME GIVE-UP KEY: the agent in $NA with mdns-trust = pinned and
# one [peer known] pinned to KEY; stdout in $W/oNAME, stderr in $W/eNAME.
pinned() {
	boot_conf_of "$W/$1.conf" "$W/me/boot.conf" "mdns = yes" \
	    "prompt = no" "give-up = $2" "mdns-interfaces = eth0" \
	    "mdns-trust = pinned"
	printf '[peer known]\naddress = [fe80::dead%%eth0]:4141\nnode-key = %s\n' \
	    "$3" >> "$W/$1.conf"
	ip netns exec "$NA" "$AGENT" -c "$W/$1.conf" > "$W/o$1" 2> "$W/e$1"
}
pinned p 20s "$NKEY"
rc=$?
ok '[ $rc = 0 ] && opens "$W/op"' \
    "mdns-trust = pinned: a found server with a pinned key is asked"
OTHER=$("$PKTOOL" keygen "$W/other.key")
pinned q 6s "$OTHER"
rc=$?
ok '[ $rc = 1 ] && [ ! -s "$W/oq" ] && grep -q "wrong server key $NKEY" "$W/eq"' \
    "mdns-trust = pinned: a server with an unknown key is not asked"
[ $rc = 1 ] || diag "$W/eq"; grep -q "wrong server key" "$W/eq" || diag "$W/eq"

finish
