#!/bin/bash
# 06-power-cut.sh: the whole cluster loses power, for longer than the
# peers' timeout. On restart a person types one passphrase on h1; h1 then
# unlocks h2, and the running nodes unlock the rest in a cascade. Nobody
# is disabled: a node's own downtime is not held against its peers. The
# cluster is built with the operator's commands; every boot is the real
# peerkey-boot with the boot.conf "peerkey boot-config" wrote, h1's with
# its console prompt on a pseudo-terminal where the passphrase is typed.
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

# Power cut: every daemon dies at once.
for n in 1 2 3 4; do
	cl_kill "$n"
	cl_avahi_stop "$n"
done
cut=$(date +%s)

# h1 comes back first: its peerkey-boot, with the boot.conf "peerkey
# boot-config" wrote and its console prompt on, on a terminal (console.py:
# the person at the console). Its peers are all still down.
d1=$CL_DIR/h1
cl_boot_conf 1 | sed 's|^prompt = no$|prompt = yes\nprompt-device = /dev/tty|' \
    >"$d1/console.conf"
$CL_SAY "h1: peerkey-boot -c console.conf (on a terminal) &"
spawn -o "$d1/console.out" h1/boot ip netns exec "${CL_NS}h1" python3 \
    "$CL_SRC/tests/cluster/console.py" "$d1/screen" "Please unlock disk" \
    "$d1/gate" "$d1/typed" -- "$CL_AGENT" -c "$d1/console.conf"
agent=$!
echo "$agent" >"$d1/console.pid"
ok 'wait_for "grep -q \"Please unlock disk\" $d1/screen" 30' \
    "h1's peerkey-boot prompts at its console"
for m in 2 3 4; do
	ok 'wait_for "grep -q \"^peerkey-boot: h$m: unreachable\" \
	    $d1/boot.log" 30' \
	    "h1's peerkey-boot finds h$m unreachable"
done
# outage_over: the outage has lasted past the peers' timeout (25 s).
outage_over() {
	[ $(($(date +%s) - cut)) -ge 27 ]
}
wait_for 'outage_over' 60
# The person types h1's passphrase.
touch "$d1/gate"
rc=0
wait "$agent" || rc=$?
rm -f "$d1/console.pid"
ok 'test "$rc" = 0 && cmp -s "$d1/console.out" "$d1/typed"' \
    "h1's peerkey-boot takes the typed passphrase and prints it"
ok 'cl_check_key 1 <"$d1/console.out"' "the typed passphrase opens h1's disk"
ok '! grep -qF "$(cat "$d1/typed")" "$d1/screen"' \
    "the passphrase was not echoed on the console"
cl_up 1
for m in 2 3 4; do
	ok 'cl_is 1 "$m" enabled' "h1 still sees h$m enabled after the outage"
done
prev=1
for n in 2 3 4; do
	running=$(seq -s ' ' "$prev")
	ok 'CL_BOOT_PEERS="$running" cl_unlocks "$n" 30s' \
	    "h$n boots while only h$running run: unlocked"
	total=0
	for m in $running; do
		total=$((total + $(cl_count "$m" ".kind == \"released\" and
		    .peer == \"h$n\" and .id > ${mark[m]}")))
	done
	ok 'test "$total" -ge 1' "a running node recorded the release to h$n"
	cl_up "$n"
	prev=$n
done
for n in 1 2 3 4; do
	for m in $(cl_others "$n"); do
		ok 'wait_for "cl_is $n $m enabled" 20' \
		    "h$n sees h$m enabled at the end"
	done
	ok 'test "$(cl_count "$n" \
	    ".kind == \"disabled\" and .id > ${mark[n]}")" = 0' \
	    "h$n disabled nobody"
done
cl_done
