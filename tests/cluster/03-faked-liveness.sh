#!/bin/bash
# 03-faked-liveness.sh: faking liveness (the Mandos FAQ's "faking ping
# replies"). A thief holds h3's disk and initramfs, so its boot key (TLS
# and OpenPGP), but not its node key, which is on the encrypted disk. He
# answers for h3 on its address with a peerkeyd that has only the boot key,
# and sends heartbeats signed by the boot key: the peers must still disable
# h3 at its timeout and refuse its passphrase. The cluster is built with
# the operator's commands; the thief's tools are a peerkeyd of his own and
# pktool, fed with h3's boot key (boot/tls.key, as "peerkey init" wrote it).
#
#	h1 --+
#	h2 --+-- switch        h3: the real machine, then the thief's
#	h3 --+                 impostor (same address, boot key only)
CL_INTERVAL=1s CL_TIMEOUT=5s CL_EXTENDED=5s
. "$(dirname "$0")/lib.sh"
cl_init "${1:-}"
cl_cluster 3

d3=$CL_DIR/h3
cl_down 3
# The last event id on each peer when the real h3 went away.
mark1=$(cl_events 1 | jq -s 'map(.id) | max')
mark2=$(cl_events 2 | jq -s 'map(.id) | max')
# The impostor: a peerkeyd on h3's address whose "node key" is h3's boot
# key (all the thief has), answering heartbeats.
cp "$d3/peerkeyd.conf" "$d3/real.conf"
sed -i "s|^key = .*|key = $d3/boot/tls.key|; s|^state-directory = .*|state-directory = $d3/fake-state|" \
    "$d3/peerkeyd.conf"
cl_start 3
ok 'cl__ready 3' "the impostor answers on h3's address"
# It knows h1 and h2 (their key ids are no secret), so it would answer
# their heartbeats if they accepted its key.
cl_peer_add 3 1
cl_peer_add 3 2

# The thief's heartbeats, signed by the boot key, to both peers.
hb_ok=0
for i in 1 2 3; do
	for n in 1 2; do
		n3 "$CL_PKTOOL" heartbeat "$d3/boot/tls.key" \
		    "$(cl_addr "$n"):$CL_PORT" >/dev/null 2>&1 &&
		    hb_ok=$((hb_ok + 1))
	done
	sleep 1
done
ok 'test "$hb_ok" = 0' "no heartbeat signed by the boot key is accepted"
for n in 1 2; do
	ok 'wait_for "cl_is $n 3 disabled" 30' \
	    "h$n disables h3 at its timeout despite the impostor"
	ok 'grep -q "peer h3 at .* shows key .*not its node key" \
	    "$CL_DIR/h$n/peerkeyd.log"' \
	    "h$n's checks of the impostor fail (wrong node key)"
	mark=$(eval echo "\$mark$n")
	ok 'test "$(cl_count "$n" ".id > $mark and .peer == \"h3\" and
	    (.kind == \"check-ok\" or .kind == \"enabled\")")" = 0' \
	    "h$n recorded no successful check of h3 after the theft"
	cl_events "$n" | jq -r 'select(.kind == "check-failed" and
	    .peer == "h3") | "# h'"$n"': check-failed: " + .detail' | sort -u
done
# Keep faking for a while longer: still disabled.
for i in 1 2; do
	for n in 1 2; do
		n3 "$CL_PKTOOL" heartbeat "$d3/boot/tls.key" \
		    "$(cl_addr "$n"):$CL_PORT" >/dev/null 2>&1
	done
	sleep 1
done
ok 'cl_is 1 3 disabled' "h1 still sees h3 disabled"
ok 'cl_is 2 3 disabled' "h2 still sees h3 disabled"
ok '! cl_boot 3 8s >"$CL_DIR/out" && ! test -s "$CL_DIR/out"' \
    "the thief's boot gets no passphrase"
for n in 1 2; do
	q='.kind == "refused" and .peer == "h3" and
	    (.detail | test("disabled"))'
	ok 'cl_has "$n" "$q"' "h$n refused h3's boot key (disabled)"
	ok 'grep -q "^peerkey-boot: h$n: refused: disabled" "$d3/boot.log"' \
	    "h3's boot agent was told h$n refused it (disabled)"
done

# Control: the real h3 (node key) comes back and is enabled again.
cl_stop 3
cp "$d3/real.conf" "$d3/peerkeyd.conf"
cl_start 3
ok 'wait_for "cl_is 1 3 enabled" 30' \
    "the real h3, with its node key, is enabled again"
cl_done
