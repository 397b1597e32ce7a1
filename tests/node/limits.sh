#!/bin/sh
# limits.sh: slowloris and caps. 200 silent connections do not stop a
# real unlock and are closed by the line timeout (Mandos keeps them open
# for ever); a client that stalls mid-handshake is closed by the handshake
# timeout; the per-source and total connection caps (lowered by a SIGHUP
# reload) refuse new connections at once and still let an unlock under
# way complete. Idle native sessions are closed at the idle timeout.
# (The budgets that push silent connections out early, max-handshakes,
# are raised here to hold them all: tests/hostile/ tests those.)
_title="silent and stalled connections, connection caps"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/node/lib.sh"

start_node a limits.line-timeout=2s limits.handshake-timeout=2s \
    limits.idle-timeout=1s \
    limits.max-connections=300 limits.max-connections-per-source=250 \
    limits.max-handshakes=250 limits.max-handshakes-per-source=250 ||
    fatal "cannot start node a"
A=$(node_addr a)
add_peers_with_blob a en=120s

# --- 200 silent connections -------------------------------------------------
pktool_bg "$W/hold.out" hold "$A" 200 20
hpid=$bgpid
holding() {
	grep -q '^holding 200' "$W/hold.out"
}
ok 'wait_for "holding" 20' "200 silent connections are open"
is "$(unlock a en)" "released 1" "a real unlock is served meanwhile"
ok 'log_has a "connected \\((20[1-9]|2[1-9][0-9]) open\\)"' \
    "...while 200 others were open"
wait $hpid
is "$(tail -n 1 "$W/hold.out")" "closed 200" \
    "the silent connections are all closed by the line timeout"
ok 'log_has a "no protocol line in time"' "...with a log line saying why"
is "$(grep -o 'closed ([0-9]* open)' "$(node_log a)" | tail -n 1)" \
    "closed (0 open)" "and nothing is left open"

# --- a stall mid-handshake -------------------------------------------------
# The native line, then the first 6 bytes of a 512-byte ClientHello record.
is "$(pktool line "$A" 'peerkey 1\r\n\x16\x03\x01\x02\x00\x01')" closed \
    "a client stalled mid-handshake is closed"
ok 'log_has a "TLS handshake timed out"' "...by the handshake timeout"
is "$(pktool line "$A" '1\r\n')" closed \
    "a client that sends only the line is closed too"
is "$(pktool raw "$W/en.node" "$A" '')" closed \
    "a native session with no request is closed at the idle timeout"
is "$(pktool raw "$W/en.node" "$A" 0000)" closed \
    "a session stalled mid-frame is closed at the idle timeout"
ok 'log_has a "session: 127.0.0.1:[0-9]+: idle"' "...with a log line"

# reload KEY=VALUE...: changes a's configuration, SIGHUP, waits.
reload() {
	n0=$(grep -c 'reload: done' "$(node_log a)")
	set_conf a "$@"
	kill -HUP "$(node_pid a)"
	reloaded() {
		[ "$(grep -c 'reload: done' "$(node_log a)")" -gt "$n0" ]
	}
	wait_for 'reloaded' 20
}

# cap_test LABEL HELD: with an unlock under way (a Mandos client held for
# approval) and HELD silent connections, a new connection is refused at
# once, and the unlock under way completes.
cap_test() {
	held=$2
	cap=$3
	pk a remove --yes ap >/dev/null 2>&1
	add_peer a ap --timeout 120s --approval-delay 60s \
	    --approval-duration 60s
	deposit a ap disk1 "$B" >/dev/null
	nw=$(grep -c 'peer ap: Mandos client at .* waits for approval' \
	    "$(node_log a)")
	pktool_bg "$W/ap.out" mandos "$W/ap.boot" "$A"
	mpid=$bgpid
	waiting() {
		[ "$(grep -c 'peer ap: Mandos client at .* waits for approval' \
		    "$(node_log a)")" -gt "$nw" ]
	}
	ok 'wait_for "waiting" 20' \
	    "$1: an unlock is under way (held for approval)"
	pktool_bg "$W/hold.out" hold "$A" "$2" 30
	hpid=$bgpid
	holding_n() {
		grep -q "^holding $held" "$W/hold.out"
	}
	ok 'wait_for "holding_n" 20' "$1: $2 silent connections fill the cap"
	open_n() {
		log_has a "connected \\($((held + 1)) open\\)"
	}
	ok 'wait_for "open_n" 20' "$1: ...accepted"
	nr=$(grep -c "refused: .*($3)" "$(node_log a)")
	pktool unlock "$W/en.boot" "$A" > "$W/over.out" 2>&1
	is "$?" 3 "$1: a connection over the cap is refused (closed, no TLS)"
	is "$(grep -c "refused: .*($3)" "$(node_log a)")" $((nr + 1)) \
	    "$1: ...with a log line naming the cap"
	pk a approve ap
	wait $mpid
	_rc=$?
	signed ap disk1 "$B" > "$W/ap.sblob"
	ok '[ $_rc = 0 ] && cmp -s "$W/ap.out" "$W/ap.sblob"' \
	    "$1: the unlock under way completes"
	stop $hpid
	zero_open() {
		[ "$(grep -o 'closed ([0-9]* open)' "$(node_log a)" |
		    tail -n 1)" = "closed (0 open)" ]
	}
	ok 'wait_for "zero_open" 20' "$1: the held connections are gone"
	is "$(unlock a en)" "released 1" \
	    "$1: below the cap, unlocks are served again"
}

ok 'reload limits.max-connections-per-source=10 limits.line-timeout=30s' \
    "SIGHUP: per-source cap 10, line timeout 30s"
cap_test "per-source cap" 9 max-connections-per-source
ok 'reload limits.max-connections-per-source=300 limits.max-connections=10' \
    "SIGHUP: total cap 10, per-source cap 300"
cap_test "total cap" 9 max-connections

ok 'stop_node a' "a stops cleanly"
finish
