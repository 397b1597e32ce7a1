#!/bin/bash
# 17-guard-held.sh: a node guards what it holds, not the whole cluster
# (issue 17; the scale of issue 19: a node's work grows with its guardian
# duties, not with the cluster). Four nodes form a cluster with the
# operator's commands, every node a peer of every other; only h1's disk
# is enrolled, so h2, h3 and h4 hold h1's blob and nobody holds anything
# of theirs. Counted from each daemon's own metrics: h1 receives their
# heartbeats, h2..h4 receive none and h1 sends none; h2..h4 are
# "unguarded" to each other and are never timed out. Then h2's enroll
# deposits with h1, h3, h4: each starts guarding h2 at once (a deposit is
# a proof of life), h3 and h4 still receive nothing. When h1 powers off,
# its guardians disable it after its timeout, as before; a boot of h1
# still unlocks.
#
#	h1 --+                 h1's disk enrolled: h2, h3, h4 hold its blob
#	h2 --+-- switch        h2's enrolled later: h1, h3, h4 hold it
#	h3 --+
#	h4 --+
CL_INTERVAL=1s CL_TIMEOUT=5s CL_EXTENDED=3s
. "$(dirname "$0")/lib.sh"
cl_init "${1:-}"
cl_switch
for n in 1 2 3 4; do
	cl_host "$n"
	cl_init_keys "$n" || fatal "h$n: peerkey init"
	cl_disk "$n" || fatal "h$n: disk"
done
for n in 1 2 3 4; do
	cl_start "$n"
done
for n in 2 3 4; do
	cl_join "$n" 1 || fatal "h$n: peerkey join"
done
for n in 1 2 3 4; do
	for m in $(cl_others "$n"); do
		wait_for "cl_guards $n $m" 20 || fatal "h$n does not know h$m"
	done
done
pass "four nodes, each a peer of the other three"

# metric N NAME: one sample of node N's metrics (0 if none).
metric() {
	cl_pk "$1" metrics | awk -v s="$2" '$1 == s { v = $2 } END {
	    print v + 0 }'
}
received() { metric "$1" peerkey_heartbeats_received_total; }
sent() {
	echo $(($(metric "$1" 'peerkey_heartbeats_total{result="ok"}') +
	    $(metric "$1" 'peerkey_heartbeats_total{result="failed"}')))
}
at_least() { [ "$(received "$1")" -ge "$2" ]; }

# --- only h1's disk enrolled ---------------------------------------------
ok 'cl_enroll_luks 1' "h1 enrolls its disk: h2, h3, h4 hold its blob"
# enroll's own probe (one heartbeat from h1's key to each chosen peer,
# peerkey(8)) is all h2..h4 ever receive.
for n in 2 3 4; do
	eval "base$n=\$(received $n)"
done
ok 'wait_for "at_least 1 6" 20' "h1 receives its guardians' heartbeats"
sleep 6		# six intervals, past the 5 s timeout
for n in 2 3 4; do
	eval "b=\$base$n"
	is "$(received "$n")" "$b" \
	    "h$n receives no heartbeat after enroll's probe ($b): nobody holds its"
done
is "$(sent 1)" 0 "h1 holds nothing, so sends no heartbeat"
ok 'test "$(sent 2)" -ge 5' "h2 heartbeats h1, whose blob it holds"
for n in 2 3 4; do
	ok 'cl_is "$n" 1 enabled' "h$n sees h1 enabled"
done
ok 'cl_is 2 3 unguarded && cl_is 2 4 unguarded && cl_is 3 2 unguarded' \
    "h2..h4 are unguarded to each other"
is "$(cl_count 2 '.kind == "disabled"')" 0 \
    "...never disabled by timeout, though unheard of for longer"
like "$(pk2 status | grep '^h3 ')" unguarded "peerkey status says unguarded"
ok 'cl_is 1 2 unguarded' "h1 holds nothing of h2: unguarded"

# --- h2 enrolls: its holders start guarding it at once --------------------
ok 'cl_enroll_luks 2' "h2 enrolls: h1, h3, h4 hold its blob now"
for n in 1 3 4; do
	ok 'cl_is "$n" 2 enabled' "h$n guards h2 at once: enabled by the deposit"
done
ok 'grep -q "peer h2: guarded from now on" "$CL_DIR/h3/peerkeyd.log"' \
    "h3 says it guards h2 from its deposit on"
b3=$(received 3) b4=$(received 4)
ok 'wait_for "at_least 2 6" 20' "h2 receives heartbeats now"
is "$(received 3):$(received 4)" "$b3:$b4" \
    "h3 and h4 receive none beyond enroll's probes ($b3, $b4)"

# --- h1 powers off: its guardians still time it out ------------------------
cl_down 1
for n in 2 3 4; do
	ok 'wait_for "cl_is $n 1 disabled" 20' \
	    "h$n disables h1 after its timeout"
done
ok 'cl_is 3 4 unguarded' "h3 still calls h4 unguarded, not disabled"
cl_up 1
ok 'wait_for "cl_is 2 1 enabled" 20' "h1 is back: h2 enables it again"
cl_down 1
ok 'cl_unlocks 1 60s' "h1 reboots: a guardian unlocks its disk"
cl_up 1

# --- peerkey status DISK on h1: K, N, who could release now ---------------
img=$CL_DIR/h1/disk.img
# disk Q: jq Q on h1's status -j of its disk.
disk() {
	pk1 -j status "$img" | jq -r ".disks[0] | $1"
}
could() { [ "$(disk '.could_release | length')" = "$1" ]; }
ok 'wait_for "could 3" 20' "h1's disk: its 3 holders could release it now"
is "$(disk '"\(.threshold) \(.guardians | length) \(.warning // "-")"')" \
    "1 3 -" "...K 1 of N 3 (a token without a split), no warning"
like "$(pk1 status "$img")" "disk.img +enrolled +1 +3 +3  h2 h3 h4" \
    "peerkey status shows the disk's row"
cl_down 3
cl_down 4
ok 'wait_for "could 1" 20' "h3 and h4 off: after their timeout only h2 could"
unlike "$(pk1 status "$img")" WARNING "...enough for K 1: no warning"
cl_down 2
ok 'wait_for "could 0" 20' "h2 off too: nobody could"
like "$(pk1 status "$img")" \
    "WARNING: .*disk.img: only 0 of its 3 guardians could release it now, fewer than the 1 it needs; not seen within their timeout: h2 h3 h4" \
    "...and peerkey status warns, naming them"
cl_done
