#!/bin/sh
# restart.sh: a restart after a clean stop and after kill -9 keeps every
# state: disabled stays disabled (by timeout or by an operator), enabled
# keeps its remaining time, blobs and events survive, and a change
# acknowledged just before a kill -9 is not lost (Mandos loses all state on
# kill -9 and re-enables every client). Outage-aware: this node's own
# downtime, longer than a peer's timeout, is not held against the peer.
_title="restart after a clean stop and after kill -9 keeps every state"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/node/lib.sh"

start_node a || fatal "cannot start node a"
add_peers_with_blob a live=60s expired=1s opdis=60s short=5s
pk a disable opdis
ok 'wait_for "state_is a expired disabled" 10' \
    "the peer with a 1s timeout is disabled"

# states NODE: "name=state" of every peer, sorted.
states() {
	pk "$1" -j status |
	    jq -r '.peers[] | "\(.name)=\(.state)"' | sort | tr '\n' ' '
}
want="expired=disabled live=enabled opdis=disabled-by-operator short=enabled "
heartbeat_in a short >/dev/null
is "$(states a)" "$want" "states before"
nev=$(pk a -j events | jq '.events | length')

# after_restart HOW: the checks after each kind of restart.
after_restart() {
	is "$(states a)" "$want" "$1: every state kept"
	left=$(peer_field a live expires_in_ms)
	ok 'test "$left" -gt 0 -a "$left" -le "$before"' \
	    "$1: the enabled peer keeps its remaining time (at most)"
	is "$(unlock a live)" "released 1" "$1: the enabled peer is released"
	is "$(unlock a short)" "released 1" "$1: short (5s timeout) is released"
	is "$(unlock a expired)" "refused disabled" \
	    "$1: disabled by timeout: still refused"
	is "$(unlock a opdis)" "refused disabled" \
	    "$1: disabled by operator: still refused"
	is "$(pk a -j status | jq '[.peers[].blobs] | add')" 4 "$1: blobs kept"
	ok '[ "$(pk a -j events | jq '.events | length')" -ge "$nev" ]' "$1: events kept"
}

# Outage-aware: each restart below comes after a downtime longer than
# short's 5s timeout; short keeps the time it had (this node's downtime is
# not held against it), and still runs out on time once a is up.

# --- clean stop ------------------------------------------------------------
heartbeat_in a short >/dev/null
before=$(peer_field a live expires_in_ms)
ok 'stop_node a' "SIGTERM: a stops cleanly"
sleep 6		# longer than short's 5s timeout
ok 'restart_node a' "a starts again after 6s down"
after_restart "after a clean stop and 6s down"
like "$(grep 'still disabled' "$(node_log a)" | tail -n 2 | tr '\n' ' ')" \
    "peer (expired|opdis): still disabled" \
    "the log says a disabled peer is still disabled"
like "$(grep 'last alive' "$(node_log a)" | tail -n 1)" \
    "last alive [0-9]+ s ago; that downtime does not count against any peer" \
    "the log says the downtime does not count"

# --- kill -9 ---------------------------------------------------------------
heartbeat_in a short >/dev/null
sleep 1		# an alive mark (500ms) saves short's remaining time
before=$(($(peer_field a live expires_in_ms) + 1000))
kill9_node a
sleep 6
ok 'restart_node a' "a starts again after kill -9 and 6s down"
after_restart "after kill -9 and 6s down"
is "$(wait_for 'state_is a short disabled' 15 && echo disabled)" disabled \
    "...and short still expires on time once a is up"

# --- acknowledged changes just before kill -9 --------------------------------
add_peer a late --timeout 60s
deposit a late disk1 "$B" >/dev/null
blob "$W/blob2" "second disk"
is "$(deposit a late disk2 "$W/blob2")" "ack DEPOSIT" \
    "deposit acknowledged"
ok 'quiet pk a disable live' "disable acknowledged"
kill9_node a
ok 'restart_node a' "a starts again after kill -9"
is "$(peer_field a late blobs)" 2 \
    "the deposit acknowledged before kill -9 is there"
is "$(peer_state a live)" disabled-by-operator \
    "the disable acknowledged before kill -9 holds"

ok 'stop_node a' "a stops cleanly"
finish
