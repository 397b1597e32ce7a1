#!/bin/sh
# labels.sh: a peer's key=value labels, set by the operator ("peerkey peer
# label"): canonical (sorted, one space), shown by status and peer list,
# one "labels" event per change, kept across a restart; every limit of
# labels.h refused with a message naming it, and nothing changed.
_title="peer labels: set, remove, show, limits, restart"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/node/lib.sh"

start_node a || fatal "cannot start node a"
add_peer a b
add_peer a c

is "$(pk a peer label b zone=a rack=r3)" "b: rack=r3 zone=a" \
    "set two labels: answered sorted by key"
is "$(peer_json a b | jq -c .labels)" '{"rack":"r3","zone":"a"}' \
    "status -j: labels as an object"
like "$(pk a status)" 'LABELS' "status has a LABELS column"
like "$(pk a status | grep '^b ')" 'rack=r3 zone=a' "...with b's labels"
like "$(pk a peer list)" '  labels rack=r3 zone=a' "peer list shows them"
is "$(pk a peer label b zone=b,rack=)" "b: zone=b" \
    "change one, remove the other (commas separate too)"
is "$(pk a peer label b)" "b: zone=b" "no words: the labels as they are"
is "$(count_events a b labels)" 2 "one event per change, none for no change"
like "$(events a b labels | tail -n 1)" "zone=b by " \
    "the event says the labels and who set them"
is "$(peer_json a c | jq -c .labels)" '{}' "c has none"

# bad BAD MESSAGE WHAT: refused (exit non-zero), saying MESSAGE.
bad() {
	out=$(pk a peer label b "$1" 2>&1) && fail "$3: accepted" ||
	    like "$out" "$2" "$3: refused"
}
bad 'Zone=a' 'a label is KEY=VALUE' "a key with a capital"
bad '1zone=a' 'beginning with a letter' "a key beginning with a digit"
bad 'zone' 'label "zone"' "a word without ="
bad 'zone=a/b' 'label "zone=a/b"' "a value with /"
bad "$(printf 'k%032d=v' 0)" 'KEY=VALUE' "a 33-byte key"
bad "zone=$(printf '%065d' 0)" 'KEY=VALUE' "a 65-byte value"
bad 'zone=a zone=b' 'given twice' "a key twice"
bad 'a=1 b=2 c=3 d=4 e=5 f=6 g=7 h=8' 'at most 8 labels' \
    "a ninth label (zone is the first)"
out=$(pk a -j status | jq -c '.peers[] | select(.name == "b") | .labels')
is "$out" '{"zone":"b"}' "after every refusal b's labels are unchanged"

pk a peer label c rack=r1 >/dev/null
ok 'stop_node a' "a stops"
ok 'restart_node a' "a starts again"
is "$(peer_json a b | jq -c .labels):$(peer_json a c | jq -c .labels)" \
    '{"zone":"b"}:{"rack":"r1"}' "labels are kept across a restart"
ok 'stop_node a' "a stops cleanly"
finish
