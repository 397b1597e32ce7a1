#!/bin/sh
# heartbeat.sh: two real nodes guard each other with short intervals. A
# stopped peer is disabled after its timeout (and the disable recorded);
# started again, it is re-enabled by a heartbeat; a third node listening
# at its address with another key is "wrong node key" and enables no one;
# an operator's disable outlasts any heartbeat.
_title="heartbeat-driven enable and disable between two real nodes"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/node/lib.sh"

start_node a || bail "cannot start node a"
start_node b || bail "cannot start node b"
keygen "$TEST_DIR/a.boot" >/dev/null
keygen "$TEST_DIR/b.boot" >/dev/null

# guard X Y: X guards Y with Y's node key and address.
guard() {
	pk "$1" peer add "$2" --boot-key "$(keyid "$TEST_DIR/$2.boot")" \
	    --node-key "$(node_keyid "$2")" --address "$(node_addr "$2")" \
	    --timeout 3s --interval 300ms --extended-timeout 1s
}
check "a guards b" guard a b
check "b guards a" guard b a

# last_check_after NODE PEER MS: the last check is newer than MS and ok.
checked_ok_since() {
	[ "$(peer_field "$1" "$2" last_check)" -gt "$3" ] &&
	    [ "$(peer_field "$1" "$2" last_check_ok)" = true ]
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

t=$(now_ms)
check "a's heartbeats to b succeed" wait_for 20 checked_ok_since a b "$t"
check "b's heartbeats to a succeed" wait_for 20 checked_ok_since b a "$t"
is "b is enabled on a" "$(peer_state a b)" enabled
like "the first success is an event" "$(events a b check-ok)" heartbeat

# --- stop b: a disables it after the timeout -----------------------------
check "b stops cleanly" stop_node b
check "a disables b after its timeout" wait_for 20 state_is a b disabled
like "the disable is recorded with its reason" "$(events a b disabled)" \
    "unseen for longer than its timeout \(3s\)"
like "the failed heartbeat is recorded with its reason" \
    "$(events a b check-failed | tail -n 1)" "heartbeat to 127.0.0.1:[0-9]+: "
is "a refuses b's unlock now" \
    "$(pktool unlock "$TEST_DIR/b.boot" "$(node_addr a)")" "refused disabled"

# --- b comes back: re-enabled by a heartbeat -----------------------------
check "b starts again on its port" restart_node b
check "a re-enables b from a heartbeat" wait_for 20 state_is a b enabled
like "the enable is recorded as a heartbeat from b's node key" \
    "$(events a b enabled | tail -n 1)" "^heartbeat"
is "a was never disabled on b (b's own downtime)" "$(peer_state b a)" \
    enabled

# --- a third node with another key at b's address -------------------------
check "b stops again" stop_node b
check "a disables b again" wait_for 20 state_is a b disabled
nbefore=$(count_events a b enabled)
check "an impostor node starts at b's address" \
    start_node c node.port="$(node_port b)"
count_wrong() {
	grep -c "checker: peer b at 127.0.0.1:$(node_port b) shows key" \
	    "$(node_log a)"
}
wrong_at_least() {
	[ "$(count_wrong)" -ge "$1" ]
}
check "a sees the wrong node key, several times" wait_for 20 wrong_at_least 3
like "the check names it" "$(grep 'peer b: check failed\|wrong node key' \
    "$(node_log a)" | tail -n 1)" "wrong node key|shows key"
is "the impostor does not enable b" "$(peer_state a b)" disabled
is "no enable event was recorded" "$(count_events a b enabled)" "$nbefore"
is "b's unlock still refused" \
    "$(pktool unlock "$TEST_DIR/b.boot" "$(node_addr a)")" "refused disabled"
check "the impostor stops" stop_node c

# --- an operator's disable outlasts heartbeats -----------------------------
check "b starts again" restart_node b
check "a re-enables b" wait_for 20 state_is a b enabled
check "operator disables b on a" pk a disable b
t=$(now_ms)
check "heartbeats to b go on and succeed" wait_for 20 checked_ok_since a b "$t"
sleep 1
t=$(now_ms)
check "...again" wait_for 20 checked_ok_since a b "$t"
is "b stays disabled by the operator" "$(peer_state a b)" \
    disabled-by-operator
is "...and refused" \
    "$(pktool unlock "$TEST_DIR/b.boot" "$(node_addr a)")" "refused disabled"
check "operator enables b" pk a enable b
is "b is enabled" "$(peer_state a b)" enabled

check "a stops cleanly" stop_node a
check "b stops cleanly" stop_node b
done_testing
