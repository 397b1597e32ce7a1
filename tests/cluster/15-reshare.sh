#!/bin/bash
# 15-reshare.sh: a guardian is removed and the split re-shares (issue 17).
# h1's disk is split 2 of 3 among three of its four peers. "peerkey remove
# G" on h1 re-splits it under a new epoch among the others (a fresh key
# in a new keyslot: every new share deposited, then the new epoch
# recorded in the LUKS2 token, then the old keyslot killed and the old
# shares withdrawn, G's too), then forgets G. The real peerkey-boot then
# unlocks from the new set only; G holds nothing of h1's any more, and G
# with one new guardian is one share, not two. A kill (the documented
# hook PEERKEY_TEST_CRASH_AT, an _exit as a kill -9 leaves things) after
# the first new share, and one after the new epoch is recorded but before
# the old is retired, and a rotate killed at each of its other steps: a
# boot in between unlocks (from the old epoch, or from either), and the
# next run (remove again, rotate) converges on one token, K and N kept,
# and the maintenance key (enroll's third keyslot) kept.
# With too few guardians left, remove says the disk is not re-shared and
# what to run, and that rotate re-splits it.
#
#	h1 --+                 h1: its disk split 2 of 3
#	h2 --+                 h2..h5: peers; three of them guardians
#	h3 --+-- switch
#	h4 --+
#	h5 --+
CL_INTERVAL=1s CL_TIMEOUT=30s CL_EXTENDED=10s
. "$(dirname "$0")/lib.sh"
cl_init "${1:-}"
cl_star 5
pass "five machines: h1 knows h2..h5, and they know it"

d1=$CL_DIR/h1
img=$d1/disk.img
uuid=$(cryptsetup luksUUID "$img")
# token Q: jq Q over h1's peerkey tokens (an array).
token() { cl_tokens 1 "$1"; }
guardians() { cl_guardians 1; }
# slots: how many keyslots are active.
slots() { cl_slots 1; }
# blobs hN: how many blobs hN holds for h1.
blobs() { cl_held "${1#h}" 1; }
# reboot WHY: h1 powers off, its peerkey-boot unlocks, h1 comes back and
# the guardians that hold a share (and run) see it enabled.
reboot() { cl_reboot 1 "$1"; }
# pkr ARGS: peerkey remove --yes on h1 with its passphrase file.
pkr() {
	cl_pkd 1 remove --yes --key-file "$d1/typed" "$@"
}

ok 'cl_pkd 1 enroll "$img" --threshold 2 --guardians 3 --key-file \
    "$d1/typed" >/dev/null 2>&1 && cl_pkd 1 boot-config >/dev/null' \
    "h1 enrolls its disk 2 of 3"
e1=$(token '.[0].epoch')
set -- $(guardians)
g1=$1
is "$#" 3 "three guardians: $*"
is "$(token '.[0].spread')" zone "the token records the spread label"
is "$(slots)" 3 "three keyslots: the typed passphrase, the split key and the maintenance key"

# --- remove g1, killed after the first new share -----------------------------
# (h1's boot configuration as its initramfs has it until update-initramfs)
cp "$d1/boot.conf" "$CL_DIR/boot.conf.before"
r=0
PEERKEY_TEST_CRASH_AT=deposit pkr "$g1" "$img" >"$CL_DIR/r1.out" \
    2>"$CL_DIR/r1.err" || r=$?
is "$r" 9 "remove $g1 is killed after the first new share is deposited"
like "$(cat "$CL_DIR/r1.out")" "$g1 guards a share of its 2-of-3 split \\(epoch $e1\\)" \
    "...it had said which disk it re-shares"
is "$(token 'map(.state) | sort | join(" ")')" "depositing enrolled" \
    "...the old epoch is still the enrolled one"
ok 'cl_guards 1 "${g1#h}"' "...and h1 still knows $g1"
reboot "a boot in between unlocks (the old epoch's keyslot and shares)"
like "$(cat "$d1/boot.log")" "luks-$uuid@$e1 \\(epoch $e1\\)" \
    "...from epoch $e1's shares"

ok 'pkr "$g1" "$img" >"$CL_DIR/r2.out" 2>"$CL_DIR/r2.err"' \
    "remove $g1 again converges"
like "$(cat "$CL_DIR/r2.out")" "undoing an interrupted enrollment" \
    "...it undid the interrupted re-split"
like "$(cat "$CL_DIR/r2.out")" "re-shared: keyslot" "...then re-shared"
is "$(token 'length')" 1 "one peerkey token is left"
e2=$(token '.[0].epoch')
ok 'test "$e2" -gt "$e1"' "...under a new epoch ($e1 -> $e2)"
is "$(token '.[0].threshold') $(token '.[0].guardians | length')" "2 3" \
    "...still 2 of 3"
is "$(token '.[0]."blob-id"')" "luks-$uuid@$e2" "...its shares named by it"
unlike " $(guardians) " " $g1 " "$g1 is not a guardian"
set -- $(guardians)
new="$*"
is "$(slots)" 3 "the old keyslot is gone"
for g in $new; do
	is "$(blobs "$g")" 1 "$g holds one blob for h1: its new share"
