# tests/node/lib.sh: the shared driver of the daemon tests, in the style
# of OpenSSH's regress/test-exec.sh. A test sources it, then:
#
#	start_node NAME [section.key=value ...]
#		makes NAME's node key (once), writes NAME/peerkeyd.conf from
#		short test defaults plus the overrides, checks it with
#		"peerkeyd -n", starts "peerkeyd -d" (stderr to NAME/log),
#		waits for the control socket and learns the TCP port into
#		$NAME_port (also: node_port NAME). A restart reuses the port.
#	stop_node NAME		SIGTERM, wait; fails unless it exits 0
#	kill9_node NAME		SIGKILL, wait
#	restart_node NAME	start_node with the same configuration
#	pk NAME ARGS...		peerkey -s NAME's control socket ARGS
#	pktool ARGS...		the test client (tests/tools/pktool)
#	pktool_bg OUT ARGS...	the same in the background, PID in $bgpid
#	ok DESC / not_ok DESC / check DESC CMD... / is DESC GOT WANT
#	wait_for SECONDS CMD...	poll CMD until it succeeds
#	done_testing		prints the plan, exits with the result
#
# Everything a test starts is recorded by PID; the EXIT trap kills only
# those PIDs, and removes the test's directory when every test passed
# (kept, and the logs shown, otherwise). Speaks TAP.
#
# Environment: top_srcdir, top_builddir (set by make check; by hand, run
# from a build directory). NODE_WRAP: a command prefix for peerkeyd (env,
# setpriv ...) that must exec it, so that $! is the daemon's own PID.

set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
PEERKEYD=$top_builddir/src/node/peerkeyd
PEERKEY=$top_builddir/src/cli/peerkey
PKTOOL=$top_builddir/tests/tools/pktool
NODE_WRAP=${NODE_WRAP:-}

# Under ASan the daemon runs with the leak checker (a clean stop must
# free everything); the clients that exit without freeing do not.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export ASAN_OPTIONS
TOOL_ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0"

_tap_n=0
_tap_failed=0
_pids=
_title=${_title:-$(basename "$0")}

# bail MSG: the test cannot run at all.
bail() {
	echo "Bail out! $*"
	exit 1
}

for _p in "$PEERKEYD" "$PEERKEY" "$PKTOOL"; do
	[ -x "$_p" ] || bail "$_p not built (make check builds it)"
done
for _c in jq sqlite3; do
	command -v "$_c" >/dev/null 2>&1 || bail "needs $_c"
done

TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/pknode.XXXXXX") || bail "mktemp"
chmod 755 "$TEST_DIR"

