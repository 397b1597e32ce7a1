#!/bin/sh
# enospc.sh: a full state directory (a 384 KiB tmpfs, mounted in the
# daemon's own mount namespace) does not crash the daemon: deposits fail
# with ERROR internal and nothing half-stored, unlocks of what is stored
# go on, an operator's disable still takes effect but is not acknowledged
# as saved (a restart would undo it), and the daemon stops cleanly.
_title="a full state directory (ENOSPC) does not crash the daemon"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/node/lib.sh"

[ "$(id -u)" = 0 ] || bail "needs root (to mount a tmpfs)"
command -v unshare >/dev/null 2>&1 || bail "needs unshare (util-linux)"

mkdir -p "$TEST_DIR/a/state"
cat > "$TEST_DIR/wrap.sh" <<EOW
#!/bin/sh
# In the daemon's own mount namespace: a tiny tmpfs over its state.
mount -t tmpfs -o size=384k,mode=0700 pktest "$TEST_DIR/a/state" || exit 1
exec "\$@"
EOW
chmod 755 "$TEST_DIR/wrap.sh"
NODE_WRAP="unshare --mount --propagation private $TEST_DIR/wrap.sh"
start_node a limits.max-frame=64k || bail "cannot start node a"
A=$(node_addr a)
blob "$TEST_DIR/small" "stand-in ciphertext"
add_peer a p --timeout 120s
add_peer a q --timeout 120s
is "a deposit fits" "$(deposit a q disk1 "$TEST_DIR/small")" "ack DEPOSIT"
head -c 32000 /dev/urandom > "$TEST_DIR/big"

# Fill the state directory with p's deposits until one fails.
i=0
last=
while [ $i -lt 31 ]; do
	i=$((i + 1))
	last=$(deposit a p "big$i" "$TEST_DIR/big")
	[ "$last" = "ack DEPOSIT" ] || break
done
like "the state directory fills up: a deposit gets ERROR internal" \
    "$last" "^error 5 "
check "...with a log line" log_has a "deposit: peer p: .*(full|disk)"
stored=$(peer_field a p blobs)
is "...and the failed one is not half-stored" "$stored" $((i - 1))
is "the daemon still serves what it holds" "$(unlock a q)" "released 1"
is "heartbeats are still answered" "$(heartbeat_in a q)" heartbeat-reply
out=$(pk a disable q 2>&1)
st=$?
is "an operator's disable that cannot be saved is not acknowledged" \
    "$st" 1
like "...the operator is told" "$out" "in effect until peerkeyd stops, but NOT saved: .*full"
is "...and it takes effect" "$(unlock a q)" "refused disabled"
pk a enable q >/dev/null 2>&1
is "...so does enable" "$(unlock a q)" "released 1"
check "a stops cleanly" stop_node a
done_testing
