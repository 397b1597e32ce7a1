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
# another key (refused: the announcement is dropped, never asked). Last,
# 140 rogue announcements flood the agent's 128-slot candidate table:
# failing ones give their slots to the real node found after them; with
# mdns-trust = pinned they never take one; a static peer keeps its own.
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
# node_up: the node's peerkeyd (and so its announcement) starts.
node_up() {
	_nr=$(grep -c 'ready on port' "$W/node.log" 2>/dev/null)
	spawn node env DBUS_SYSTEM_BUS_ADDRESS="$AVAHI_BUS_ADDRESS" \
	    ip netns exec "$NN" "$PEERKEYD" -d -f "$W/n/peerkeyd.conf"
	NPID=$!
	wait_for "[ \$(grep -c 'ready on port' '$W/node.log') -gt ${_nr:-0} ]" 10
}
node_up

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
ok '[ $rc = 1 ] && [ ! -s "$W/oq" ] &&
    grep -q "ignored: announces $NKEY, no configured peer.s key" "$W/eq" &&
    ! grep -q ": found by mDNS" "$W/eq"' \
    "mdns-trust = pinned: a server announcing an unknown key is not asked"
[ $rc = 1 ] || diag "$W/eq"

# --- the candidate table (128 slots) under a flood of announcements ------
# 140 rogue services announced by the node's avahi-daemon, at ports
# where nothing listens (one each: the agent asks an address once),
# with a key no one configured. The real node announces itself only once
# the agent has found them.
stop "$NPID"
ROGUE=$("$PKTOOL" keygen "$W/rogue.key")
i=0
while [ $i -lt 140 ]; do
	spawn "rogue/$i" env DBUS_SYSTEM_BUS_ADDRESS="$AVAHI_BUS_ADDRESS" \
	    avahi-publish -s "rogue $i" _peerkey._tcp $((5000 + i)) pv=1 \
	    "keyid=$ROGUE"
	i=$((i + 1))
done
# flooded CONF NAME PATTERN: the agent with CONF spawned in the booting
# namespace; once PATTERN is in its progress 128 times (the table's worth
# of rogues seen), the real node comes up; then the agent's exit in rc.
flooded() {
	spawn -o "$W/o$2" "e$2" ip netns exec "$NA" "$AGENT" -c "$1"
	_ap=$!
	wait_for "[ \$(grep -c '$3' '$W/e$2.log') -ge 128 ]" 40
	seen=$(grep -c "$3" "$W/e$2.log")
	node_up
	wait $_ap
	rc=$?
}
# Any key: the rogues take every slot, fail, and give them up to the
# real node found after them.
boot_conf_of "$W/f.conf" "$W/me/boot.conf" "mdns = yes" "prompt = no" \
    "give-up = 60s" "mdns-interfaces = eth0" "mdns-mandos = no" \
    "retry-min = 200ms"
flooded "$W/f.conf" f "mdns:rogue_[0-9]*: found by mDNS"
ok '[ $rc = 0 ] && opens "$W/of" &&
    grep -q "mdns:pknode: replaces mdns:rogue_[0-9]* in the candidate table" "$W/ef.log"' \
    "128 failing rogues fill the table; the real node found after them takes a failed one's slot and unlocks ($seen rogues seen)"
[ $rc = 0 ] || diag "$W/ef.log"
stop "$NPID"
# Pinned: the rogues never take a slot.
boot_conf_of "$W/g.conf" "$W/me/boot.conf" "mdns = yes" "prompt = no" \
    "give-up = 60s" "mdns-interfaces = eth0" "mdns-mandos = no" \
    "mdns-trust = pinned"
printf '[peer known]\naddress = [fe80::dead%%eth0]:4141\nnode-key = %s\n' \
    "$NKEY" >> "$W/g.conf"
flooded "$W/g.conf" g "mdns:rogue_[0-9]*: ignored: announces $ROGUE"
ok '[ $rc = 0 ] && opens "$W/og" &&
    ! grep -q "mdns:rogue.*found by mDNS" "$W/eg.log"' \
    "mdns-trust = pinned: unpinned announcements are dropped before they take a slot; the pinned node unlocks ($seen dropped)"
[ $rc = 0 ] || diag "$W/eg.log"
# A static peer keeps its slot, however many services are announced:
# the configuration "peerkey boot-config" wrote, with its [peer pknode].
awk '!/^(mdns|prompt|give-up)[ \t]*=/' "$W/me/boot.conf" > "$W/h.conf"
sed -i 's/^\[boot\]$/[boot]\nmdns = yes\nprompt = no\ngive-up = 30s\nmdns-interfaces = eth0\nmdns-mandos = no/' \
    "$W/h.conf"
ip netns exec "$NA" "$AGENT" -c "$W/h.conf" > "$W/oh" 2> "$W/eh"
rc=$?
ok '[ $rc = 0 ] && opens "$W/oh" && grep -q "^peerkey-boot: pknode: passphrase received" "$W/eh"' \
    "with 140 rogues announced, the static peer (boot-config's) unlocks"
[ $rc = 0 ] || diag "$W/eh"

finish
