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
	check "h$n disables the silent h4" cl_wait 30 cl_is "$n" 4 disabled
	check "h$n records why h4 was disabled" \
	    cl_has "$n" '.kind == "disabled" and .peer == "h4" and
	    (.detail | test("timeout"))'
done
for n in 1 2 3; do
	for m in 1 2 3; do
		[ "$n" = "$m" ] && continue
		cl_is "$n" "$m" enabled || not_ok "h$n still sees h$m enabled"
	done
done
ok "the other peers stay enabled"

# The thief boots h4 with everything the machine carries.
cl_plug 4
check "the thief's boot gets no passphrase" \
    eval '! cl_boot 4 8s >"$CL_DIR/out" && ! test -s "$CL_DIR/out"'
for n in 1 2 3; do
	check "h4's boot agent was told h$n refused it (disabled)" \
	    grep -q "^peerkey-boot: h$n: refused: disabled" "$CL_DIR/h4/boot.log"
done
for n in 1 2 3; do
	check "h$n refused h4 and recorded why (disabled)" \
	    cl_wait 10 cl_has "$n" '.kind == "refused" and .peer == "h4" and
	    (.detail | test("disabled")) and (.address | test("192.0.2.4"))'
	check "h$n released nothing to h4" \
	    test "$(cl_count "$n" '.kind == "released" and .peer == "h4"')" = 0
done
cl_done
