#!/bin/bash
# 14-threshold.sh: a disk split 2 of 3 (issue 17). h1's key is split
# among h2, h3 and h4 by "peerkey rotate --threshold 2 --guardians
# h2,h3,h4" (the whole blob it had at every peer is withdrawn): each
# guardian holds one signed share "luks-UUID@EPOCH" and nothing that opens
# the disk alone. The real peerkey-boot combines two verified shares of
# one epoch and checks them against the header; with one share it says
# "1 of 2" and that 2 are needed, and opens nothing. The thief of
# finding 2 (doc/trust.md) with h1's disk and initramfs, helped by a
# member that ignores liveness (h2, whose policy for h1 is a timeout of a
# day: it releases to anyone with h1's boot key), gets that one share and
# nothing more once the honest guardians have disabled h1. A Mandos
# client with h1's boot key is never given a share (whole blobs only).
#
#	h1 --+                 h1: enrolled 2 of 3, reboots
#	h2 --+-- switch        h2: the member that ignores liveness
#	h3 --+                 h3, h4: honest guardians
#	h4 --+
CL_INTERVAL=1s CL_TIMEOUT=5s CL_EXTENDED=3s
. "$(dirname "$0")/lib.sh"
cl_init "${1:-}"
cl_cluster 4

d1=$CL_DIR/h1
uuid=$(cryptsetup luksUUID "$d1/disk.img")
# token Q: jq Q over h1's peerkey token(s).
token() {
	cryptsetup luksDump --dump-json-metadata "$d1/disk.img" |
	    jq -r "[.tokens[] | select(.type == \"peerkey\")] | $1"
}
# blobs N: how many blobs node N holds for h1.
blobs() {
	cl_pk "$1" -j status | jq '.peers[] | select(.name == "h1") | .blobs'
}

# Too few guardians: a clear error, nothing changed.
before=$(token '.[0]."blob-id"')
ok '! cl_pkd 1 rotate "$d1/disk.img" --threshold 2 --guardians 5 \
    --key-file "$d1/typed" 2>"$CL_DIR/few.err" >/dev/null' \
    "a 2-of-5 split with 3 peers is refused"
like "$(cat "$CL_DIR/few.err")" "needs 5 reachable guardians.*nothing changed" \
    "...and says why"
is "$(token '.[0]."blob-id"')" "$before" "...the token is untouched"
ok '! cl_pkd 1 rotate "$d1/disk.img" --guardians 3 --key-file \
    "$d1/typed" 2>/dev/null' "--guardians without --threshold is refused"

# The split.
ok 'cl_pkd 1 rotate "$d1/disk.img" --threshold 2 --guardians h2,h3,h4 \
    --key-file "$d1/typed" >"$CL_DIR/split.out" &&
    cl_pkd 1 boot-config >/dev/null' \
    "h1 rotates its key into a 2-of-3 split"
like "$(cat "$CL_DIR/split.out")" "2 of 3 shares open it" \
    "...and says so"
is "$(token 'length')" 1 "one peerkey token is left"
is "$(token '.[0].threshold')" 2 "the token records the threshold"
epoch=$(token '.[0].epoch')
is "$(token '.[0]."blob-id"')" "luks-$uuid@$epoch" \
    "...the epoch, which names the shares"
is "$(token '[.[0].guardians[] | "\(.name)=\(.share)"] | join(" ")')" \
    "h2=1 h3=2 h4=3" "...and every guardian with its share"
for n in 2 3 4; do
	is "$(blobs "$n")" 1 "h$n holds one blob for h1: its share"
done

# Mandos protocol 1 carries whole blobs only: h1's boot key asking h3 as
# a Mandos client (pktool mandos) gets nothing, though h1 is enabled
# there, and h3 says why (doc/mandos-compat.md).
n1 "$CL_PKTOOL" mandos "$d1/boot/tls.key" "$(cl_addr 3):$CL_PORT" \
    >"$CL_DIR/mandos.out" 2>/dev/null || :
is "$(wc -c <"$CL_DIR/mandos.out")" 0 \
    "a Mandos client with h1's boot key gets no share from h3"
ok 'cl_has 3 ".kind == \"refused\" and .peer == \"h1\" and
    .detail == \"nothing deposited (mandos)\""' \
    "...h3 refused it: nothing deposited (mandos)"

# Every guardian up: two shares are enough.
cl_down 1
ok 'cl_unlocks 1 30s' "h1 reboots: two shares unlock its disk"
like "$(cat "$d1/boot.log")" "1 of 2 shares of luks-$uuid; waiting for h" \
    "the agent said how far it was"
like "$(cat "$d1/boot.log")" "2 of 2 shares of luks-$uuid: passphrase combined" \
    "...and when it had the two"
cl_up 1

# One guardian down: the other two unlock.
cl_down 4
cl_down 1
: >"$d1/boot.log"
ok 'cl_unlocks 1 30s' "with h4 off, h2 and h3 unlock h1"
cl_up 4
cl_up 1
for n in 2 3 4; do
	wait_for "cl_is $n 1 enabled" 20 || fail "h$n does not see h1 again"
done

# The thief: h1 is carried away; h2 ignores liveness (a day's timeout
# for h1), h3 and h4 disable h1 after 5 s + 3 s.
ok 'pk2 peer set h1 --timeout 1d >/dev/null' "h2 stops caring whether h1 lives"
# h2_keeps_h1: h2 expects h1 for a day (counted from h1's next proof of
# life after the change).
h2_keeps_h1() {
	pk2 -j status | jq -e '.peers[] | select(.name == "h1") |
	    .expires_in_ms > 60000' >/dev/null
}
ok 'wait_for h2_keeps_h1 20' "...h1 expires in a day there"
cl_down 1
ok 'wait_for "cl_is 3 1 disabled && cl_is 4 1 disabled" 30' \
    "h3 and h4 disable the silent h1"
ok 'cl_is 2 1 enabled' "...h2 still releases to it"
rel2=$(cl_count 2 '.kind == "released" and .peer == "h1"')
: >"$d1/boot.log"
cl_boot 1 6s >"$CL_DIR/thief.out" 2>/dev/null || :
is "$(wc -c <"$CL_DIR/thief.out")" 0 \
    "the thief's boot, with one member's help, gets no passphrase"
ok 'test "$(cl_count 2 ".kind == \"released\" and .peer == \"h1\"")" \
    -gt "$rel2"' "...though h2 released its share"
like "$(cat "$d1/boot.log")" "1 of 2 shares of luks-$uuid; waiting for h" \
    "the agent says it has 1 of 2"
like "$(cat "$d1/boot.log")" "luks-$uuid: 1 of 2 shares .*2 are needed" \
    "...and that 2 are needed"
like "$(cat "$d1/boot.log")" "h3: refused" "...h3 refused the thief"
cl_done
