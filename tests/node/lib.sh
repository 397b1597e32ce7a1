# tests/node/lib.sh: the daemon tests' own helpers, on the shell test
# driver tests/lib-tap.sh (ok, is, like, unlike, pass, fail, fatal,
# finish, spawn, stop, wait_for ...). A test sources it, then:
#
#	start_node NAME [section.key=value ...]
#		makes NAME's node key (once), writes $W/NAME/peerkeyd.conf
#		from short test defaults plus the overrides, checks it with
#		"peerkeyd -n", spawns "peerkeyd -d" (output appended to
#		$W/NAME/peerkeyd.log, "node_log NAME"), waits for the control
#		socket and learns the TCP port (node_port NAME). A restart
#		reuses the port.
#	stop_node NAME		SIGTERM, wait; fails unless it exits 0
#	kill9_node NAME		SIGKILL, wait
#	restart_node NAME	start_node with the same configuration
#	set_conf NAME section.key=value...	for the next start or SIGHUP
#	pk NAME ARGS...		peerkey -s NAME's control socket ARGS
#	pktool ARGS...		the test client (tests/tools/pktool)
#	pktool_bg OUT ARGS...	the same, spawned: stdout to OUT, PID in
#				$bgpid
#	quiet CMD...		CMD without its output
#	add_peer, add_peers_with_blob, deposit, signed, unlock, heartbeat_in,
#	peer_field, state_is, field_is, events, count_events, log_has:
#	below
#
# The driver stops whatever is left by PID at exit and shows the nodes'
# logs when a check failed.
#
# Environment: top_srcdir, top_builddir (set by make check; by hand, run
# from a build directory). NODE_WRAP: a command prefix for peerkeyd (env,
# setpriv ...) that must exec it, so that its PID is the daemon's own.

set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
. "$top_srcdir/tests/node/lib-base.sh"
NODE_WRAP=${NODE_WRAP:-}

# Under ASan the daemon runs with the leak checker (a clean stop must
# free everything); the clients that exit without freeing do not.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export ASAN_OPTIONS
TOOL_ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0"

_title=${_title:-$(basename "$0")}

for _p in "$PEERKEYD" "$PEERKEY" "$PKTOOL"; do
	[ -x "$_p" ] || fatal "$_p not built (make check builds it)"
done
for _c in jq sqlite3; do
	command -v "$_c" >/dev/null 2>&1 || fatal "needs $_c"
done

echo "# $_title"

# quiet CMD...: CMD without its output (for ok).
quiet() {
	"$@" >/dev/null 2>&1
}

# Runs the test client.
pktool() {
	ASAN_OPTIONS=$TOOL_ASAN_OPTIONS "$PKTOOL" "$@"
}

# pktool_bg OUT ARGS...: the test client spawned, stdout to OUT (stderr
# to OUT.log); its own PID (env execs it) in $bgpid.
pktool_bg() {
	_o=$1
	shift
	spawn -o "$_o" "${_o#"$W"/}" env ASAN_OPTIONS="$TOOL_ASAN_OPTIONS" \
	    "$PKTOOL" "$@"
	bgpid=$!
}

# pk NAME ARGS...: the peerkey command on NAME's control socket.
pk() {
	_n=$1
	shift
	ASAN_OPTIONS=$TOOL_ASAN_OPTIONS "$PEERKEY" \
	    -s "$W/$_n/run/control.sock" "$@"
}

node_dir() {
	echo "$W/$1"
}

node_pid() {
	cat "$W/$1/pid"
}

node_port() {
	cat "$W/$1/port"
}

node_addr() {
	echo "127.0.0.1:$(node_port "$1")"
}

node_log() {
	echo "$W/$1/peerkeyd.log"
}

node_keyid() {
	keyid "$W/$1/node.key"
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
	_d=$W/$_n
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
		# These tests guard peers they add by hand, blobs or not;
		# guard-held.sh passes liveness.guard=held.
		echo "liveness.guard=all"
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
	_d=$W/$_n
	mkdir -p "$_d"
	[ -f "$_d/node.key" ] || keygen "$_d/node.key" >/dev/null ||
	    fatal "keygen for $_n"
	_write_conf "$_n" "$@"
	printf '%s\n' "$@" > "$_d/overrides"
	_launch "$_n"
}

