#!/bin/bash
# 09-approval.sh: the approval policy. h1 requires an operator's approval
# for h3 (approve by hand within the delay); h2 requires it too, but no
# one answers and its default, deny, applies. The cluster is built with the
# operator's commands; h3's boots are its real peerkey-boot (with the
# boot.conf "peerkey boot-config" wrote), which keeps asking while a peer
# awaits approval.
#
#	h1 (approval-delay 60s) --+
#	h2 (approval-delay 2s, deny by default) --+-- switch -- h3 boots
. "$(dirname "$0")/lib.sh"
cl_init "${1:-}"
cl_cluster 3
d3=$CL_DIR/h3
pk1 peer set h3 --approval-delay 60s --approval-duration 60s \
    --deny-by-default >/dev/null
pk2 peer set h3 --approval-delay 2s --deny-by-default >/dev/null
cl_down 3

# exited NAME: h3's boot agent NAME has exited.
exited() {
	! avahi__alive "$(cat "$d3/$1.pid")"
}

# ask M GIVEUP: h3 boots asking only hM: its peerkey-boot runs in the
# background (h3/askM.*, its PID in $boot) and is told hM holds it.
ask() {
	CL_BOOT_PEERS=$1 cl_boot_conf 3 >"$d3/ask$1.conf"
	cl_agent_bg 3 "ask$1" "$d3/ask$1.conf" -g "$2"
	boot=$!
	ok "wait_for 'grep -q \"^peerkey-boot: h$1: awaiting approval\" \
	    $d3/ask$1.log' 30" \
	    "h$1 holds h3's boot: its agent is told it awaits approval"
}

# h3's peerkey-boot waits while h1 waits for the operator.
ask 1 60s
q='.peers[] | select(.name == "h3") | .pending_approval'
ok 'test "$(cl_pk 1 -j status | jq "$q")" = true' \
    "h1 shows the pending approval"
ok 'cl_has 1 ".kind == \"approval-pending\" and .peer == \"h3\""' \
    "h1 recorded approval-pending"
ok 'test "$(cl_count 1 ".kind == \"released\" and .peer == \"h3\"")" = 0' \
    "h1 releases nothing before the approval"
ok '! exited ask1 && ! test -s "$d3/ask1.out"' \
    "h3's boot is still waiting, with no passphrase"
pk1 approve h3 >/dev/null
ok 'wait_for "exited ask1" 30 && wait "$boot" &&
    cl_check_key 3 <"$d3/ask1.out"' \
    "after peerkey approve, h3's waiting boot gets its passphrase"
rm -f "$d3/ask1.pid"
ok 'cl_has 1 ".kind == \"approved\" and .peer == \"h3\"" &&
    cl_has 1 ".kind == \"released\" and .peer == \"h3\""' \
    "h1 recorded the approval and the release"

# h2: nobody decides; past the delay the default (deny) applies.
ask 2 15s
ok 'wait_for "grep -q \"^peerkey-boot: h2: refused: denied\" $d3/ask2.log" 30' \
    "past its delay, h2 denies (the default): h3's agent is told"
ok 'cl_has 2 ".kind == \"denied\" and .peer == \"h3\""' \
    "h2 recorded the denial"
ok 'wait_for "exited ask2" 30 && ! wait "$boot" &&
    ! test -s "$d3/ask2.out"' "h3's boot asking only h2 gives up with nothing"
rm -f "$d3/ask2.pid"
ok 'test "$(cl_count 2 ".kind == \"released\" and .peer == \"h3\"")" = 0' \
    "h2 released nothing"
cl_done
