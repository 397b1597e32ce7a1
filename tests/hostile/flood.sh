#!/bin/bash
# flood.sh: under a flood from 80 source addresses the real work goes on
# (issue "under attack it keeps serving"). A cluster of two real nodes
# built with the operator's commands (init, invite/join, enroll,
# boot-config: tests/cluster/lib.sh) and a hostile host h9 holding 80
# IPv4 addresses, running tests/tools/flood:
#
#	h1 (flooded) --+-- switch -- h9: 192.0.2.100 .. 192.0.2.179
#	h2 ------------+
#
# 1. 5,000 connections stalled at every stage (connected and silent; the
#    line and half a ClientHello; a whole handshake with a key no one
#    knows, then silence), each reopened as soon as h1 closes it: h2's
#    real peerkey-boot still gets its passphrase from h1 (the blob "peerkey
#    enroll" deposited) within its normal deadlines, and the real
#    heartbeats between h1 and h2 keep succeeding both ways.
#    Their failures cost h1's log less than 100 lines: the lines of
#    sessions no peer's key has claimed are counted per source and reason
#    (tally.c), and beyond 8 new sources an interval under "others".
#    Then 1,000 connections that all stall after a handshake with an
#    unknown key.
# 2. 60 s of UNLOCKs with unknown keys at full speed: h1's database grows
#    by less than 1 MiB and its log by less than 100 lines.
# The figures (connections held, the unlock's time under flood, bytes
# written) are TAP diagnostics; no time is pass/fail.
. "$(dirname "$0")/../cluster/lib.sh"
cl_init "${1:-}"
FLOOD=$CL_BUILD/tests/tools/flood
[ -x "$FLOOD" ] || fatal "$FLOOD not built (make check builds it)"
STALL_SECS=${STALL_SECS:-45}
UNLOCK_SECS=${UNLOCK_SECS:-60}

# h1 logs at the level an operator runs it (info): the log test counts
# its lines.
cl_conf 1
sed -i 's/^log-level = debug$/log-level = info/' "$CL_DIR/h1/peerkeyd.conf"
cl_cluster 2
d1=$CL_DIR/h1
d2=$CL_DIR/h2
ok 'grep -q "^\[peer h1\]" "$d2/boot.conf"' \
    "h2 enrolled its disk; boot-config names h1"

# The hostile host and its sources.
cl_host 9
: >"$CL_DIR/sources"
for i in $(seq 100 179); do
	ip -n "${CL_NS}h9" addr add "192.0.2.$i/32" dev eth0
	echo "192.0.2.$i" >>"$CL_DIR/sources"
done
nsrc=$(wc -l <"$CL_DIR/sources")
ok '[ "$nsrc" -ge 64 ]' "h9 holds $nsrc source addresses"

export CL_BOOT_PEERS=1
# boot_timed: h2 boots asking h1 only; sets rc and ms.
boot_timed() {
	local t0
	t0=$(date +%s%N)
	cl_boot 2 30s | cl_check_key 2
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
}
boot_timed
ok '[ $rc = 0 ]' "without a flood h2 unlocks from h1"
diag <<<"real unlock without flood: $ms ms"

# last_check PEER-ON-NODE: "N M": last_check and last_check_ok.
checks() {
	cl_pk "$1" -j status | jq -r --arg p "h$2" \
	    '.peers[] | select(.name == $p) | "\(.last_check) \(.last_check_ok)"'
}
# established: TCP connections from h9 to h1's port, in h1's namespace
# (accepted or waiting in the listen queue).
established() {
	ip netns exec "${CL_NS}h1" ss -Htn state established \
	    "( sport = :$CL_PORT )" | grep -c "192\.0\.2\.1[0-7][0-9]"
}
daemon_fds() {
	ls "/proc/$(cat "$d1/peerkeyd.pid")/fd" | wc -l
}

# --- 1. 5,000 stalled connections ---------------------------------------
ls0=$(wc -l <"$d1/peerkeyd.log")
spawn -o "$CL_DIR/stall.out" stall ip netns exec "${CL_NS}h9" "$FLOOD" \
    stall -a "$(cl_addr 1):$CL_PORT" -b "$CL_DIR/sources" -n 5000 \
    -d "$STALL_SECS" -r 500
spid=$!
# progress FIELD: the flood's last progress figure.
progress() {
	grep '^progress' "$CL_DIR/stall.out" | tail -n 1 |
	    sed -n "s/.* $1=\([0-9]*\).*/\1/p"
}
ok 'wait_for "[ \"\$(progress opened)\" -ge 5000 ]" 20' \
    "the flood has opened 5,000 connections"
sleep 2
held=$(progress open)
est=$(established)
fds=$(daemon_fds)
hb0_2=$(checks 2 1)
hb0_1=$(checks 1 2)
boot_timed
ok '[ $rc = 0 ]' "under the flood h2's real peerkey-boot unlocks from h1"
diag <<<"real unlock under flood: $ms ms (flood holding $held connections; h1: $est established, $fds descriptors)"
# The heartbeats go on both ways: each side's checker has succeeded
# again since the flood held its 5,000, and its last check is good.
sleep 3
hb1_2=$(checks 2 1)
hb1_1=$(checks 1 2)
ok '[ "${hb1_2%% *}" -gt "${hb0_2%% *}" ] && [ "${hb1_2#* }" = true ]' \
    "h2's heartbeats to the flooded h1 succeed ($hb0_2 -> $hb1_2)"
