#!/bin/sh
# unlock-policy.sh: an unlock is allowed or refused in every state and
# policy, natively and over Mandos protocol 1, and every decision is an
# audit event.
_title="unlock allowed or refused in every state and policy (native and Mandos)"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/node/lib.sh"

start_node a || fatal "cannot start node a"
A=$(node_addr a)
B=$W/blob
blob "$B" "-----BEGIN PGP MESSAGE----- stand-in ciphertext"

# --- enabled, unknown, nothing deposited --------------------------------
add_peer a en --timeout 60s --extended-timeout 40s
deposit a en disk1 "$B" >/dev/null
add_peer a noblob --timeout 60s
keygen "$W/stranger.boot" >/dev/null

is "$(unlock a en)" "released 1" "enabled peer with a blob: released"
out=$(pktool unlock "$W/en.boot" "$A" | tail -n 1)
is "$(echo "$out" | cut -d' ' -f2 | base64 -d)" "$(cat "$B")" \
    "the blob released is the one deposited"
add_peer a ext --timeout 5s --extended-timeout 40s
deposit a ext disk1 "$B" >/dev/null
is "$(unlock a ext)" "released 1" "peer with a short timeout: released"
like "$(peer_field a ext expires_in_ms)" '^(3[0-9]|40)[0-9]{3}$' \
    "a release grants the extended timeout"
is "$(pktool unlock "$W/stranger.boot" "$A")" \
    "refused unknown boot key" "unknown boot key: refused"
is "$(unlock a noblob)" "refused nothing deposited" \
    "known peer, nothing deposited: refused"

# --- disabled by timeout, re-enabled by its node key ----------------------
add_peer a short --timeout 1s
deposit a short disk1 "$B" >/dev/null
ok 'wait_for "state_is a short disabled" 10' \
    "a peer unseen past its timeout is disabled"
is "$(unlock a short)" "refused disabled" "disabled by timeout: refused"
like "$(events a short disabled)" "unseen for longer than its timeout" \
    "the disable is an event with its reason"
is "$(heartbeat_in a short)" "heartbeat-reply" \
    "heartbeat from its node key answered"
is "$(peer_state a short)" enabled \
    "a heartbeat from its node key re-enables it"
is "$(unlock a short)" "released 1" "re-enabled: released"

# --- disabled by an operator --------------------------------------------
add_peer a op --timeout 60s
deposit a op disk1 "$B" >/dev/null
ok 'pk a disable op' "operator disable"
is "$(unlock a op)" "refused disabled" "disabled by operator: refused"
heartbeat_in a op >/dev/null
is "$(peer_state a op)" disabled-by-operator \
    "a heartbeat does not undo an operator's disable"
is "$(unlock a op)" "refused disabled" "still refused after the heartbeat"
ok 'pk a enable op' "operator enable"
is "$(unlock a op)" "released 1" "enabled by operator: released"

# --- planned-reboot notice required -------------------------------------
add_peer a ntc --timeout 60s --require-notice
deposit a ntc disk1 "$B" >/dev/null
is "$(unlock a ntc)" "refused no reboot notice" \
    "require-notice without a notice: refused"
is "$(pktool notice "$W/ntc.node" "$A" 2 "kernel update")" "ack NOTICE" \
    "a NOTICE from its node key is acknowledged"
is "$(unlock a ntc)" "released 1" \
    "require-notice with a valid notice: released"
ok 'wait_for "field_is a ntc notice_valid_ms 0" 10' \
    "the notice window runs out"
is "$(unlock a ntc)" "refused no reboot notice" \
    "require-notice after the window: refused"
keygen "$W/other.node" >/dev/null
like "$(pktool notice "$W/other.node" "$A" 60 x)" "^error 3 " \
    "a NOTICE from a key that is no peer's is refused"
is "$(unlock a ntc)" "refused no reboot notice" \
    "...and gives no notice to anyone"

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
is "$(unlock a ap)" "refused pending approval" "approval required: pending"
is "$(peer_field a ap pending_approval)" true "pending shows in status"
is "$(unlock a ap)" "refused pending approval" \
    "asking again while pending: still pending"
