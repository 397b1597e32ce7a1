#!/bin/sh
# clock-jump.sh: peerkeyd runs under libfaketime with the monotonic clock
# left alone; its wall clock jumps a day forward, then a day back (also
# across a restart). No peer is enabled or disabled by it, remaining
# times do not change, and a peer with a short timeout still expires on
# the monotonic clock.
_title="a wall-clock jump (libfaketime) enables and disables no one"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/node/lib.sh"

FAKETIME_LIB=
for f in /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 \
    /usr/lib/faketime/libfaketime.so.1 /usr/lib64/faketime/libfaketime.so.1; do
	[ -f "$f" ] && FAKETIME_LIB=$f && break
done
[ -n "$FAKETIME_LIB" ] || skip "needs libfaketime (package faketime)"

FT=$W/faketime
echo "+0" > "$FT"
# ASan wants to be first in the library list; libfaketime is preloaded.
NODE_WRAP="env LD_PRELOAD=$FAKETIME_LIB FAKETIME_TIMESTAMP_FILE=$FT \
FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1 \
ASAN_OPTIONS=$ASAN_OPTIONS:verify_asan_link_order=0"

start_node a || fatal "cannot start node a under libfaketime"
add_peers_with_blob a en=60s dis=1s op=60s
add_peer a probe --timeout 60s
pk a disable op
ok 'wait_for "state_is a dis disabled" 10' "dis is disabled by its timeout"

states() {
	pk a -j status | jq -r '.peers[] | "\(.name)=\(.state)"' | sort |
	    tr '\n' ' '
}
want="dis=disabled en=enabled op=disabled-by-operator probe=enabled "
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}
# skew: the daemon's wall clock minus ours, in hours (from an event it
# records with its own clock: a deposit).
skew_h() {
	n=$(date +%s%N)
	blob "$W/p" "probe $n"
	deposit a probe "p$n" "$W/p" >/dev/null
	at=$(pk a -j events --peer probe --kind deposited |
	    jq --arg d "blob p$n " '.events[] | select(.detail | startswith($d)) | .at')
	awk -v d=$((at - $(now_ms))) 'BEGIN { printf "%d\n", \
	    (d < 0 ? d - 1800000 : d + 1800000) / 3600000 }'
}
is "$(skew_h)" 0 "no skew at first"

# jump SPEC LABEL: sets the fake wall clock, then checks.
jump() {
	before=$(peer_field a en expires_in_ms)
	echo "$1" > "$FT"
	is "$(skew_h)" "$3" "$2: the daemon's wall clock moved"
	sleep 1.5		# several expiry ticks
	is "$(states)" "$want" "$2: every state unchanged"
	left=$(peer_field a en expires_in_ms)
	ok 'test "$left" -le "$before" -a "$left" -gt $((before - 10000))' \
	    "$2: remaining time only ran down"
	is "$(unlock a en)" "released 1" "$2: the enabled peer is released"
	is "$(unlock a dis)" "refused disabled" \
	    "$2: the disabled peer is refused"
}

jump "+1d" "a day forward" 24
jump "-1d" "a day back" -24
# The audit log after the clock went back: a limit keeps the events
# recorded last (the refusal just made), not those with the latest time.
is "$(pk a -j events --limit 1 | jq -c '.events[0] | [.id, .kind, .peer]')" \
    "$(pk a -j events | jq -c '.events | max_by(.id) | [.id, .kind, .peer]')" \
    "a day back: events --limit 1 is the newest recorded"
is "$(pk a -j events --limit 1 | jq -r '.events[0] | "\(.kind) \(.peer)"')" \
    "refused dis" "...which is the refusal just made"

# A short timeout set now still runs out on the monotonic clock, not on
# the wall clock: the peer is enabled at once and disabled later.
add_peer a tm --timeout 3s
heartbeat_in a tm >/dev/null
echo "+1d" > "$FT"
is "$(peer_state a tm)" enabled \
    "a 3s peer, after a heartbeat and a jump forward: enabled"
ok 'wait_for "state_is a tm disabled" 15' \
    "...and disabled once 3s have really passed"
pk a remove --yes tm >/dev/null

# Across a restart: stopped at +1d, started at -1d.
ok 'stop_node a' "stops cleanly at +1d"
echo "-1d" > "$FT"
ok 'restart_node a' "starts again at -1d"
is "$(states)" "$want" "every state unchanged across the restart"
echo "+0" > "$FT"

ok 'stop_node a' "a stops cleanly"
finish