ok '[ "${hb1_1%% *}" -gt "${hb0_1%% *}" ] && [ "${hb1_1#* }" = true ]' \
    "the flooded h1's heartbeats to h2 succeed ($hb0_1 -> $hb1_1)"
ok 'cl_is 2 1 enabled && cl_is 1 2 enabled' "h1 and h2 still see each other enabled"
ok '! grep -q "heartbeat.*h1.*\(timed out\|failed\)" "$d2/peerkeyd.log"' \
    "h2 logged no failed heartbeat to h1"
wait "$spid"
fl=$(grep -v '^progress' "$CL_DIR/stall.out" | tail -n 1)
diag <<<"stall flood: $fl"
opened=$(sed -n 's/.*opened=\([0-9]*\).*/\1/p' <<<"$fl")
ok '[ "${opened:-0}" -ge 5000 ]' "the flood opened ${opened:-0} connections in all"
for s in line hs key; do
	n=$(sed -n "s/.*closed_$s=\([0-9]*\).*/\1/p" <<<"$fl")
	ok '[ "${n:-0}" -gt 0 ]' "h1 closed connections stalled at stage $s ($n)"
done
# Mixed with the others, how many stage "key" connections finish their
# handshake depends on how fast h1 makes room; alone, they all get there,
# and h1 closes them (unknown-timeout, the unknown budget).
spawn -o "$CL_DIR/key.out" key ip netns exec "${CL_NS}h9" "$FLOOD" \
    stall -a "$(cl_addr 1):$CL_PORT" -b "$CL_DIR/sources" -n 1000 -d 15 \
    -r 500 -s key
kpid=$!
boot_timed
ok '[ $rc = 0 ]' "under 1,000 unknown-key sessions h2 unlocks from h1"
diag <<<"real unlock under the unknown-key stall: $ms ms"
wait "$kpid"
fk=$(grep -v '^progress' "$CL_DIR/key.out" | tail -n 1)
diag <<<"unknown-key stall: $fk"
hs=$(sed -n 's/.*handshakes=\([0-9]*\).*/\1/p' <<<"$fk")
ck=$(sed -n 's/.*closed_key=\([0-9]*\).*/\1/p' <<<"$fk")
ok '[ "${hs:-0}" -gt 0 ] && [ "${ck:-0}" -gt 0 ]' \
    "${hs:-0} handshakes with unknown keys, then stalled: h1 closed ${ck:-0}"
ok 'cl_running 1' "h1 is still running"
ok 'wait_for "[ \"\$(established)\" = 0 ]" 15' \
    "after the flood h1 holds no connection"
ls1=$(wc -l <"$d1/peerkeyd.log")
ok '[ $((ls1 - ls0)) -lt 100 ]' \
    "the $opened stalled connections cost h1's log $((ls1 - ls0)) lines (< 100)"

# --- 2. unknown-key UNLOCKs at full speed ---------------------------------
db_bytes() {
	cat "$d1"/state/* 2>/dev/null | wc -c
}
# Sizes after a clean stop (the write-ahead log folded in).
cl_stop 1
b0=$(db_bytes)
cl_start 1
l0=$(wc -l <"$d1/peerkeyd.log")
c0=$(wc -c <"$d1/peerkeyd.log")
spawn -o "$CL_DIR/unlock.out" unlock ip netns exec "${CL_NS}h9" "$FLOOD" \
    unlock -a "$(cl_addr 1):$CL_PORT" -b "$CL_DIR/sources" -c 64 \
    -d "$UNLOCK_SECS"
wait $!
fl=$(grep -v '^progress' "$CL_DIR/unlock.out" | tail -n 1)
# The counted refusals' last summaries are written at the stop.
cl_stop 1
b1=$(db_bytes)
l1=$(wc -l <"$d1/peerkeyd.log")
c1=$(wc -c <"$d1/peerkeyd.log")
diag <<<"unknown-key unlock flood, $UNLOCK_SECS s: $fl"
diag <<<"h1 database: $b0 -> $b1 bytes; log: $l0 -> $l1 lines, $((c1 - c0)) bytes written"
refused=$(sed -n 's/.*refused_unknown=\([0-9]*\).*/\1/p' <<<"$fl")
ok '[ "${refused:-0}" -ge 1000 ]' \
    "h1 refused ${refused:-0} unknown-key UNLOCKs"
ok '[ $((b1 - b0)) -lt 1048576 ]' \
    "...and its database grew by less than 1 MiB ($((b1 - b0)) bytes)"
ok '[ $((l1 - l0)) -lt 100 ]' \
    "...and its log by less than 100 lines ($((l1 - l0)))"
ok 'grep -q "refused" "$d1/peerkeyd.log"' "...which say that it refused them"
cl_start 1
ok 'cl_pk 1 -j events >/dev/null && cl_pk 1 -j status >/dev/null' \
    "h1 starts again on the same database"
cl_done
