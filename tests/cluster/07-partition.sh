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
ok 'wait_for "cl_is 1 4 disabled" 30' "h1 disables the unreachable h4"
ok 'wait_for "cl_is 2 4 disabled" 30' "h2 disables the unreachable h4"
ok 'cl_is 3 4 enabled' "h3 keeps h4 enabled"

cl_down 4
ok 'cl_unlocks 4 60s' "h4 reboots inside the partition: unlocked by h3"
ok 'cl_has 3 ".kind == \"released\" and .peer == \"h4\" and .id > ${mark[3]}"' \
    "h3 released to h4"
for n in 1 2; do
	ok 'test "$(cl_count "$n" \
	    ".kind == \"released\" and .peer == \"h4\"")" = 0' \
	    "h$n released nothing to h4"
done
cl_up 4

cl_heal
for n in 1 2; do
	ok 'wait_for "cl_is $n 4 enabled" 30' \
	    "after healing, h$n enables h4 again (its heartbeat)"
	ok 'wait_for "cl_is 4 $n enabled" 30' \
	    "after healing, h4 sees h$n enabled"
done
for n in 1 2 3; do
	for m in 1 2 3; do
		[ "$n" = "$m" ] && continue
		ok 'test "$(cl_count "$n" ".kind == \"disabled\" and
		    .peer == \"h$m\" and .id > ${mark[n]}")" = 0' \
		    "h$n never disabled h$m"
	done
done
ok 'test "$(cl_count 3 \
    ".kind == \"disabled\" and .peer == \"h4\" and .id > ${mark[3]}")" = 0' \
    "h3 never disabled h4"
cl_done
