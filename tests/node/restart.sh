#!/bin/sh
# restart.sh: a restart after a clean stop and after kill -9 keeps every
# state: disabled stays disabled (by timeout or by an operator), enabled
# keeps its remaining time, blobs and events survive, and a change
# acknowledged just before a kill -9 is not lost (Mandos loses all state on
# kill -9 and re-enables every client). Outage-aware: this node's own
# downtime, longer than a peer's timeout, is not held against the peer.
_title="restart after a clean stop and after kill -9 keeps every state"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/node/lib.sh"

start_node a || bail "cannot start node a"
B=$TEST_DIR/blob
blob "$B" "stand-in ciphertext"

add_peer a live --timeout 60s
add_peer a expired --timeout 1s
add_peer a opdis --timeout 60s
add_peer a short --timeout 5s
for p in live expired opdis short; do
	deposit a $p disk1 "$B" >/dev/null
done
pk a disable opdis
check "the peer with a 1s timeout is disabled" \
    wait_for 10 state_is a expired disabled

# states NODE: "name=state" of every peer, sorted.
states() {
	pk "$1" -j status |
	    jq -r '.peers[] | "\(.name)=\(.state)"' | sort | tr '\n' ' '
}
want="expired=disabled live=enabled opdis=disabled-by-operator short=enabled "
heartbeat_in a short >/dev/null
is "states before" "$(states a)" "$want"
nev=$(pk a -j events | jq length)

# after_restart HOW: the checks after each kind of restart.
after_restart() {
	is "$1: every state kept" "$(states a)" "$want"
	left=$(peer_field a live expires_in_ms)
	check "$1: the enabled peer keeps its remaining time (at most)" \
	    test "$left" -gt 0 -a "$left" -le "$before"
	is "$1: the enabled peer is released" "$(unlock a live)" "released 1"
	is "$1: short (5s timeout) is released" "$(unlock a short)" \
	    "released 1"
	is "$1: disabled by timeout: still refused" "$(unlock a expired)" \
	    "refused disabled"
	is "$1: disabled by operator: still refused" "$(unlock a opdis)" \
	    "refused disabled"
	is "$1: blobs kept" \
	    "$(pk a -j status | jq '[.peers[].blobs] | add')" 4
	check "$1: events kept" [ "$(pk a -j events | jq length)" -ge "$nev" ]
}

# Outage-aware: each restart below comes after a downtime longer than
# short's 5s timeout; short keeps the time it had (this node's downtime is
# not held against it), and still runs out on time once a is up.

# --- clean stop ------------------------------------------------------------
heartbeat_in a short >/dev/null
before=$(peer_field a live expires_in_ms)
check "SIGTERM: a stops cleanly" stop_node a
sleep 6		# longer than short's 5s timeout
check "a starts again after 6s down" restart_node a
after_restart "after a clean stop and 6s down"
like "the log says a disabled peer is still disabled" \
    "$(grep 'still disabled' "$(node_log a)" | tail -n 2 | tr '\n' ' ')" \
    "peer (expired|opdis): still disabled"
like "the log says the downtime does not count" \
    "$(grep 'last alive' "$(node_log a)" | tail -n 1)" \
    "last alive [0-9]+ s ago; that downtime does not count against any peer"

# --- kill -9 ---------------------------------------------------------------
heartbeat_in a short >/dev/null
sleep 1		# an alive mark (500ms) saves short's remaining time
before=$(($(peer_field a live expires_in_ms) + 1000))
kill9_node a
sleep 6
check "a starts again after kill -9 and 6s down" restart_node a
after_restart "after kill -9 and 6s down"
is "...and short still expires on time once a is up" \
    "$(wait_for 15 state_is a short disabled && echo disabled)" disabled

# --- acknowledged changes just before kill -9 --------------------------------
add_peer a late --timeout 60s
deposit a late disk1 "$B" >/dev/null
blob "$TEST_DIR/blob2" "second disk"
is "deposit acknowledged" "$(deposit a late disk2 "$TEST_DIR/blob2")" \
    "ack DEPOSIT"
check "disable acknowledged" quiet pk a disable live
kill9_node a
check "a starts again after kill -9" restart_node a
is "the deposit acknowledged before kill -9 is there" \
    "$(peer_field a late blobs)" 2
is "the disable acknowledged before kill -9 holds" "$(peer_state a live)" \
    disabled-by-operator

check "a stops cleanly" stop_node a
done_testing
