#!/bin/sh
# monitor.sh: "peerkey monitor" in a real terminal (tmux: send-keys,
# capture-pane): the peer table and the events, fed by the control
# socket's subscription; keys enable and disable the selected peer, and
# the view follows; q quits. Not on a terminal: one line per event.
_title="peerkey monitor: a live view in tmux, a line stream in a pipe"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/node/lib.sh"

command -v tmux >/dev/null 2>&1 || fatal "needs tmux (dev.sh deps)"
start_node a || fatal "cannot start node a"
add_peer a off
add_peer a on
pk a disable off
SOCK=$W/a/run/control.sock
T="tmux -S $W/tmux.sock"
at_exit "$T kill-server 2>/dev/null || :"

# screen: what the monitor's terminal shows now.
screen() {
	$T capture-pane -p -t mon
}
# shows PATTERN: the screen matches PATTERN (grep -E), within 20 s.
shows() {
	_pat=$1
	wait_for 'screen | grep -Eq -- "$_pat"' 20
}

$T new-session -d -s mon -x 150 -y 40 \
    "ASAN_OPTIONS=$TOOL_ASAN_OPTIONS $PEERKEY -s $SOCK monitor; sleep 30"
ok 'shows "^peerkey monitor: node a"' "the monitor starts, naming the node"
ok 'shows "^> off +disabled-by-operator"' \
    "the table: off, disabled by the operator, selected"
ok 'shows "^  on +enabled"' "...and on, enabled"

$T send-keys -t mon e
ok 'wait_for "state_is a off enabled" 20' "e: the selected peer is enabled"
ok 'shows "^> off +enabled"' "...and the table says so"
ok 'shows "enable off: done"' "...the answer on the last line"
ok 'shows "  off +enabled "' "...the event beneath"

$T send-keys -t mon j
ok 'shows "^> on "' "j: the next peer is selected"
$T send-keys -t mon x
ok 'wait_for "state_is a on disabled-by-operator" 20' "x: it is disabled"
ok 'shows "^> on +disabled-by-operator"' "...and the table follows"
pk a enable on
ok 'shows "^> on +enabled"' "a change made elsewhere shows too"

$T send-keys -t mon q
ok 'wait_for "! screen | grep -q \"^peerkey monitor\"" 20' \
    "q: the monitor quits, the terminal restored"

# Not a terminal: a line per event.
spawn -o "$W/stream" monitor "$PEERKEY" -s "$SOCK" monitor
sleep 1
pk a disable on
ok 'wait_for "grep -Eq \"  on +disabled +operator\" \"$W/stream\"" 20' \
    "in a pipe: one line per event, as peerkey events prints it"
ok '! grep -q "$(printf "\033")" "$W/stream"' "...and no terminal codes"
stop "$PID_monitor" >/dev/null 2>&1 || :

finish