# cleanup: kills the PIDs we started, shows logs on failure.
_cleanup() {
	_rc=$?
	for _p in $_pids; do
		kill -9 "$_p" 2>/dev/null
	done
	for _p in $_pids; do
		wait "$_p" 2>/dev/null
	done
	if [ "$_tap_failed" != 0 ] || [ "$_rc" != 0 ]; then
		for _l in "$TEST_DIR"/*/log; do
			[ -s "$_l" ] || continue
			echo "# --- $_l (last 60 lines)"
			tail -n 60 "$_l" | sed 's/^/#   /'
		done
		echo "# test directory kept: $TEST_DIR"
	else
		rm -rf "$TEST_DIR"
	fi
}
trap _cleanup EXIT
trap 'exit 1' INT TERM HUP

echo "# $_title"

ok() {
	_tap_n=$((_tap_n + 1))
	printf 'ok %d - %s\n' "$_tap_n" "$*"
}

not_ok() {
	_tap_n=$((_tap_n + 1))
	_tap_failed=$((_tap_failed + 1))
	printf 'not ok %d - %s\n' "$_tap_n" "$*"
}

# check DESC CMD...: ok if CMD succeeds.
check() {
	_check_desc=$1
	shift
	if "$@"; then ok "$_check_desc"; else not_ok "$_check_desc"; fi
}

# quiet CMD...: CMD without its output (for check).
quiet() {
	"$@" >/dev/null 2>&1
}

# is DESC GOT WANT: ok if the strings are equal.
is() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		printf "#   got:  '%s'\n#   want: '%s'\n" "$2" "$3"
	fi
}

# like DESC GOT PATTERN: ok if GOT matches the grep -E PATTERN.
like() {
	if printf '%s\n' "$2" | grep -Eq -- "$3"; then
		ok "$1"
	else
		not_ok "$1"
		printf "#   got:  '%s'\n#   want: /%s/\n" "$2" "$3"
	fi
}

# unlike DESC GOT PATTERN: ok if GOT does not match PATTERN.
unlike() {
	if printf '%s\n' "$2" | grep -Eq -- "$3"; then
		not_ok "$1"
		printf "#   got:  '%s'\n#   must not match: /%s/\n" "$2" "$3"
	else
		ok "$1"
	fi
}

done_testing() {
	echo "1..$_tap_n"
	[ "$_tap_failed" = 0 ] && exit 0
	exit 1
}

# wait_for SECONDS CMD...: polls CMD every 0.1 s; 1 on timeout.
wait_for() {
	_t=$(($1 * 10))
	shift
	while [ "$_t" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		_t=$((_t - 1))
	done
	return 1
}

# Runs the test client.
pktool() {
	ASAN_OPTIONS=$TOOL_ASAN_OPTIONS "$PKTOOL" "$@"
}

# pktool_bg OUT ARGS...: the test client in the background, output to
# OUT (stderr to OUT.err); its own PID (env execs it) in $bgpid, killed
# at exit.
pktool_bg() {
	_o=$1
	shift
	env ASAN_OPTIONS="$TOOL_ASAN_OPTIONS" "$PKTOOL" "$@" > "$_o" \
	    2>"$_o.err" &
	bgpid=$!
	track $bgpid
}

# pk NAME ARGS...: the peerkey command on NAME's control socket.
pk() {
	_n=$1
	shift
	ASAN_OPTIONS=$TOOL_ASAN_OPTIONS "$PEERKEY" \
	    -s "$TEST_DIR/$_n/run/control.sock" "$@"
}

node_dir() {
	echo "$TEST_DIR/$1"
}

node_pid() {
	cat "$TEST_DIR/$1/pid"
}

node_port() {
	cat "$TEST_DIR/$1/port"
}

node_addr() {
	echo "127.0.0.1:$(node_port "$1")"
}

node_log() {
	echo "$TEST_DIR/$1/log"
}

node_keyid() {
	keyid "$TEST_DIR/$1/node.key"
}

# keygen FILE: makes an Ed25519 key, prints its id (kept in FILE.id:
# under ASan every process costs, so ids are not derived twice).
keygen() {
	pktool keygen "$1" > "$1.id" && cat "$1.id"
}

# keyid FILE: the id of a key made by keygen (or any key).
keyid() {
	if [ -s "$1.id" ]; then
		cat "$1.id"
	else
		pktool keyid "$1"
	fi
}

# _write_conf NAME OVERRIDES...: the test defaults, then overrides
# (section.key=value; a later one wins), grouped by section.
_write_conf() {
	_n=$1
	_d=$TEST_DIR/$_n
	shift
	{
		echo "node.name=$_n"
		echo "node.key=$_d/node.key"
		echo "node.state-directory=$_d/state"
		echo "node.runtime-directory=$_d/run"
		echo "node.listen=127.0.0.1"
		echo "node.port=0"
		echo "node.log-level=debug"
		echo "limits.line-timeout=2s"
		echo "limits.handshake-timeout=3s"
		echo "liveness.interval=500ms"
		echo "liveness.timeout=3s"
		echo "liveness.extended-timeout=2s"
		echo "liveness.alive-mark=500ms"
		echo "liveness.checker-timeout=2s"
		echo "announce.enable=no"
		for _o in "$@"; do
			echo "$_o"
		done
	} | awk '
	index($0, "=") == 0 { next }
	{
		i = index($0, "="); k = substr($0, 1, i - 1)
		v = substr($0, i + 1); j = index(k, ".")
		s = substr(k, 1, j - 1); key = substr(k, j + 1)
		if (!(s in seen)) { seen[s] = 1; secs[++ns] = s }
		if (!((s, key) in val)) order[s] = order[s] SUBSEP key
		val[s, key] = v
	}
	END {
		for (i = 1; i <= ns; i++) {
			s = secs[i]; print "[" s "]"
			n = split(substr(order[s], 2), keys, SUBSEP)
			for (j = 1; j <= n; j++)
				print keys[j] " = " val[s, keys[j]]
		}
	}' > "$_d/peerkeyd.conf"
}

# start_node NAME [section.key=value ...]
start_node() {
	_n=$1
	shift
	_d=$TEST_DIR/$_n
	mkdir -p "$_d"
	[ -f "$_d/node.key" ] || keygen "$_d/node.key" >/dev/null ||
	    bail "keygen for $_n"
	_write_conf "$_n" "$@"
	printf '%s\n' "$@" > "$_d/overrides"
	_launch "$_n"
}

# _launch NAME: starts NAME with its written configuration.
_launch() {
	_n=$1
	_d=$TEST_DIR/$_n
	_out=$("$PEERKEYD" -n -f "$_d/peerkeyd.conf" 2>&1)
	[ "$_out" = "configuration OK" ] ||
	    bail "peerkeyd -n for $_n: $_out"
	echo "# --- start $(date +%T.%N)" >> "$_d/log"
	# shellcheck disable=SC2086
	$NODE_WRAP "$PEERKEYD" -d -f "$_d/peerkeyd.conf" >> "$_d/log" 2>&1 &
	_pid=$!
	_pids="$_pids $_pid"
	echo "$_pid" > "$_d/pid"
	_t=300
	while [ "$_t" -gt 0 ]; do
		if ! kill -0 "$_pid" 2>/dev/null; then
			wait "$_pid"
			echo "#   $_n exited with $? at start:"
			tail -n 20 "$_d/log" | sed 's/^/#   /'
			return 1
		fi
		_port=$(pk "$_n" -j status 2>/dev/null | jq -r '.self.port' \
		    2>/dev/null)
		case $_port in
		''|null|-1) ;;
		*) break ;;
		esac
		sleep 0.1
		_t=$((_t - 1))
	done
	[ "$_t" -gt 0 ] || { echo "#   $_n: no control socket"; return 1; }
	echo "$_port" > "$_d/port"
	# A restart must come back on the same port (peers know it).
	if ! grep -q '^node.port=[1-9]' "$_d/overrides" 2>/dev/null; then
		echo "node.port=$_port" >> "$_d/overrides"
		_rewrite_conf "$_n"
	fi
	return 0
}

# _rewrite_conf NAME: writes the configuration again from the overrides.
_rewrite_conf() {
	_f=$TEST_DIR/$1/overrides
	_rn=$1
	set --
	while IFS= read -r _l; do
		set -- "$@" "$_l"
	done < "$_f"
	_write_conf "$_rn" "$@"
}

# set_conf NAME section.key=value...: changes NAME's configuration (for
# the next start, or a SIGHUP).
set_conf() {
	_sn=$1
	shift
	printf '%s\n' "$@" >> "$TEST_DIR/$_sn/overrides"
	_rewrite_conf "$_sn"
}

# restart_node NAME: starts NAME again with its configuration.
restart_node() {
	_launch "$1"
}

# _forget PID: drops PID from the list to kill.
_forget() {
	_np=
	for _p in $_pids; do
		[ "$_p" = "$1" ] || _np="$_np $_p"
	done
	_pids=$_np
}

# stop_node NAME: SIGTERM; returns the daemon's exit status.
stop_node() {
	_pid=$(node_pid "$1")
	kill -TERM "$_pid" 2>/dev/null
	wait "$_pid"
	_st=$?
	_forget "$_pid"
	return $_st
}

# kill9_node NAME: SIGKILL and reap.
kill9_node() {
	_pid=$(node_pid "$1")
	kill -9 "$_pid" 2>/dev/null
	wait "$_pid" 2>/dev/null
	_forget "$_pid"
	return 0
}

# track PID: kill PID at exit if still running (background helpers).
track() {
	_pids="$_pids $1"
}

# peer_json NODE PEER: the peer's status object.
peer_json() {
	pk "$1" -j status | jq -c --arg p "$2" '.peers[] | select(.name == $p)'
}

# peer_field NODE PEER FIELD: one field of the peer's status.
peer_field() {
	pk "$1" -j status | jq -r --arg p "$2" \
	    ".peers[] | select(.name == \$p) | .$3"
}

# peer_state NODE PEER: enabled, disabled or disabled-by-operator.
peer_state() {
	peer_field "$1" "$2" state
}

# state_is NODE PEER STATE: for wait_for.
state_is() {
	[ "$(peer_state "$1" "$2")" = "$3" ]
}

# field_is NODE PEER FIELD VALUE: for wait_for.
field_is() {
	[ "$(peer_field "$1" "$2" "$3")" = "$4" ]
}

# events NODE PEER KIND: detail lines of that peer's events of KIND.
events() {
	pk "$1" -j events --peer "$2" --kind "$3" | jq -r '.[].detail'
}

# count_events NODE PEER KIND
count_events() {
	pk "$1" -j events --peer "$2" --kind "$3" | jq 'length'
}

# log_has NAME PATTERN: grep -E in NAME's log.
log_has() {
	grep -Eq -- "$2" "$TEST_DIR/$1/log"
}

# add_peer NODE PEER [peerkey peer add options]: makes PEER's boot key
# (PEER.boot) and node key (PEER.node) under the test dir unless they
# exist, and adds PEER to NODE with both key ids.
add_peer() {
	_n=$1
	_p=$2
	shift 2
	[ -f "$TEST_DIR/$_p.boot" ] || keygen "$TEST_DIR/$_p.boot" >/dev/null
	[ -f "$TEST_DIR/$_p.node" ] || keygen "$TEST_DIR/$_p.node" >/dev/null
	pk "$_n" peer add "$_p" \
	    --boot-key "$(keyid "$TEST_DIR/$_p.boot")" \
	    --node-key "$(keyid "$TEST_DIR/$_p.node")" "$@"
}

# blob FILE TEXT: writes a stand-in "ciphertext" blob.
blob() {
	printf '%s' "$2" > "$1"
}

# deposit NODE PEER BLOBID FILE: with PEER's node key.
deposit() {
	pktool deposit "$TEST_DIR/$2.node" "$(node_addr "$1")" "$3" "$4"
}

# unlock NODE PEER: with PEER's boot key; prints the first line.
unlock() {
	pktool unlock "$TEST_DIR/$2.boot" "$(node_addr "$1")" | head -n 1
}

# heartbeat_in NODE PEER: a heartbeat to NODE from PEER's node key.
heartbeat_in() {
	pktool heartbeat "$TEST_DIR/$2.node" "$(node_addr "$1")" \
	    "$(node_keyid "$1")"
}