ok 'pk a approve ap' "operator approves"
is "$(unlock a ap)" "released 1" "approved: released"
is "$(count_events a ap approval-pending)" 1 "approval-pending was an event"

is "$(unlock a dn)" "refused pending approval" \
    "approval required: pending (to be denied)"
ok 'pk a deny dn' "operator denies"
is "$(unlock a dn)" "refused denied" "denied: refused"

is "$(unlock a dfa)" "refused pending approval" \
    "default approve: pending first"
is "$(unlock a dfd)" "refused pending approval" "default deny: pending first"
sleep 1.2
is "$(unlock a dfa)" "released 1" \
    "the delay passes with default approve: released"
is "$(unlock a dfd)" "refused denied" \
    "the delay passes with default deny: denied"
like "$(events a dfd denied)" "by default" "the default decision is an event"

# --- Mandos protocol 1 ----------------------------------------------------
pktool mandos "$W/en.boot" "$A" > "$W/m.out" 2>"$W/m.err"
is "$?" 0 "Mandos client, enabled peer: exit 0"
signed en disk1 "$B" >"$W/en.sblob"
ok 'cmp -s "$W/m.out" "$W/en.sblob"' \
    "Mandos client gets exactly the stored message (the signed blob)"

for k in stranger.boot op.boot noblob.boot short.boot; do
	case $k in
	op.boot) pk a disable op ;;
	short.boot) pk a peer set short --timeout 1s; heartbeat_in a short \
	    >/dev/null; wait_for 'state_is a short disabled' 10 ;;
	esac
	pktool mandos "$W/$k" "$A" > "$W/m.out" \
	    2>"$W/m.err"
	st=$?
	is "$st:$(wc -c < "$W/m.out")" "1:0" \
	    "Mandos client refused ($k): zero bytes and a clean close"
done
like "$(events a op refused | tail -n 1)" "disabled \(mandos\)" \
    "Mandos refusals are events with the reason"

# held_mandos PEER WHAT: PEER needs approval; a Mandos client of its boot
# key connects and must be held (its pid in $hpid).
held_mandos() {
	add_peer a "$1" --timeout 60s --approval-delay 30s \
	    --approval-duration 30s
	deposit a "$1" disk1 "$B" >/dev/null
	pktool_bg "$W/$1.out" mandos "$W/$1.boot" "$A"
	hpid=$bgpid
	held="peer $1: Mandos client at .* waits for approval"
	ok 'wait_for "log_has a \"\$held\"" 20' "$2"
}

# A Mandos client is held while approval is pending, as Mandos does.
held_mandos map "a Mandos client waiting for approval is held"
ok 'kill -0 $hpid' "...still connected"
pk a approve map
wait $hpid
rc=$?
signed map disk1 "$B" >"$W/map.sblob"
ok '[ $rc = 0 ] && cmp -s "$W/map.out" "$W/map.sblob"' \
    "...and gets the blob once approved"

# A held Mandos client that hangs up is noticed at once, not when the
# decision comes; approving afterwards releases nothing to anyone.
held_mandos mgone "a second Mandos client is held for approval"
stop $hpid
gone="Mandos client at .* hung up while waiting for approval"
ok 'wait_for "log_has a \"\$gone\"" 10' \
    "its hang-up is logged while approval is still pending"
is "$(peer_field a mgone pending_approval)" true \
    "...the peer still awaits a decision"
pk a approve mgone
is "$(count_events a mgone released)" 0 \
    "...and approving it then releases nothing"

# --- the audit log -------------------------------------------------------
like "$(pk a -j events --peer en --kind released | jq -r '.events[0].address')" \
    '^127\.0\.0\.1:[0-9]+$' "releases are events naming the client's address"
like "$(pk a -j events --kind refused | jq -r '.events[].detail')" \
    "unknown boot key $(keyid "$W/stranger.boot")" \
    "an unknown key's refusal is an event naming the key"

ok 'stop_node a' "node a stops cleanly"
finish
