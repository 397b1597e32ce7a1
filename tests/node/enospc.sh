#!/bin/sh
# enospc.sh: a full state directory (a 384 KiB tmpfs, mounted in the
# daemon's own mount namespace) does not crash the daemon: deposits fail
# with ERROR internal and nothing half-stored, unlocks of what is stored
# go on, an operator's disable still takes effect but is not acknowledged
# as saved (a restart would undo it), and the daemon stops cleanly.
_title="a full state directory (ENOSPC) does not crash the daemon"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/node/lib.sh"

[ "$(id -u)" = 0 ] || fatal "needs root (to mount a tmpfs)"
command -v unshare >/dev/null 2>&1 || fatal "needs unshare (util-linux)"

mkdir -p "$W/a/state"
cat > "$W/wrap.sh" <<EOW
#!/bin/sh
# In the daemon's own mount namespace: a tiny tmpfs over its state.
mount -t tmpfs -o size=384k,mode=0700 pktest "$W/a/state" || exit 1
exec "\$@"
EOW
chmod 755 "$W/wrap.sh"
NODE_WRAP="unshare --mount --propagation private $W/wrap.sh"
start_node a limits.max-frame=64k || fatal "cannot start node a"
A=$(node_addr a)
blob "$W/small" "stand-in ciphertext"
add_peer a p --timeout 120s
add_peer a q --timeout 120s
is "$(deposit a q disk1 "$W/small")" "ack DEPOSIT" "a deposit fits"
head -c 32000 /dev/urandom > "$W/big"

# Fill the state directory with p's deposits until one fails.
i=0
last=
while [ $i -lt 31 ]; do
	i=$((i + 1))
	last=$(deposit a p "big$i" "$W/big")
	[ "$last" = "ack DEPOSIT" ] || break
done
like "$last" "^error 5 " \
    "the state directory fills up: a deposit gets ERROR internal"
ok 'log_has a "deposit: peer p: .*(full|disk)"' "...with a log line"
stored=$(peer_field a p blobs)
is "$stored" $((i - 1)) "...and the failed one is not half-stored"
is "$(unlock a q)" "released 1" "the daemon still serves what it holds"
is "$(heartbeat_in a q)" heartbeat-reply "heartbeats are still answered"
# The room left after the failed deposit varies from run to run: a file
# in the daemon's namespace takes what the file system has left.
nsenter -t "$PID_a_peerkeyd" -m dd if=/dev/zero of="$W/a/state/filler" \
    bs=4k 2>/dev/null
ok '[ "$(nsenter -t "$PID_a_peerkeyd" -m df --output=avail "$W/a/state" |
    tail -n 1 | tr -d " ")" = 0 ]' "the state directory is full to the last block"
# The WAL file may still hold room for a transaction or two: p's state is
# toggled until a write of that size fails, so q's is the next to fail.
i=0
while [ $i -lt 20 ] && pk a disable p >/dev/null 2>&1 &&
    pk a enable p >/dev/null 2>&1; do
	i=$((i + 1))
done
ok '[ $i -lt 20 ]' "...and the WAL's last room is used up (after $i toggles)"
pk a enable p >/dev/null 2>&1
out=$(pk a disable q 2>&1)
st=$?
ok 'test "$st" != 0' \
    "an operator's disable that cannot be saved is not acknowledged"
like "$out" "in effect until peerkeyd stops, but NOT saved: .*full" \
    "...the operator is told"
is "$(unlock a q)" "refused disabled" "...and it takes effect"
pk a enable q >/dev/null 2>&1
is "$(unlock a q)" "released 1" "...so does enable"
ok 'stop_node a' "a stops cleanly"
finish
