#!/bin/bash
# 02-stolen.sh: a stolen machine. h4 is carried away: silent for longer
# than its timeout, it is disabled by every peer, and when the thief boots
# it (disk and initramfs in hand) on a network that reaches the peers,
# every peer refuses it and records why. The cluster is built with the
# operator's commands; the thief's boot is the machine's own peerkey-boot
# with the boot.conf "peerkey boot-config" wrote.
#
#	h1 --+
#	h2 --+-- switch        h4 unplugged past its timeout (4 s),
#	h3 --+                 then plugged back in by the thief
#	h4 --+
CL_INTERVAL=1s CL_TIMEOUT=4s CL_EXTENDED=4s
. "$(dirname "$0")/lib.sh"
cl_init "${1:-}"
cl_cluster 4

cl_down 4
cl_unplug 4
for n in 1 2 3; do
	ok 'wait_for "cl_is $n 4 disabled" 30' "h$n disables the silent h4"
	q='.kind == "disabled" and .peer == "h4" and
	    (.detail | test("timeout"))'
	ok 'cl_has "$n" "$q"' "h$n records why h4 was disabled"
done
for n in 1 2 3; do
	for m in 1 2 3; do
		[ "$n" = "$m" ] && continue
		cl_is "$n" "$m" enabled || fail "h$n still sees h$m enabled"
	done
done
pass "the other peers stay enabled"

# The thief boots h4 with everything the machine carries.
cl_plug 4
ok '! cl_boot 4 8s >"$CL_DIR/out" && ! test -s "$CL_DIR/out"' \
    "the thief's boot gets no passphrase"
for n in 1 2 3; do
	ok 'grep -q "^peerkey-boot: h$n: refused: disabled" \
	    "$CL_DIR/h4/boot.log"' \
	    "h4's boot agent was told h$n refused it (disabled)"
done
for n in 1 2 3; do
	q='.kind == "refused" and .peer == "h4" and
	    (.detail | test("disabled")) and (.address | test("192.0.2.4"))'
	ok 'wait_for "cl_has $n \"\$q\"" 10' \
	    "h$n refused h4 and recorded why (disabled)"
	q='.kind == "released" and .peer == "h4"'
	ok 'test "$(cl_count "$n" "$q")" = 0' "h$n released nothing to h4"
done
cl_done
