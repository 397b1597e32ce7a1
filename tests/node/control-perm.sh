#!/bin/sh
# control-perm.sh: the control socket serves only root or a member of
# control-group, checked with SO_PEERCRED on every connection: a socket
# file made world-writable on purpose still lets no one else in
# (OpenSSH's agent-getpeereid.sh does the same for ssh-agent); nor can
# it read the database or the node key beside it (doc/trust.md, the
# threat table's last row).
_title="the control socket refuses a non-root uid even when world-writable"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/node/lib.sh"

[ "$(id -u)" = 0 ] || fatal "needs root (to act as other uids)"
command -v setpriv >/dev/null 2>&1 || fatal "needs setpriv (util-linux)"
getent passwd nobody >/dev/null && getent group nogroup >/dev/null &&
    getent passwd daemon >/dev/null || fatal "needs users nobody, daemon"

# as USER GROUP CMD...: runs CMD as USER with only GROUP.
as() {
	_u=$1
	_g=$2
	shift 2
	env ASAN_OPTIONS="$TOOL_ASAN_OPTIONS" setpriv --reuid="$_u" \
	    --regid="$_g" --clear-groups "$@"
}

start_node a || fatal "cannot start node a"
S=$W/a/run/control.sock
add_peer a p --timeout 120s

is "$(stat -c %a "$S")" 600 "the socket is mode 0600"
ok 'quiet pk a status' "root is served"
like "$(as nobody nogroup "$PEERKEY" -s "$S" -j status 2>&1)" \
    "[Pp]ermission denied" "nobody cannot even connect to the 0600 socket"

chmod 666 "$S"
nref=$(grep -c 'control: refused uid 65534' "$(node_log a)")
out=$(as nobody nogroup "$PEERKEY" -s "$S" -j status 2>&1)
st=$?
ok 'test "$st" != 0' \
    "world-writable: nobody connects but is refused (exit $st)"
unlike "$out" "peers|node_keyid" "...and learns nothing"
is "$(grep -c 'control: refused uid 65534' "$(node_log a)")" $((nref + 1)) \
    "...the daemon logged the refusal of uid 65534"
as nobody nogroup "$PEERKEY" -s "$S" disable p >/dev/null 2>&1
is "$(peer_state a p)" enabled "nobody cannot disable a peer"
as daemon daemon "$PEERKEY" -s "$S" remove --yes p >/dev/null 2>&1
is "$(peer_state a p)" enabled "daemon (uid 1) cannot remove a peer"
# Nor can it read around the socket: the database and the node key.
ok 'cat "$W/a/state/peerkey.db" >/dev/null && ! as nobody nogroup cat "$W/a/state/peerkey.db" >/dev/null 2>&1' \
    "nobody cannot read the database (root can)"
is "$(stat -c %a "$W/a/state/peerkey.db")" 600 "...which is mode 0600"
ok 'test -s "$W/a/node.key" && ! as nobody nogroup cat "$W/a/node.key" >/dev/null 2>&1' \
    "nobody cannot read the node key"
ok 'quiet pk a status' "root is still served"
ok 'stop_node a' "a stops cleanly"

# --- control-group ---------------------------------------------------------------
set_conf a node.control-group=nogroup
ok 'restart_node a' "a starts with control-group nogroup"
is "$(stat -c %a:%G "$S")" 660:nogroup \
    "the socket is mode 0660, group nogroup"
like "$(as nobody nogroup "$PEERKEY" -s "$S" -j status 2>&1 |
    jq -r '.peers[0].name')" "^p$" \
    "a member of the group (nobody, gid nogroup) is served"
ok 'as nobody nogroup "$PEERKEY" -s "$S" disable p' "...and may act"
is "$(peer_state a p)" disabled-by-operator "...the peer is disabled"
like "$(events a p disabled | tail -n 1)" "operator \\(uid 65534\\)" \
    "...recorded under its uid"
chmod 666 "$S"
as daemon daemon "$PEERKEY" -s "$S" enable p >/dev/null 2>&1
ok 'log_has a "control: refused uid 1 .*nor in the control group"' \
    "world-writable: a non-member (daemon) is refused"
is "$(peer_state a p)" disabled-by-operator "...and changed nothing"
ok 'stop_node a' "a stops cleanly"

set_conf a node.control-group=no-such-group-$$
spawn bad "$PEERKEYD" -f "$W/a/peerkeyd.conf" -d
wait $!
is "$?" 1 "an unknown control-group stops the start"
like "$(cat "$W/bad.log")" \
    "control-group \"no-such-group-$$\": no such group" \
    "...with a clear error"
finish
