#!/bin/sh
# unlock-policy.sh: an unlock is allowed or refused in every state and
# policy, natively and over Mandos protocol 1, and every decision is an
# audit event.
_title="unlock allowed or refused in every state and policy (native and Mandos)"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/node/lib.sh"

start_node a || bail "cannot start node a"
A=$(node_addr a)
B=$TEST_DIR/blob
blob "$B" "-----BEGIN PGP MESSAGE----- stand-in ciphertext"

# --- enabled, unknown, nothing deposited --------------------------------
add_peer a en --timeout 60s --extended-timeout 40s
deposit a en disk1 "$B" >/dev/null
add_peer a noblob --timeout 60s
keygen "$TEST_DIR/stranger.boot" >/dev/null

is "enabled peer with a blob: released" "$(unlock a en)" "released 1"
out=$(pktool unlock "$TEST_DIR/en.boot" "$A" | tail -n 1)
is "the blob released is the one deposited" \
    "$(echo "$out" | cut -d' ' -f2 | base64 -d)" "$(cat "$B")"
add_peer a ext --timeout 5s --extended-timeout 40s
deposit a ext disk1 "$B" >/dev/null
is "peer with a short timeout: released" "$(unlock a ext)" "released 1"
like "a release grants the extended timeout" \
    "$(peer_field a ext expires_in_ms)" '^(3[0-9]|40)[0-9]{3}$'
is "unknown boot key: refused" \
    "$(pktool unlock "$TEST_DIR/stranger.boot" "$A")" \
    "refused unknown boot key"
is "known peer, nothing deposited: refused" "$(unlock a noblob)" \
    "refused nothing deposited"

# --- disabled by timeout, re-enabled by its node key ----------------------
add_peer a short --timeout 1s
deposit a short disk1 "$B" >/dev/null
check "a peer unseen past its timeout is disabled" \
    wait_for 10 state_is a short disabled
is "disabled by timeout: refused" "$(unlock a short)" "refused disabled"
like "the disable is an event with its reason" \
    "$(events a short disabled)" "unseen for longer than its timeout"
is "heartbeat from its node key answered" "$(heartbeat_in a short)" \
    "heartbeat-reply"
is "a heartbeat from its node key re-enables it" "$(peer_state a short)" \
    enabled
is "re-enabled: released" "$(unlock a short)" "released 1"

# --- disabled by an operator --------------------------------------------
add_peer a op --timeout 60s
deposit a op disk1 "$B" >/dev/null
check "operator disable" pk a disable op
is "disabled by operator: refused" "$(unlock a op)" "refused disabled"
heartbeat_in a op >/dev/null
is "a heartbeat does not undo an operator's disable" "$(peer_state a op)" \
    disabled-by-operator
is "still refused after the heartbeat" "$(unlock a op)" "refused disabled"
check "operator enable" pk a enable op
is "enabled by operator: released" "$(unlock a op)" "released 1"

# --- planned-reboot notice required -------------------------------------
add_peer a ntc --timeout 60s --require-notice
deposit a ntc disk1 "$B" >/dev/null
is "require-notice without a notice: refused" "$(unlock a ntc)" \
    "refused no reboot notice"
is "a NOTICE from its node key is acknowledged" \
    "$(pktool notice "$TEST_DIR/ntc.node" "$A" 2 "kernel update")" \
    "ack NOTICE"
is "require-notice with a valid notice: released" "$(unlock a ntc)" \
    "released 1"
check "the notice window runs out" \
    wait_for 10 field_is a ntc notice_valid_ms 0
is "require-notice after the window: refused" "$(unlock a ntc)" \
    "refused no reboot notice"
keygen "$TEST_DIR/other.node" >/dev/null
like "a NOTICE from a key that is no peer's is refused" \
    "$(pktool notice "$TEST_DIR/other.node" "$A" 60 x)" "^error 3 "
is "...and gives no notice to anyone" "$(unlock a ntc)" \
    "refused no reboot notice"

# --- approval ------------------------------------------------------------
add_peer a ap --timeout 60s --approval-delay 30s --approval-duration 30s
add_peer a dn --timeout 60s --approval-delay 30s --approval-duration 30s
add_peer a dfa --timeout 60s --approval-delay 1s --approval-duration 30s \
    --approve-by-default
