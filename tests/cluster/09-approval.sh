#!/bin/bash
# 09-approval.sh: the approval policy. h1 requires an operator's approval
# for h3 (approve by hand within the delay); h2 requires it too, but no
# one answers and its default, deny, applies.
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

ask() {
	n3 "$CL_PKTOOL" unlock "$d3/boot.key" "$(cl_addr "$1"):$CL_PORT" \
	    >"$d3/ask.$1" 2>/dev/null
}
check "h1 holds h3's boot: pending approval" \
    eval '! ask 1 && grep -q "pending approval" "$d3/ask.1"'
check "h1 shows the pending approval" \
    test "$(cl_pk 1 -j status | jq '.peers[] | select(.name == "h3") |
    .pending_approval')" = true
check "h1 recorded approval-pending" \
    cl_has 1 '.kind == "approval-pending" and .peer == "h3"'
check "h1 releases nothing before the approval" test "$(cl_count 1 \
    '.kind == "released" and .peer == "h3"')" = 0
pk1 approve h3 >/dev/null
check "after peerkey approve, h3 is unlocked by h1" \
    eval 'CL_BOOT_PEERS=1 cl_unlocks 3 30s'
check "h1 recorded the approval and the release" \
    eval 'cl_has 1 ".kind == \"approved\" and .peer == \"h3\"" &&
    cl_has 1 ".kind == \"released\" and .peer == \"h3\""'

# h2: nobody decides; past the delay the default (deny) applies.
check "h2 holds h3's boot: pending approval" \
    eval '! ask 2 && grep -q "pending approval" "$d3/ask.2"'
denied() {
	! ask 2 && grep -q "denied" "$d3/ask.2"
}
check "past its delay, h2 denies (the default)" cl_wait 20 denied
check "h2 recorded the denial" \
    cl_has 2 '.kind == "denied" and .peer == "h3"'
check "h2 released nothing" test "$(cl_count 2 \
    '.kind == "released" and .peer == "h3"')" = 0
check "a boot asking only h2 gets nothing" \
    eval '! CL_BOOT_PEERS=2 cl_boot 3 5s >"$CL_DIR/out" && ! test -s "$CL_DIR/out"'
cl_done
