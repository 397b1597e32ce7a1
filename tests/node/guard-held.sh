#!/bin/sh
# guard-held.sh: liveness.guard = held (the default). Node a knows two
# real nodes, b and c, and holds nothing of either: it heartbeats neither
# (their received-heartbeat counters stay 0), calls them "unguarded" and
# never times them out. A DEPOSIT from b's node key starts guarding b at
# once (a proof of life: enabled, then heartbeats), c stays unguarded; the
# withdraw of b's last blob stops it again; a restart keeps the rule; an
# operator's put-blob starts the checks of c at once.
_title="a node guards what it holds, and only that"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/node/lib.sh"

start_node a liveness.guard=held || fatal "cannot start node a"
start_node b || fatal "cannot start node b"
start_node c || fatal "cannot start node c"
for n in b c; do
	keygen "$W/$n.boot" >/dev/null
	cp "$W/$n/node.key" "$W/$n.node"
	pk a peer add "$n" --boot-key "$(keyid "$W/$n.boot")" \
	    --node-key "$(node_keyid "$n")" --address "$(node_addr "$n")" \
	    --timeout 3s --interval 300ms --extended-timeout 1s
	# n knows a (so answers its heartbeats) and has no address to call.
	pk "$n" peer add a --node-key "$(node_keyid a)" \
	    --boot-key "$(printf '%064d' 0)"
done
B=$W/blob
blob "$B" "stand-in ciphertext"

# received NODE: heartbeats NODE has received (its metrics).
received() {
	pk "$1" metrics | awk '$1 == "peerkey_heartbeats_received_total" {
	    print $2 }'
}
# sent NODE: heartbeats NODE has sent, ok or failed.
sent() {
	pk "$1" metrics | awk '$1 ~ /^peerkey_heartbeats_total/ { n += $2 }
	    END { print n + 0 }'
}
at_least() {
	[ "$(received "$1")" -ge "$2" ]
}

# --- nothing held: nothing sent ------------------------------------------
sleep 4		# beyond the 3s timeout, a dozen intervals
is "$(received b):$(received c):$(sent a)" "0:0:0" \
    "a holds nothing: b and c receive no heartbeat, a sends none"
is "$(peer_state a b):$(peer_state a c)" "unguarded:unguarded" \
    "both are unguarded on a"
is "$(count_events a b disabled)" 0 \
    "an unguarded peer is never disabled by timeout"
is "$(unlock a c)" "refused nothing deposited" \
    "an unlock of an unguarded peer: refused, nothing deposited"
like "$(pk a metrics)" 'peerkey_peers\{state="unguarded"\} 2' \
    "metrics count them"
ok 'quiet heartbeat_in a c' "a heartbeat from c is still answered"

# --- a DEPOSIT from b's node key: guarded at once ------------------------
ok 'quiet deposit a b disk1 "$B"' "b deposits a blob with a"
is "$(peer_state a b)" enabled "b is enabled at once (the deposit proved it)"
like "$(events a b check-ok; events a b enabled)" deposit \
    "...recorded as a deposit from its node key"
ok 'wait_for "at_least b 3" 20' "a heartbeats b now"
ok 'log_has a "peer b: guarded from now on"' "a says it guards b"
is "$(received c)" 0 "c, of which a holds nothing, still receives none"
is "$(peer_state a c)" unguarded "c is still unguarded"

# --- withdraw b's only blob: unguarded again ------------------------------
ok 'quiet pktool withdraw "$W/b.node" "$(node_addr a)" disk1' \
    "b withdraws its blob"
is "$(peer_state a b)" unguarded "b is unguarded again"
sleep 0.5
n=$(received b)
sleep 2
is "$(received b)" "$n" "no heartbeat to b since"

# --- a restart keeps the rule --------------------------------------------
ok 'quiet deposit a b disk1 "$B"' "b deposits again"
ok 'stop_node a' "a stops"
ok 'restart_node a' "a starts again"
b0=$(received b)
c0=$(received c)
ok 'wait_for "at_least b $((b0 + 2))" 20' "after the restart, a heartbeats b"
is "$(received c)" "$c0" "...and not c"
is "$(peer_state a c)" unguarded "c is unguarded after the restart"

# --- an operator's put-blob: the checks begin at once ---------------------
ok 'quiet pk a peer put-blob c disk1 "$B"' "the operator puts a blob for c"
ok 'wait_for "at_least c $((c0 + 1))" 5' "a heartbeats c at once"
ok 'wait_for "state_is a c enabled" 10' "c is enabled by its first check"

ok 'stop_node a' "a stops cleanly"
ok 'stop_node b' "b stops cleanly"
ok 'stop_node c' "c stops cleanly"
finish
