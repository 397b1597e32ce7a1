#!/bin/bash
# 06-power-cut.sh: the whole cluster loses power, for longer than the
# peers' timeout. On restart a person types one passphrase on h1; h1 then
# unlocks h2, and the running nodes unlock the rest in a cascade. Nobody
# is disabled: a node's own downtime is not held against its peers.
#
#	h1 (typed) --> h2 --> h3 --> h4     each boots while only the
#	                                    nodes before it run
CL_INTERVAL=1s CL_TIMEOUT=25s CL_EXTENDED=25s
. "$(dirname "$0")/lib.sh"
cl_init "${1:-}"
cl_cluster 4
mark=()
for n in 1 2 3 4; do
	mark[n]=$(cl_events "$n" | jq -s 'map(.id) | max')
done

# Power cut: every daemon dies at once, then an outage past the timeout.
for n in 1 2 3 4; do
	cl_kill "$n"
	cl_avahi_stop "$n"
done
sleep 27

# h1: a person types its passphrase at the console.
check "h1 opens with the passphrase typed at its console" \
    cl_check_key 1 <"$CL_DIR/h1/typed"
cl_up 1
for m in 2 3 4; do
	check "h1 still sees h$m enabled after the outage" cl_is 1 "$m" enabled
done
prev=1
for n in 2 3 4; do
	running=$(seq -s ' ' "$prev")
	check "h$n boots while only h$running run: unlocked" \
	    eval 'CL_BOOT_PEERS="$running" cl_unlocks '"$n"' 30s'
	cl_up "$n"
	prev=$n
done
check "h2 was unlocked by h1" \
    cl_has 1 ".kind == \"released\" and .peer == \"h2\" and .id > ${mark[1]}"
for n in 1 2 3 4; do
	for m in $(cl_others "$n"); do
		check "h$n sees h$m enabled at the end" \
		    cl_wait 20 cl_is "$n" "$m" enabled
	done
	check "h$n disabled nobody" test "$(cl_count "$n" \
	    ".kind == \"disabled\" and .id > ${mark[n]}")" = 0
done
cl_done