done
is "$(blobs "$g1")" 0 "$g1's old share was withdrawn"
ok '! cl_guards 1 "${g1#h}"' "h1 no longer knows $g1"
unlike "$(cat "$d1/boot.conf")" "$g1" "...nor does its boot configuration"

reboot "the next boot unlocks from the new set"
like "$(cat "$d1/boot.log")" "luks-$uuid@$e2 \\(epoch $e2\\)" \
    "...from epoch $e2's shares"
unlike "$(cat "$d1/boot.log")" "\\(epoch $e1\\)" "...none of epoch $e1"

# g1 (removed, still running) and one new guardian: one share, no key,
# even with an initramfs made before the removal, which still asks g1.
set -- $new
cl_down "${2#h}"
cl_down "${3#h}"
cl_down 1
: >"$d1/boot.log"
mv "$d1/boot.conf" "$CL_DIR/boot.conf.now"
cp "$CL_DIR/boot.conf.before" "$d1/boot.conf"
CL_BOOT_PEERS="${1#h} ${g1#h}" cl_boot 1 6s >"$CL_DIR/one.out" 2>/dev/null || :
mv "$CL_DIR/boot.conf.now" "$d1/boot.conf"
is "$(wc -c <"$CL_DIR/one.out")" 0 \
    "$g1 and $1 alone: no passphrase ($g1 holds nothing of h1's)"
like "$(cat "$d1/boot.log")" "luks-$uuid: 1 of 2 shares \\(epoch $e2\\)" \
    "...the agent has 1 of the 2 shares of epoch $e2"
cl_up "${2#h}"
cl_up "${3#h}"
cl_up 1
for g in $new; do
	wait_for "cl_is ${g#h} 1 enabled" 30 || fail "$g does not see h1"
done

# --- rotate, killed once the new epoch is recorded ---------------------------
r=0
PEERKEY_TEST_CRASH_AT=enrolled cl_pkd 1 rotate "$img" --key-file \
    "$d1/typed" >/dev/null 2>&1 || r=$?
is "$r" 9 "a rotate is killed after it recorded the new epoch"
is "$(token 'map(.state) | join(" ")')" "enrolled enrolled" \
    "...both epochs are enrolled"
is "$(slots)" 4 "...both keyslots are there (and the maintenance key's)"
reboot "a boot in between unlocks (from either epoch)"
ok 'cl_pkd 1 rotate "$img" --key-file "$d1/typed" >"$CL_DIR/rot.out" \
    2>/dev/null' "the next rotate converges"
like "$(cat "$CL_DIR/rot.out")" "removing the key an interrupted rotate replaced" \
    "...it retired the older epoch first"
is "$(token 'length') $(slots)" "1 3" "one token and its keyslot are left (and the maintenance key's)"
is "$(token '.[0].threshold') $(token '.[0].guardians | length')" "2 3" \
    "rotate keeps 2 of 3"
e3=$(token '.[0].epoch')
ok 'test "$e3" -gt "$e2"' "...under a newer epoch ($e2 -> $e3)"
for g in $new; do
	is "$(blobs "$g")" 1 "$g holds one blob for h1 (the old share withdrawn)"
done
reboot "the next boot unlocks"

# --- rotate killed at every other step: a boot between, then it converges ----
for step in token slot depositing sending undo-marked undo-killed; do
	r=0
	PEERKEY_TEST_CRASH_AT=$step cl_pkd 1 rotate "$img" --key-file \
	    "$d1/typed" >/dev/null 2>&1 || r=$?
	is "$r" 9 "rotate killed at $step"
	reboot "...a boot in between unlocks"
	ok 'cl_pkd 1 rotate "$img" --key-file "$d1/typed" >/dev/null 2>&1' \
	    "...the next rotate converges"
	is "$(token 'length') $(slots) $(token '.[0].state')" "1 3 enrolled" \
	    "...one enrolled token and its keyslot are left (and the maintenance key's)"
	is "$(token '.[0].threshold') $(guardians)" "2 $new" \
	    "...still 2 of 3: $new"
	for g in $new; do
		is "$(blobs "$g")" 1 "...$g holds one blob for h1"
	done
done
e3=$(token '.[0].epoch')

# --- too few guardians left: said, and what to run ---------------------------
set -- $new
g2=$1
r=0
pkr "$g2" "$img" >"$CL_DIR/r3.out" 2>"$CL_DIR/r3.err" || r=$?
is "$r" 5 "remove $g2 with two peers left for a 2-of-3 split: exit 5"
like "$(cat "$CL_DIR/r3.err")" "needs 3 reachable guardians; 2 are" \
    "...it says why it cannot re-share"
like "$(cat "$CL_DIR/r3.err")" "not re-shared: $g2's share still counts.*peerkey rotate $img" \
    "...and what to run"
ok '! cl_guards 1 "${g2#h}"' "...$g2 is removed all the same"
is "$(token '.[0].epoch')" "$e3" "...the split is untouched"
ok 'cl_pkd 1 rotate "$img" --threshold 2 --guardians 2 --key-file \
    "$d1/typed" >/dev/null 2>&1' "rotate --threshold 2 --guardians 2 re-splits"
is "$(token 'length') $(slots)" "1 3" "one token and its keyslot are left (and the maintenance key's)"
unlike " $(guardians) " " $g2 " "$g2 is not a guardian"
reboot "the next boot unlocks from the two"
cl_done
