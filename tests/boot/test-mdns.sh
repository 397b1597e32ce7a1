#!/bin/sh
# test-mdns.sh: peerkey-boot finds its peers by mDNS, with its embedded
# libavahi-core stack (no avahi-daemon, no D-Bus on its side), over IPv6
# link-local only, and fetches the passphrase from a real peerkeyd that a
# real avahi-daemon announces.
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
need certtool gpg ip avahi-daemon dbus-daemon unshare
need_root
PKTOOL=$top_builddir/tests/tools/pktool
[ -x "$PEERKEYD" ] && [ -x "$PKTOOL" ] || skip "peerkeyd or pktool not built"
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

boot_keys "$W/k"
stop_gpg_agents "$W/k/gpg"
printf 'found-by-mdns' > "$W/pass"
seal "$W/k" "$W/pass" "$W/blob"

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
"$PEERKEY" -s "$W/n/run/control.sock" peer add me --boot-key "$BOOT_KEYID" \
    > /dev/null &&
    "$PEERKEY" -s "$W/n/run/control.sock" peer put-blob me luks-m "$W/blob" \
    > /dev/null
rc=$?
ok '[ $rc = 0 ]' "peerkeyd in the node's namespace knows our boot key"

boot_conf "$W/m.conf" "$W/k" "mdns = yes" "prompt = no" "give-up = 20s" \
    "mdns-interfaces = eth0" "mdns-mandos = no"
start=$(date +%s%N)
ip netns exec "$NA" "$AGENT" -c "$W/m.conf" > "$W/om" 2> "$W/em"
rc=$?
el=$(( ($(date +%s%N) - start) / 1000000 ))
ok '[ $rc = 0 ] && cmp -s "$W/om" "$W/pass"' \
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
boot_conf "$W/mm.conf" "$W/k" "mdns = yes" "prompt = no" "give-up = 20s" \
    "mdns-interfaces = eth0"
for try in 1 2 3 4 5 6; do
	ip netns exec "$NA" "$AGENT" -c "$W/mm.conf" > "$W/omm" 2> "$W/emm"
	rc=$?
	[ $rc = 0 ] || break
	grep -q "(Mandos)" "$W/emm" && break
done
ok '[ $rc = 0 ] && cmp -s "$W/omm" "$W/pass" &&
    grep -q "mdns-mandos:pknode: found by mDNS at fe80::b%eth0 port 4141 (Mandos)" "$W/emm"' \
    "_mandos._tcp is browsed too (mdns-mandos = yes)"

# peer_section CONF NAME ADDR KEY: a [peer] at [ADDR%eth0]:4141 pinned to
# KEY, appended to CONF.
peer_section() {
	printf '[peer %s]\naddress = [%s%%eth0]:4141\nnode-key = %s\n' \
	    "$2" "$3" "$4" >> "$1"
}

# agent_run NAME: the agent with $W/NAME.conf in the booting namespace;
# the passphrase in $W/oNAME, progress in $W/eNAME, the exit in rc.
agent_run() {
	ip netns exec "$NA" "$AGENT" -c "$W/$1.conf" > "$W/o$1" 2> "$W/e$1"
	rc=$?
}

# mdns-trust = pinned: only a server showing a configured node key.
boot_conf "$W/p.conf" "$W/k" "mdns = yes" "prompt = no" "give-up = 20s" \
    "mdns-interfaces = eth0" "mdns-trust = pinned"
peer_section "$W/p.conf" known fe80::dead "$NKEY"
agent_run p
ok '[ $rc = 0 ] && cmp -s "$W/op" "$W/pass"' \
    "mdns-trust = pinned: a found server with a pinned key is asked"
OTHER=$("$PKTOOL" keygen "$W/other.key")
boot_conf "$W/q.conf" "$W/k" "mdns = yes" "prompt = no" "give-up = 6s" \
    "mdns-interfaces = eth0" "mdns-trust = pinned"
peer_section "$W/q.conf" known fe80::dead "$OTHER"
agent_run q
ok '[ $rc = 1 ] && [ ! -s "$W/oq" ] &&
    grep -q "ignored: announces $NKEY, no configured peer.s key" "$W/eq" &&
    ! grep -q ": found by mDNS" "$W/eq"' \
    "mdns-trust = pinned: a server announcing an unknown key is not asked"
[ $rc = 1 ] || diag "$W/eq"

# --- the candidate table (128 slots) under a flood of announcements ------
# 140 rogue services announced by the node's avahi-daemon, at ports
# where nothing listens (one each: the agent asks an address once),
# with a key no one configured. The real node
# announces itself only once the agent has found them.
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
boot_conf "$W/f.conf" "$W/k" "mdns = yes" "prompt = no" "give-up = 60s" \
    "mdns-interfaces = eth0" "mdns-mandos = no" "retry-min = 200ms"
flooded "$W/f.conf" f "mdns:rogue_[0-9]*: found by mDNS"
ok '[ $rc = 0 ] && cmp -s "$W/of" "$W/pass" &&
    grep -q "mdns:pknode: replaces mdns:rogue_[0-9]* in the candidate table" "$W/ef.log"' \
    "128 failing rogues fill the table; the real node found after them takes a failed one's slot and unlocks ($seen rogues seen)"
[ $rc = 0 ] || diag "$W/ef.log"
stop "$NPID"
# Pinned: the rogues never take a slot.
boot_conf "$W/g.conf" "$W/k" "mdns = yes" "prompt = no" "give-up = 60s" \
    "mdns-interfaces = eth0" "mdns-mandos = no" "mdns-trust = pinned"
peer_section "$W/g.conf" known fe80::dead "$NKEY"
flooded "$W/g.conf" g "mdns:rogue_[0-9]*: ignored: announces $ROGUE"
ok '[ $rc = 0 ] && cmp -s "$W/og" "$W/pass" &&
    ! grep -q "mdns:rogue.*found by mDNS" "$W/eg.log"' \
    "mdns-trust = pinned: unpinned announcements are dropped before they take a slot; the pinned node unlocks ($seen dropped)"
[ $rc = 0 ] || diag "$W/eg.log"
# A static peer keeps its slot, however many services are announced.
boot_conf "$W/h.conf" "$W/k" "mdns = yes" "prompt = no" "give-up = 30s" \
    "mdns-interfaces = eth0" "mdns-mandos = no"
peer_section "$W/h.conf" node fe80::b "$NKEY"
agent_run h
ok '[ $rc = 0 ] && cmp -s "$W/oh" "$W/pass"' \
    "with 140 rogues announced, the static peer unlocks"

finish
