#!/bin/sh
# control-perm.sh: the control socket serves only root or a member of
# control-group, checked with SO_PEERCRED on every connection: a socket
# file made world-writable on purpose still lets no one else in
# (OpenSSH's agent-getpeereid.sh does the same for ssh-agent).
_title="the control socket refuses a non-root uid even when world-writable"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/node/lib.sh"

[ "$(id -u)" = 0 ] || bail "needs root (to act as other uids)"
command -v setpriv >/dev/null 2>&1 || bail "needs setpriv (util-linux)"
getent passwd nobody >/dev/null && getent group nogroup >/dev/null &&
    getent passwd daemon >/dev/null || bail "needs users nobody, daemon"

# as USER GROUP CMD...: runs CMD as USER with only GROUP.
as() {
	_u=$1
	_g=$2
	shift 2
	env ASAN_OPTIONS="$TOOL_ASAN_OPTIONS" setpriv --reuid="$_u" \
	    --regid="$_g" --clear-groups "$@"
}

start_node a || bail "cannot start node a"
S=$TEST_DIR/a/run/control.sock
add_peer a p --timeout 120s

is "the socket is mode 0600" "$(stat -c %a "$S")" 600
check "root is served" quiet pk a status
like "nobody cannot even connect to the 0600 socket" \
    "$(as nobody nogroup "$PEERKEY" -s "$S" -j status 2>&1)" \
    "[Pp]ermission denied"

chmod 666 "$S"
nref=$(grep -c 'control: refused uid 65534' "$(node_log a)")
out=$(as nobody nogroup "$PEERKEY" -s "$S" -j status 2>&1)
st=$?
check "world-writable: nobody connects but is refused (exit $st)" \
    test "$st" != 0
unlike "...and learns nothing" "$out" "peers|node_keyid"
is "...the daemon logged the refusal of uid 65534" \
    "$(grep -c 'control: refused uid 65534' "$(node_log a)")" $((nref + 1))
as nobody nogroup "$PEERKEY" -s "$S" disable p >/dev/null 2>&1
is "nobody cannot disable a peer" "$(peer_state a p)" enabled
as daemon daemon "$PEERKEY" -s "$S" remove --yes p >/dev/null 2>&1
is "daemon (uid 1) cannot remove a peer" "$(peer_state a p)" enabled
check "root is still served" quiet pk a status
check "a stops cleanly" stop_node a

# --- control-group ---------------------------------------------------------------
set_conf a node.control-group=nogroup
check "a starts with control-group nogroup" restart_node a
is "the socket is mode 0660, group nogroup" \
    "$(stat -c %a:%G "$S")" 660:nogroup
like "a member of the group (nobody, gid nogroup) is served" \
    "$(as nobody nogroup "$PEERKEY" -s "$S" -j status 2>&1 |
    jq -r '.peers[0].name')" "^p$"
check "...and may act" as nobody nogroup "$PEERKEY" -s "$S" disable p
is "...the peer is disabled" "$(peer_state a p)" disabled-by-operator
like "...recorded under its uid" "$(events a p disabled | tail -n 1)" \
    "operator \\(uid 65534\\)"
chmod 666 "$S"
as daemon daemon "$PEERKEY" -s "$S" enable p >/dev/null 2>&1
check "world-writable: a non-member (daemon) is refused" \
    log_has a "control: refused uid 1 .*nor in the control group"
is "...and changed nothing" "$(peer_state a p)" disabled-by-operator
check "a stops cleanly" stop_node a

set_conf a node.control-group=no-such-group-$$
"$PEERKEYD" -f "$TEST_DIR/a/peerkeyd.conf" -d > "$TEST_DIR/bad.out" 2>&1 &
bpid=$!
track $bpid
wait $bpid
is "an unknown control-group stops the start" "$?" 1
like "...with a clear error" "$(cat "$TEST_DIR/bad.out")" \
    "control-group \"no-such-group-$$\": no such group"
done_testing