# _launch NAME: starts NAME with its written configuration.
_launch() {
	_n=$1
	_d=$W/$_n
	_out=$("$PEERKEYD" -n -f "$_d/peerkeyd.conf" 2>&1)
	[ "$_out" = "configuration OK" ] ||
	    fatal "peerkeyd -n for $_n: $_out"
	echo "# --- start $(date +%T.%N)" >> "$(node_log "$_n")"
	# shellcheck disable=SC2086
	spawn "$_n/peerkeyd" $NODE_WRAP "$PEERKEYD" -d -f "$_d/peerkeyd.conf"
	_pid=$!
	echo "$_pid" > "$_d/pid"
	_t=300
	while [ "$_t" -gt 0 ]; do
		if ! kill -0 "$_pid" 2>/dev/null; then
			wait "$_pid"
			echo "#   $_n exited with $? at start:"
			tail -n 20 "$(node_log "$_n")" | sed 's/^/#   /'
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
	_f=$W/$1/overrides
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
	printf '%s\n' "$@" >> "$W/$_sn/overrides"
	_rewrite_conf "$_sn"
}

# restart_node NAME: starts NAME again with its configuration.
restart_node() {
	_launch "$1"
}

# stop_node NAME: SIGTERM; returns the daemon's exit status.
stop_node() {
	stop "$(node_pid "$1")"
}

# kill9_node NAME: SIGKILL and reap.
kill9_node() {
	stop "$(node_pid "$1")" KILL
	return 0
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

# state_is NODE PEER STATE: NODE sees PEER in STATE.
state_is() {
	[ "$(peer_state "$1" "$2")" = "$3" ]
}

# field_is NODE PEER FIELD VALUE: one field of the peer's status is VALUE.
field_is() {
	[ "$(peer_field "$1" "$2" "$3")" = "$4" ]
}

# events NODE PEER KIND: detail lines of that peer's events of KIND.
events() {
	pk "$1" -j events --peer "$2" --kind "$3" | jq -r '.events[].detail'
}

# count_events NODE PEER KIND
count_events() {
	pk "$1" -j events --peer "$2" --kind "$3" | jq '.events | length'
}

# log_has NAME PATTERN: grep -E in NAME's log.
log_has() {
	grep -Eq -- "$2" "$(node_log "$1")"
}

# add_peer NODE PEER [peerkey peer add options]: makes PEER's boot key
# (PEER.boot) and node key (PEER.node) under the test dir unless they
# exist, and adds PEER to NODE with both key ids.
add_peer() {
	_n=$1
	_p=$2
	shift 2
	[ -f "$W/$_p.boot" ] || keygen "$W/$_p.boot" >/dev/null
	[ -f "$W/$_p.node" ] || keygen "$W/$_p.node" >/dev/null
	pk "$_n" peer add "$_p" \
	    --boot-key "$(keyid "$W/$_p.boot")" \
	    --node-key "$(keyid "$W/$_p.node")" "$@"
}

# blob FILE TEXT: writes a stand-in "ciphertext" blob.
blob() {
	printf '%s' "$2" > "$1"
}

# add_peers_with_blob NODE PEER=TIMEOUT...: adds each PEER on NODE
# (add_peer, with that --timeout), then deposits disk1 for each with its
# node key: B, the stand-in blob $W/blob.
add_peers_with_blob() {
	_aw_node=$1
	shift
	B=$W/blob
	blob "$B" "stand-in ciphertext"
	for _aw in "$@"; do
		add_peer "$_aw_node" "${_aw%%=*}" --timeout "${_aw#*=}"
	done
	for _aw in "$@"; do
		deposit "$_aw_node" "${_aw%%=*}" disk1 "$B" >/dev/null
	done
}

# deposit NODE PEER BLOBID FILE: with PEER's node key.
deposit() {
	pktool deposit "$W/$2.node" "$(node_addr "$1")" "$3" "$4"
}

# signed PEER BLOBID FILE: FILE as "deposit" sends it, signed by PEER's
# node key (sblob.h; pktool seal is deterministic), to stdout.
signed() {
	pktool seal "$W/$1.node" \
	    0000000000000000000000000000000000000000000000000000000000000000 \
	    "$2" <"$3"
}

# unlock NODE PEER: with PEER's boot key; prints the first line.
unlock() {
	pktool unlock "$W/$2.boot" "$(node_addr "$1")" | head -n 1
}

# heartbeat_in NODE PEER: a heartbeat to NODE from PEER's node key.
heartbeat_in() {
	pktool heartbeat "$W/$2.node" "$(node_addr "$1")" \
	    "$(node_keyid "$1")"
}