add_peer a dfd --timeout 60s --approval-delay 1s --approval-duration 30s \
    --deny-by-default
for p in ap dn dfa dfd; do
	deposit a $p disk1 "$B" >/dev/null
done
is "approval required: pending" "$(unlock a ap)" "refused pending approval"
is "pending shows in status" "$(peer_field a ap pending_approval)" true
is "asking again while pending: still pending" "$(unlock a ap)" \
    "refused pending approval"
check "operator approves" pk a approve ap
is "approved: released" "$(unlock a ap)" "released 1"
is "approval-pending was an event" "$(count_events a ap approval-pending)" 1

is "approval required: pending (to be denied)" "$(unlock a dn)" \
    "refused pending approval"
check "operator denies" pk a deny dn
is "denied: refused" "$(unlock a dn)" "refused denied"

is "default approve: pending first" "$(unlock a dfa)" \
    "refused pending approval"
is "default deny: pending first" "$(unlock a dfd)" \
    "refused pending approval"
sleep 1.2
is "the delay passes with default approve: released" "$(unlock a dfa)" \
    "released 1"
is "the delay passes with default deny: denied" "$(unlock a dfd)" \
    "refused denied"
like "the default decision is an event" "$(events a dfd denied)" \
    "by default"

# --- Mandos protocol 1 ----------------------------------------------------
pktool mandos "$TEST_DIR/en.boot" "$A" > "$TEST_DIR/m.out" 2>"$TEST_DIR/m.err"
is "Mandos client, enabled peer: exit 0" "$?" 0
is "Mandos client gets exactly the stored message" \
    "$(cat "$TEST_DIR/m.out")" "$(cat "$B")"

for k in stranger.boot op.boot noblob.boot short.boot; do
	case $k in
	op.boot) pk a disable op ;;
	short.boot) pk a peer set short --timeout 1s; heartbeat_in a short \
	    >/dev/null; wait_for 10 state_is a short disabled ;;
	esac
	pktool mandos "$TEST_DIR/$k" "$A" > "$TEST_DIR/m.out" \
	    2>"$TEST_DIR/m.err"
	st=$?
	is "Mandos client refused ($k): zero bytes and a clean close" \
	    "$st:$(wc -c < "$TEST_DIR/m.out")" "1:0"
done
like "Mandos refusals are events with the reason" \
    "$(events a op refused | tail -n 1)" "disabled \(mandos\)"

# held_mandos PEER WHAT: PEER needs approval; a Mandos client of its boot
# key connects and must be held (its pid in $hpid).
held_mandos() {
	add_peer a "$1" --timeout 60s --approval-delay 30s \
	    --approval-duration 30s
	deposit a "$1" disk1 "$B" >/dev/null
	pktool_bg "$TEST_DIR/$1.out" mandos "$TEST_DIR/$1.boot" "$A"
	hpid=$bgpid
	check "$2" wait_for 20 log_has a \
	    "peer $1: Mandos client at .* waits for approval"
}

# A Mandos client is held while approval is pending, as Mandos does.
held_mandos map "a Mandos client waiting for approval is held"
check "...still connected" kill -0 $hpid
pk a approve map
wait $hpid
is "...and gets the blob once approved" \
    "$?:$(cat "$TEST_DIR/map.out")" "0:$(cat "$B")"

# A held Mandos client that hangs up is noticed at once, not when the
# decision comes; approving afterwards releases nothing to anyone.
held_mandos mgone "a second Mandos client is held for approval"
kill $hpid
wait $hpid 2>/dev/null
check "its hang-up is logged while approval is still pending" \
    wait_for 10 log_has a "Mandos client at .* hung up while waiting for approval"
is "...the peer still awaits a decision" \
    "$(peer_field a mgone pending_approval)" true
pk a approve mgone
is "...and approving it then releases nothing" \
    "$(count_events a mgone released)" 0

# --- the audit log -------------------------------------------------------
like "releases are events naming the client's address" \
    "$(pk a -j events --peer en --kind released | jq -r '.[0].address')" \
    '^127\.0\.0\.1:[0-9]+$'
like "an unknown key's refusal is an event naming the key" \
    "$(pk a -j events --kind refused | jq -r '.[].detail')" \
    "unknown boot key $(keyid "$TEST_DIR/stranger.boot")"

check "node a stops cleanly" stop_node a
done_testing
