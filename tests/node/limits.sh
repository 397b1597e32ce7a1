#!/bin/sh
# limits.sh: slowloris and caps. 200 silent connections do not stop a
# real unlock and are closed by the line timeout (Mandos keeps them open
# for ever); a client that stalls mid-handshake is closed by the handshake
# timeout; the per-source and total connection caps (lowered by a SIGHUP
# reload) refuse new connections at once and still let an unlock under
# way complete. Idle native sessions are closed at the idle timeout.
_title="silent and stalled connections, connection caps"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/node/lib.sh"

start_node a limits.line-timeout=2s limits.handshake-timeout=2s \
    limits.idle-timeout=1s \
    limits.max-connections=300 limits.max-connections-per-source=250 ||
    bail "cannot start node a"
A=$(node_addr a)
B=$TEST_DIR/blob
blob "$B" "stand-in ciphertext"
add_peer a en --timeout 120s
deposit a en disk1 "$B" >/dev/null

# --- 200 silent connections -------------------------------------------------
pktool_bg "$TEST_DIR/hold.out" hold "$A" 200 20
hpid=$bgpid
holding() {
	grep -q '^holding 200' "$TEST_DIR/hold.out"
}
check "200 silent connections are open" wait_for 20 holding
is "a real unlock is served meanwhile" "$(unlock a en)" "released 1"
check "...while 200 others were open" \
    log_has a "connected \\((20[1-9]|2[1-9][0-9]) open\\)"
wait $hpid
is "the silent connections are all closed by the line timeout" \
    "$(tail -n 1 "$TEST_DIR/hold.out")" "closed 200"
check "...with a log line saying why" \
    log_has a "no protocol line in time"
is "and nothing is left open" \
    "$(grep -o 'closed ([0-9]* open)' "$(node_log a)" | tail -n 1)" \
    "closed (0 open)"

# --- a stall mid-handshake -------------------------------------------------
# The native line, then the first 6 bytes of a 512-byte ClientHello record.
is "a client stalled mid-handshake is closed" \
    "$(pktool line "$A" 'peerkey 1\r\n\x16\x03\x01\x02\x00\x01')" closed
check "...by the handshake timeout" log_has a "TLS handshake timed out"
is "a client that sends only the line is closed too" \
    "$(pktool line "$A" '1\r\n')" closed
is "a native session with no request is closed at the idle timeout" \
    "$(pktool raw "$TEST_DIR/en.node" "$A" '')" closed
is "a session stalled mid-frame is closed at the idle timeout" \
    "$(pktool raw "$TEST_DIR/en.node" "$A" 0000)" closed
check "...with a log line" log_has a "session: 127.0.0.1:[0-9]+: idle"

# reload KEY=VALUE...: changes a's configuration, SIGHUP, waits.
reload() {
	n0=$(grep -c 'reload: done' "$(node_log a)")
	set_conf a "$@"
	kill -HUP "$(node_pid a)"
	reloaded() {
		[ "$(grep -c 'reload: done' "$(node_log a)")" -gt "$n0" ]
	}
	wait_for 20 reloaded
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
	pktool_bg "$TEST_DIR/ap.out" mandos "$TEST_DIR/ap.boot" "$A"
	mpid=$bgpid
	waiting() {
		[ "$(grep -c 'peer ap: Mandos client at .* waits for approval' \
		    "$(node_log a)")" -gt "$nw" ]
	}
	check "$1: an unlock is under way (held for approval)" \
	    wait_for 20 waiting
	pktool_bg "$TEST_DIR/hold.out" hold "$A" "$2" 30
	hpid=$bgpid
	holding_n() {
		grep -q "^holding $held" "$TEST_DIR/hold.out"
	}
	check "$1: $2 silent connections fill the cap" wait_for 20 holding_n
	open_n() {
		log_has a "connected \\($((held + 1)) open\\)"
	}
	check "$1: ...accepted" wait_for 20 open_n
	nr=$(grep -c "refused: .*($3)" "$(node_log a)")
	pktool unlock "$TEST_DIR/en.boot" "$A" > "$TEST_DIR/over.out" 2>&1
	is "$1: a connection over the cap is refused (closed, no TLS)" "$?" 3
	is "$1: ...with a log line naming the cap" \
	    "$(grep -c "refused: .*($3)" "$(node_log a)")" $((nr + 1))
	pk a approve ap
	wait $mpid
	is "$1: the unlock under way completes" \
	    "$?:$(cat "$TEST_DIR/ap.out")" "0:$(cat "$B")"
	kill $hpid
	wait $hpid 2>/dev/null
	zero_open() {
		[ "$(grep -o 'closed ([0-9]* open)' "$(node_log a)" |
		    tail -n 1)" = "closed (0 open)" ]
	}
	check "$1: the held connections are gone" wait_for 20 zero_open
	is "$1: below the cap, unlocks are served again" "$(unlock a en)" \
	    "released 1"
}

check "SIGHUP: per-source cap 10, line timeout 30s" \
    reload limits.max-connections-per-source=10 limits.line-timeout=30s
cap_test "per-source cap" 9 max-connections-per-source
check "SIGHUP: total cap 10, per-source cap 300" \
    reload limits.max-connections-per-source=300 limits.max-connections=10
cap_test "total cap" 9 max-connections

check "a stops cleanly" stop_node a
done_testing
