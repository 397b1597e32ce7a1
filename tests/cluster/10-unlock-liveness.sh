#!/bin/bash
# 10-unlock-liveness.sh: the boot key alone keeps nobody alive (finding 2
# of doc/trust.md's threat table). A thief carries h2 away with its disk
# and initramfs, so its boot key, and asks h1 for h2's passphrase once
# every half second from the moment of the theft, hoping that each release
# (which grants extended-timeout, time to finish booting) keeps h2 enabled
# for ever. It must not: a release never extends a machine with a node key
# past its last node-key proof of life + timeout + extended-timeout, so h1
# disables h2 then, whatever the thief keeps asking, and "peerkey status"
# says in between that h2 is enabled only by a release's extension. The
# cluster is built with the operator's commands; the thief's tool is
# pktool, fed with h2's boot key as "peerkey init" wrote it.
#
#	h1 --+-- switch        h2 stolen: its peerkeyd stops, its boot key
#	h2 --+                 UNLOCKs h1 over and over
CL_INTERVAL=1s CL_TIMEOUT=3s CL_EXTENDED=6s
. "$(dirname "$0")/lib.sh"
cl_init "${1:-}"
cl_cluster 2

d2=$CL_DIR/h2
# The theft: h2's node key goes silent (its last proof of life is now).
cl_down 2
start=$(date +%s)

# thief_unlock: one UNLOCK with h2's boot key; "released N" or "refused R".
thief_unlock() {
	n2 "$CL_PKTOOL" unlock "$d2/boot/tls.key" "$(cl_addr 1):$CL_PORT" \
	    2>/dev/null | head -n 1
}
# extension_seen: h1's status says h2 is enabled by a release's extension
# only, and when that ends.
extension_seen() {
	pk1 -j status | jq -e '.peers[] | select(.name == "h2") |
	    .state == "enabled" and .extension == true and
	    .expires_in_ms > 0' >/dev/null &&
	pk1 status | grep -q '^h2 .*enabled (extension)'
}
released=0 refused=0 ext=0
# 15 s of asking: far past 3 s + 6 s after the last proof of life.
while [ $(($(date +%s) - start)) -lt 15 ]; do
	case $(thief_unlock) in
	released*) released=$((released + 1)) ;;
	refused*) refused=$((refused + 1)) ;;
	esac
	[ "$ext" = 1 ] || ! extension_seen || ext=1
	sleep 0.5
done
echo "# the thief's UNLOCKs: $released released, $refused refused"
ok 'test "$released" -gt 0' \
    "within its timeout h2 is still released (the window of any theft)"
ok 'test "$ext" = 1' \
    "status showed h2 enabled by a release's extension only, and its end"
ok 'cl_is 1 2 disabled' \
    "h1 disabled h2 despite an UNLOCK every half second"
ok 'test "$refused" -gt 0 && thief_unlock | grep -q "^refused"' \
    "the thief's UNLOCKs are refused once the extension is over"
q='.kind == "disabled" and .peer == "h2" and (.detail | test("timeout"))'
ok 'cl_has 1 "$q"' "h1 recorded why (timeout)"

# Control: the real h2 comes back with its node key and is enabled again.
cl_up 2
ok 'wait_for "cl_is 1 2 enabled" 30' \
    "h2's own node key brings it back"
cl_done
