#!/bin/sh
# config.sh: the configuration and the process life cycle. "peerkeyd -n"
# says "configuration OK" or names file:line and the bad value for each
# kind of mistake; a SIGHUP with a bad file keeps the running
# configuration and says why, a good one applies; SIGTERM and SIGINT stop
# cleanly and save; a database from a newer peerkeyd is refused.
_title="peerkeyd -n, SIGHUP reload, SIGTERM, a database from the future"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/node/lib.sh"

start_node a limits.max-frame=4k || fatal "cannot start node a"
A=$(node_addr a)
C=$W/a/peerkeyd.conf
is "$("$PEERKEYD" -n -f "$C" 2>&1)" "configuration OK" \
    "peerkeyd -n: a good file"

# bad LABEL PATTERN EDIT...: a copy of the good file changed by the sed
# EDITs; peerkeyd -n exits 1 with a message that matches PATTERN, in
# which @ stands for "FILE:LINE" of the line that holds the mistake
# (marked "# BAD" by the edit).
bad() {
	_label=$1
	_pat=$2
	shift 2
	cp "$C" "$W/bad.conf"
	for _e in "$@"; do
		sed -i "$_e" "$W/bad.conf"
	done
	_line=$(grep -n '# BAD' "$W/bad.conf" | cut -d: -f1)
	sed -i 's/ *# BAD$//' "$W/bad.conf"
	_out=$("$PEERKEYD" -n -f "$W/bad.conf" 2>&1)
	_st=$?
	_pat=$(printf '%s' "$_pat" |
	    sed "s|@|$W/bad.conf:${_line:-?}|")
	is "$_st" 1 "-n, $_label: exit 1"
	like "$_out" "$_pat" "-n, $_label: the message says where and what"
}

bad "a bad duration" '@: line-timeout: "10q" is not a duration' \
    's/^line-timeout = .*/line-timeout = 10q # BAD/'
bad "a port out of range" '@: port: "70000"' \
    's/^port = .*/port = 70000 # BAD/'
bad "a size under its minimum" '@: max-frame: "12" is below the minimum 1k' \
    's/^max-frame = .*/max-frame = 12 # BAD/'
bad "a bad boolean" '@: enable: "maybe" is not a boolean' \
    's/^enable = no/enable = maybe # BAD/'
bad "a bad log level" '@: log-level: "loud"' \
    's/^log-level = .*/log-level = loud # BAD/'
bad "a relative path" '@: state-directory: "state" is not an absolute path' \
    's/^state-directory = .*/state-directory = state # BAD/'
bad "an unknown key" '@: unknown key "colour" in section \[node\]' \
    's/^\[node\]/[node]\ncolour = blue # BAD/'
bad "an unknown section" '@: unknown section' \
    's/^\[limits\]/[limitz] # BAD/'
bad "a key given twice" '@: .*port' \
    's/^\(port = .*\)/\1\nport = 1 # BAD/'
bad "a line that is no key" '@: ' \
    's/^\[node\]/[node]\nthis is not a key # BAD/'
# An indented key is not joined to the value above ("name = a port =
# 4999" before): refused, where it is.
bad "an indented key" '@: an indented line \("port = 4999"\): start keys' \
    's/^\(port = .*\)/  port = 4999 # BAD/'
bad "timeout shorter than interval" \
    'bad.conf: liveness timeout \(2000 ms\) is shorter than the interval' \
    's/^timeout = .*/timeout = 2s/' 's/^interval = .*/interval = 5s/'
bad "an unknown control group" 'control-group.*no-such-group.*no such group' \
    's/^\[node\]/[node]\ncontrol-group = no-such-group # BAD/'
bad "a missing node key" "$W/nokey: " \
    "s|^key = .*|key = $W/nokey|"
cp "$W/a/node.key" "$W/open.key"
chmod 644 "$W/open.key"
bad "a node key others may read" "$W/open.key: " \
    "s|^key = .*|key = $W/open.key|"
out=$("$PEERKEYD" -n -f "$W/none.conf" 2>&1)
is "$?" 1 "-n, a missing file: exit 1"
like "$out" "none.conf: no such file" "-n, a missing file: named"

# --- SIGHUP ---------------------------------------------------------------------
add_peer a p --timeout 120s
head -c 5000 /dev/zero | tr '\0' x > "$W/big"
like "$(deposit a p big "$W/big")" "^error 4 " \
    "max-frame 4k: a 5000-byte deposit is too large"
hup() {
	_hup_pat=$1
	_n0=$(grep -c "$_hup_pat" "$(node_log a)")
	kill -HUP "$(node_pid a)"
	wait_for '[ "$(grep -c "$_hup_pat" "$(node_log a)")" -gt "$_n0" ]' 20
}
cp "$C" "$W/good.conf"
sed -i 's/^max-frame = .*/max-frame = 64k/; s/^idle-timeout.*//' "$C"
sed -i 's/^\[limits\]/[limits]\nidle-timeout = forever/' "$C"
pat='reload: .*idle-timeout: "forever" is not a duration'
pat="$pat.*keeping the running configuration"
ok 'hup "$pat"' \
    "SIGHUP with a bad file: logged, running configuration kept"
like "$(grep 'keeping the running' "$(node_log a)" | tail -n 1)" \
    "peerkeyd.conf:[0-9]+: idle-timeout" "...the bad line is named"
like "$(deposit a p big "$W/big")" "^error 4 " \
    "...max-frame is still 4k"
is "$(heartbeat_in a p)" heartbeat-reply "...and the node serves"
sed -i 's/^idle-timeout = forever//' "$C"
ok "hup 'reload: done'" "SIGHUP with a good file applies it"
is "$(deposit a p big "$W/big")" "ack DEPOSIT" \
    "...max-frame is now 64k"

# --- SIGTERM and SIGINT: clean stop, state saved --------------------------------------
t0=$(($(date +%s%N) / 1000000))
ok 'stop_node a' "SIGTERM: exit 0"
ok 'log_has a "received SIGTERM, stopping"' "...logged"
ok 'log_has a "stopped$"' "...to the end"
DB=$W/a/state/peerkey.db
alive=$(sqlite3 "$DB" 'SELECT alive_at FROM self')
ok 'test "$alive" -ge "$t0"' "...the alive mark was saved at the stop"
rem=$(sqlite3 "$DB" "SELECT remaining_ms FROM peers WHERE name = 'p'")
ok 'test "$rem" -gt 0 -a "$rem" -le 120000' \
    "...and p's remaining time ($rem ms)"
is "$(sqlite3 "$DB" 'PRAGMA integrity_check')" ok "...integrity_check"
ok 'test ! -e "$W/a/run/control.sock"' \
    "the control socket file is gone"
ok 'restart_node a' "a starts again"
stop "$(node_pid a)" INT
is "$?" 0 "SIGINT: exit 0"

# --- a database from a newer peerkeyd ------------------------------------------------
sqlite3 "$DB" 'PRAGMA user_version = 99'
spawn future "$PEERKEYD" -d -f "$C"
wait $!
is "$?" 1 "a database from the future: refused (exit 1)"
like "$(cat "$W/future.log")" \
    "peerkey.db: database schema 99 is newer than this peerkeyd" \
    "...with a clear error"
is "$(sqlite3 "$DB" 'PRAGMA user_version')" 99 "...and left untouched"
finish
