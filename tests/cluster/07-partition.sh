#!/bin/bash
# 07-partition.sh: h4 is cut off from h1 and h2 (frames dropped at the
# switch). h4 reboots and is unlocked by h3, the half it still reaches;
# h1 and h2 release nothing. Healing the partition re-enables h4 on h1
# and h2 through its node key's heartbeats, and nothing else changes:
# h1, h2 and h3 never disable one another. The cluster is built with the
# operator's commands and h4 boots with its real peerkey-boot.
#
#	h1 --+            h4 <-/-> h1, h2  (nftables bridge drop rules)
#	h2 --+-- switch   h4 <---> h3
#	h3 --+
#	h4 --+
CL_INTERVAL=1s CL_TIMEOUT=8s CL_EXTENDED=8s
. "$(dirname "$0")/lib.sh"
cl_init "${1:-}"
cl_cluster 4
declare -a mark
for n in 1 2 3 4; do
	mark[n]=$(cl_events "$n" | jq -s 'map(.id) | max')
done
cl_cut 4 1
cl_cut 4 2
check "h1 disables the unreachable h4" cl_wait 30 cl_is 1 4 disabled
check "h2 disables the unreachable h4" cl_wait 30 cl_is 2 4 disabled
check "h3 keeps h4 enabled" cl_is 3 4 enabled

cl_down 4
check "h4 reboots inside the partition: unlocked by h3" \
    eval 'cl_unlocks 4 60s'
check "h3 released to h4" \
    cl_has 3 ".kind == \"released\" and .peer == \"h4\" and .id > ${mark[3]}"
for n in 1 2; do
	check "h$n released nothing to h4" test "$(cl_count "$n" \
	    ".kind == \"released\" and .peer == \"h4\"")" = 0
done
cl_up 4

cl_heal
for n in 1 2; do
	check "after healing, h$n enables h4 again (its heartbeat)" \
	    cl_wait 30 cl_is "$n" 4 enabled
	check "after healing, h4 sees h$n enabled" \
	    cl_wait 30 cl_is 4 "$n" enabled
done
for n in 1 2 3; do
	for m in 1 2 3; do
		[ "$n" = "$m" ] && continue
		check "h$n never disabled h$m" test "$(cl_count "$n" \
		    ".kind == \"disabled\" and .peer == \"h$m\" and .id > ${mark[n]}")" = 0
	done
done
check "h3 never disabled h4" test "$(cl_count 3 \
    ".kind == \"disabled\" and .peer == \"h4\" and .id > ${mark[3]}")" = 0
cl_done
