#!/bin/sh
# heartbeat.sh: two real nodes guard each other with short intervals. A
# stopped peer is disabled after its timeout (and the disable recorded);
# started again, it is re-enabled by a heartbeat; a third node listening
# at its address with another key is "wrong node key" and enables no one;
# an operator's disable outlasts any heartbeat.
_title="heartbeat-driven enable and disable between two real nodes"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/node/lib.sh"

start_node a || fatal "cannot start node a"
start_node b || fatal "cannot start node b"
keygen "$W/a.boot" >/dev/null
keygen "$W/b.boot" >/dev/null

# guard X Y: X guards Y with Y's node key and address.
guard() {
	pk "$1" peer add "$2" --boot-key "$(keyid "$W/$2.boot")" \
	    --node-key "$(node_keyid "$2")" --address "$(node_addr "$2")" \
	    --timeout 3s --interval 300ms --extended-timeout 1s
}
ok 'guard a b' "a guards b"
ok 'guard b a' "b guards a"
# A peer never reached (nothing listens at its address).
keygen "$W/ghost.node" >/dev/null
keygen "$W/ghost.boot" >/dev/null
ok 'quiet pk a peer add ghost \
    --boot-key "$(keyid "$W/ghost.boot")" \
    --node-key "$(keyid "$W/ghost.node")" --address 127.0.0.1:1 \
    --timeout 60s --interval 300ms' "a guards a ghost"

# last_check_after NODE PEER MS: the last check is newer than MS and ok.
checked_ok_since() {
	[ "$(peer_field "$1" "$2" last_check)" -gt "$3" ] &&
	    [ "$(peer_field "$1" "$2" last_check_ok)" = true ]
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

t=$(now_ms)
ok 'wait_for "checked_ok_since a b $t" 20' \
    "a's heartbeats to b succeed"
ok 'wait_for "checked_ok_since b a $t" 20' \
    "b's heartbeats to a succeed"
is "$(peer_state a b)" enabled "b is enabled on a"
like "$(events a b check-ok)" heartbeat "the first success is an event"

# --- stop b: a disables it after the timeout -----------------------------
ok 'stop_node b' "b stops cleanly"
ok 'wait_for "state_is a b disabled" 20' "a disables b after its timeout"
like "$(events a b disabled)" "unseen for longer than its timeout \(3s\)" \
    "the disable is recorded with its reason"
like "$(events a b check-failed | tail -n 1)" \
    "heartbeat to 127.0.0.1:[0-9]+: " \
    "the failed heartbeat is recorded with its reason"
is "$(pktool unlock "$W/b.boot" "$(node_addr a)")" "refused disabled" \
    "a refuses b's unlock now"

# --- b comes back: re-enabled by a heartbeat -----------------------------
ok 'restart_node b' "b starts again on its port"
ok 'wait_for "state_is a b enabled" 20' "a re-enables b from a heartbeat"
like "$(events a b enabled | tail -n 1)" "^heartbeat" \
    "the enable is recorded as a heartbeat from b's node key"
is "$(peer_state b a)" enabled "a was never disabled on b (b's own downtime)"

# --- a third node with another key at b's address -------------------------
ok 'stop_node b' "b stops again"
ok 'wait_for "state_is a b disabled" 20' "a disables b again"
nbefore=$(count_events a b enabled)
ok 'start_node c node.port="$(node_port b)"' \
    "an impostor node starts at b's address"
count_wrong() {
	grep -c "checker: peer b at 127.0.0.1:$(node_port b) shows key" \
	    "$(node_log a)"
}
wrong_at_least() {
	[ "$(count_wrong)" -ge "$1" ]
}
ok 'wait_for "wrong_at_least 3" 20' "a sees the wrong node key, several times"
like "$(grep 'peer b: check failed\|wrong node key' \
    "$(node_log a)" | tail -n 1)" "wrong node key|shows key" \
    "the check names it"
like "$(events a b check-failed | tail -n 1)" "wrong node key" \
    "the wrong key is an audit event"
is "$(events a b check-failed | grep -c 'wrong node key')" 1 \
    "...recorded once, not at every interval"
is "$(peer_state a b)" disabled "the impostor does not enable b"
is "$(count_events a b enabled)" "$nbefore" "no enable event was recorded"
is "$(pktool unlock "$W/b.boot" "$(node_addr a)")" "refused disabled" \
    "b's unlock still refused"
ok 'stop_node c' "the impostor stops"

# --- an operator's disable outlasts heartbeats -----------------------------
ok 'restart_node b' "b starts again"
ok 'wait_for "state_is a b enabled" 20' "a re-enables b"
ok 'pk a disable b' "operator disables b on a"
t=$(now_ms)
ok 'wait_for "checked_ok_since a b $t" 20' \
    "heartbeats to b go on and succeed"
sleep 1
t=$(now_ms)
ok 'wait_for "checked_ok_since a b $t" 20' "...again"
is "$(peer_state a b)" disabled-by-operator "b stays disabled by the operator"
is "$(pktool unlock "$W/b.boot" "$(node_addr a)")" "refused disabled" \
    "...and refused"
ok 'pk a enable b' "operator enables b"
is "$(peer_state a b)" enabled "b is enabled"

like "$(events a ghost check-failed)" "heartbeat to 127.0.0.1:1: " \
    "the ghost's failed check is an event"
is "$(count_events a ghost check-failed)" 1 "...one, not one per interval"

ok 'stop_node a' "a stops cleanly"
ok 'stop_node b' "b stops cleanly"
finish
