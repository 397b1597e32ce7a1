#!/bin/sh
# config.sh: the configuration and the process life cycle. "peerkeyd -n"
# says "configuration OK" or names file:line and the bad value for each
# kind of mistake; a SIGHUP with a bad file keeps the running
# configuration and says why, a good one applies; SIGTERM and SIGINT stop
# cleanly and save; a database from a newer peerkeyd is refused.
_title="peerkeyd -n, SIGHUP reload, SIGTERM, a database from the future"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/node/lib.sh"

start_node a limits.max-frame=4k || bail "cannot start node a"
A=$(node_addr a)
C=$TEST_DIR/a/peerkeyd.conf
is "peerkeyd -n: a good file" "$("$PEERKEYD" -n -f "$C" 2>&1)" \
    "configuration OK"

# bad LABEL PATTERN EDIT...: a copy of the good file changed by the sed
# EDITs; peerkeyd -n exits 1 with a message that matches PATTERN, in
# which @ stands for "FILE:LINE" of the line that holds the mistake
# (marked "# BAD" by the edit).
bad() {
	_label=$1
	_pat=$2
	shift 2
	cp "$C" "$TEST_DIR/bad.conf"
	for _e in "$@"; do
		sed -i "$_e" "$TEST_DIR/bad.conf"
	done
	_line=$(grep -n '# BAD' "$TEST_DIR/bad.conf" | cut -d: -f1)
	sed -i 's/ *# BAD$//' "$TEST_DIR/bad.conf"
	_out=$("$PEERKEYD" -n -f "$TEST_DIR/bad.conf" 2>&1)
	_st=$?
	_pat=$(printf '%s' "$_pat" |
	    sed "s|@|$TEST_DIR/bad.conf:${_line:-?}|")
	is "-n, $_label: exit 1" "$_st" 1
	like "-n, $_label: the message says where and what" "$_out" "$_pat"
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
bad "timeout shorter than interval" \
    'bad.conf: liveness timeout \(2000 ms\) is shorter than the interval' \
    's/^timeout = .*/timeout = 2s/' 's/^interval = .*/interval = 5s/'
bad "an unknown control group" 'control-group.*no-such-group.*no such group' \
    's/^\[node\]/[node]\ncontrol-group = no-such-group # BAD/'
bad "a missing node key" "$TEST_DIR/nokey: " \
    "s|^key = .*|key = $TEST_DIR/nokey|"
cp "$TEST_DIR/a/node.key" "$TEST_DIR/open.key"
chmod 644 "$TEST_DIR/open.key"
bad "a node key others may read" "$TEST_DIR/open.key: " \
    "s|^key = .*|key = $TEST_DIR/open.key|"
out=$("$PEERKEYD" -n -f "$TEST_DIR/none.conf" 2>&1)
is "-n, a missing file: exit 1" "$?" 1
like "-n, a missing file: named" "$out" "none.conf: no such file"

# --- SIGHUP ---------------------------------------------------------------------
add_peer a p --timeout 120s
head -c 5000 /dev/zero | tr '\0' x > "$TEST_DIR/big"
like "max-frame 4k: a 5000-byte deposit is too large" \
    "$(deposit a p big "$TEST_DIR/big")" "^error 4 "
hup() {
	_n0=$(grep -c "$1" "$(node_log a)")
	kill -HUP "$(node_pid a)"
	_hup_seen() {
		[ "$(grep -c "$1" "$(node_log a)")" -gt "$_n0" ]
	}
	wait_for 20 _hup_seen "$1"
}
cp "$C" "$TEST_DIR/good.conf"
sed -i 's/^max-frame = .*/max-frame = 64k/; s/^idle-timeout.*//' "$C"
sed -i 's/^\[limits\]/[limits]\nidle-timeout = forever/' "$C"
check "SIGHUP with a bad file: logged, running configuration kept" \
    hup 'reload: .*idle-timeout: "forever" is not a duration.*keeping the running configuration'
like "...the bad line is named" \
    "$(grep 'keeping the running' "$(node_log a)" | tail -n 1)" \
    "peerkeyd.conf:[0-9]+: idle-timeout"
like "...max-frame is still 4k" "$(deposit a p big "$TEST_DIR/big")" \
    "^error 4 "
is "...and the node serves" "$(heartbeat_in a p)" heartbeat-reply
sed -i 's/^idle-timeout = forever//' "$C"
check "SIGHUP with a good file applies it" hup 'reload: done'
is "...max-frame is now 64k" "$(deposit a p big "$TEST_DIR/big")" \
    "ack DEPOSIT"

# --- SIGTERM and SIGINT: clean stop, state saved --------------------------------------
t0=$(($(date +%s%N) / 1000000))
check "SIGTERM: exit 0" stop_node a
check "...logged" log_has a "received SIGTERM, stopping"
check "...to the end" log_has a "stopped$"
DB=$TEST_DIR/a/state/peerkey.db
alive=$(sqlite3 "$DB" 'SELECT alive_at FROM self')
check "...the alive mark was saved at the stop" test "$alive" -ge "$t0"
rem=$(sqlite3 "$DB" "SELECT remaining_ms FROM peers WHERE name = 'p'")
check "...and p's remaining time ($rem ms)" \
    test "$rem" -gt 0 -a "$rem" -le 120000
is "...integrity_check" "$(sqlite3 "$DB" 'PRAGMA integrity_check')" ok
check "the control socket file is gone" test ! -e "$TEST_DIR/a/run/control.sock"
check "a starts again" restart_node a
kill -INT "$(node_pid a)"
wait "$(node_pid a)"
is "SIGINT: exit 0" "$?" 0
_forget "$(node_pid a)"

# --- a database from a newer peerkeyd ------------------------------------------------
sqlite3 "$DB" 'PRAGMA user_version = 99'
"$PEERKEYD" -d -f "$C" > "$TEST_DIR/future.out" 2>&1 &
fpid=$!
track $fpid
wait $fpid
is "a database from the future: refused (exit 1)" "$?" 1
like "...with a clear error" "$(cat "$TEST_DIR/future.out")" \
    "peerkey.db: database schema 99 is newer than this peerkeyd"
is "...and left untouched" "$(sqlite3 "$DB" 'PRAGMA user_version')" 99
done_testing
