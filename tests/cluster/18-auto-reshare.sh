#!/bin/bash
# 18-auto-reshare.sh: the running machine re-splits its disk by itself
# (issue 17, "peerkey reshare", as its daily timer runs it), with the
# disk's maintenance key and no passphrase. h1's disk is split 2 of 3;
# enroll also made a maintenance key (its own keyslot, h1/maint/UUID.key,
# 0400 in a 0700 directory, named in the token). A guardian that stays
# down past its timeout: before reshare-after (peerkeyd.conf, [liveness])
# nothing is done; past it, reshare re-splits without it (the typed
# passphrase's file moved away), the real peerkey-boot unlocks from the
# new epoch, and the stopped guardian's stored share is of the old one.
# A split made with fewer guardians than its policy wants (rotate
# --guardians 4 --guardians-min 3 while one is down) grows when a new
# machine joins. A reshare killed after its first new share, then one
# killed once the new epoch is recorded: a boot in between unlocks, and
# the next run converges (one token, no guardian down). A guardian
# removed whose re-share failed is left out by the next reshare; without
# a maintenance key reshare says what to run (exit 5). A maintenance key
# file others may read is left alone. A rotate killed after the
# maintenance key's keyslot is added: the next rotate adopts it; unenroll
# kills it and removes its file.
#
#	h1 --+                 h1: its disk split 2 of 3
#	h2 --+                 h2..h5: peers; three of them guardians
#	h3 --+-- switch        h6: joins later
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
maint=$d1/maint/$uuid.key
# pkrs ARGS: peerkey reshare on h1 as its timer runs it: no terminal, no
# passphrase; its disk named (the scan would read this machine's disks).
pkrs() {
	cl_pkd 1 reshare "$@" "$img" </dev/null
}
# set_after DURATION MS: h1's peerkeyd.conf says reshare-after DURATION;
# SIGHUP; until its status says MS.
set_after() {
	cl_conf 1 "[liveness]" "reshare-after = $1"
	kill -HUP "$(cat "$d1/peerkeyd.pid")"
	wait_for "[ \"\$(cl_pk 1 -j status | jq .self.reshare_after_ms)\" = $2 ]" \
	    10
}
# due: until reshare --dry-run would re-split (h1's own downtime, a
# reboot, does not count against its guardians: a guardian's silence is
# counted from no earlier than h1's peerkeyd's start).
due() {
	wait_for "pkrs --dry-run 2>/dev/null | grep -q 'would re-split'" 30
}
# gone N: h1 stops hearing from guardian hN within a 3 s timeout (its
# machine powers off), until reshare --after 1s would re-split.
gone() {
	cl_pk 1 peer set "h$1" --timeout 3s >/dev/null || return 1
	cl_down "$1"
	wait_for "cl_pkd 1 reshare --dry-run --after 1s '$img' </dev/null |
	    grep -q 'would re-split'" 30
}

ok 'cl_pkd 1 enroll "$img" --threshold 2 --guardians 3 --key-file \
    "$d1/typed" >"$CL_DIR/enroll.out" 2>&1 && cl_pkd 1 boot-config >/dev/null' \
    "h1 enrolls its disk 2 of 3"
e1=$(cl_tokens 1 '.[0].epoch')
ms=$(cl_tokens 1 '.[0]."maintenance-keyslot"')
like "$(cat "$CL_DIR/enroll.out")" "maintenance key in keyslot $ms \\($maint\\)" \
    "...with a maintenance key, in a keyslot of its own"
is "$(stat -c '%a %U' "$maint") $(stat -c %a "$d1/maint")" "400 root 700" \
    "...its file root's, 0400, in a 0700 directory"
ok 'cryptsetup open --test-passphrase --key-slot "$ms" --key-file "$maint" \
    "$img"' "...the file's key opens that keyslot"
is "$(cl_slots 1)" 3 "three keyslots: typed, the split key, the maintenance key"
is "$(cl_tokens 1 '.[0]."guardians-wanted"')" 3 "the token records the guardians wanted"
set -- $(cl_guardians 1)
g1=$1
all="$*"

ok 'pkrs >"$CL_DIR/n1.out" 2>&1' "reshare with every guardian up: exit 0"
like "$(cat "$CL_DIR/n1.out")" "$img: nothing to re-share \\(2 of 3, epoch $e1\\)" \
    "...nothing to re-share"

# --- a guardian down, before and after reshare-after -------------------------
set_after 1h 3600000 || fail "h1 does not take reshare-after = 1h"
ok 'gone "${g1#h}"' "$g1 powers off; h1 no longer hears from it"
ok 'pkrs >"$CL_DIR/n2.out" 2>&1' "reshare before reshare-after (1h): exit 0"
like "$(cat "$CL_DIR/n2.out")" "nothing to re-share \\(2 of 3, epoch $e1; 1 guardian unseen past its timeout for less than reshare-after 1h00m\\)" \
    "...nothing to re-share, and why"
ok 'pkrs --after 0 >"$CL_DIR/n3.out" 2>&1' "reshare --after 0: exit 0"
like "$(cat "$CL_DIR/n3.out")" "reshare-after 0 \\(never\\)" "...0 is never"
is "$(cl_tokens 1 'length') $(cl_tokens 1 '.[0].epoch')" "1 $e1" "...the split is untouched"

set_after 1s 1000 || fail "h1 does not take reshare-after = 1s"
ok 'pkrs --dry-run >"$CL_DIR/dry.out" 2>&1' "reshare --dry-run past reshare-after"
like "$(cat "$CL_DIR/dry.out")" "$img: would re-split 2 of 3 without $g1: guardian $g1 unseen past its timeout for" \
    "...says what it would do and why"
is "$(cl_tokens 1 'length') $(cl_tokens 1 '.[0].epoch')" "1 $e1" "...and does nothing"

mv "$d1/typed" "$CL_DIR/typed.away"
ok 'pkrs >"$CL_DIR/rs.out" 2>"$CL_DIR/rs.err"' \
    "reshare past reshare-after, no passphrase anywhere: exit 0"
mv "$CL_DIR/typed.away" "$d1/typed"
like "$(cat "$CL_DIR/rs.out")" "re-splitting 2 of 3 without $g1: guardian $g1 unseen" \
    "...it says what it does and why"
like "$(cat "$CL_DIR/rs.out")" "re-shared: keyslot" "...it re-shared"
e2=$(cl_tokens 1 '.[0].epoch')
ok 'test "$e2" -gt "$e1"' "...under a new epoch ($e1 -> $e2)"
is "$(cl_tokens 1 'length') $(cl_tokens 1 '.[0].threshold') $(cl_tokens 1 '.[0].guardians | length')" \
    "1 2 3" "...one token, still 2 of 3"
unlike " $(cl_guardians 1) " " $g1 " "...$g1 is not a guardian"
new=$(cl_guardians 1)
is "$(cl_tokens 1 '.[0]."maintenance-keyslot"') $(cl_slots 1)" "$ms 3" \
    "...the maintenance key kept, the old keyslot gone"
for g in $new; do
	is "$(cl_held "${g#h}" 1)" 1 "$g holds one blob for h1: its share of epoch $e2"
done
is "$(sqlite3 "$CL_DIR/$g1/state/peerkey.db" "SELECT blob_id FROM blobs")" \
    "luks-$uuid@$e1" "the stopped $g1 still holds its share of epoch $e1 only"
cl_reboot 1 "the next boot unlocks"
like "$(cat "$d1/boot.log")" "luks-$uuid@$e2 \\(epoch $e2\\)" \
    "...from epoch $e2's shares"
unlike "$(cat "$d1/boot.log")" "\\(epoch $e1\\)" "...none of epoch $e1"
ok 'pkrs >"$CL_DIR/n4.out" 2>&1' "reshare again: exit 0"
like "$(cat "$CL_DIR/n4.out")" "nothing to re-share \\(2 of 3, epoch $e2\\)" \
    "...nothing to re-share"
is "$(cl_pkd 1 -j reshare "$img" </dev/null | jq -r '"\(.ok) \(.disks[0].action)"')" \
    "true nothing" "...and -j says so: {\"disks\": [{\"action\": \"nothing\", ...}]}"

# --- a policy that wants more guardians than the split has -------------------
ok 'cl_pkd 1 rotate "$img" --threshold 2 --guardians 4 --guardians-min 3 \
    --key-file "$d1/typed" >/dev/null 2>"$CL_DIR/grow.err"' \
    "rotate --guardians 4 --guardians-min 3 with $g1 down"
like "$(cat "$CL_DIR/grow.err")" "3 of the 4 guardians asked for can guard now" \
    "...says it splits among fewer"
is "$(cl_tokens 1 '.[0].threshold') $(cl_tokens 1 '.[0].guardians | length') $(cl_tokens 1 '.[0]."guardians-wanted"')" \
    "2 3 4" "...2 of 3, 4 wanted"
e3=$(cl_tokens 1 '.[0].epoch')
ok 'pkrs >"$CL_DIR/n5.out" 2>&1' "reshare with no one new: exit 0"
like "$(cat "$CL_DIR/n5.out")" "nothing to re-share \\(2 of 3, epoch $e3\\)" \
    "...nothing to re-share"
cl_host 6
cl_init_keys 6 || fatal "h6: peerkey init"
cl_start 6
ok 'cl_join 6 1 && wait_for "cl_guards 1 6 && cl_guards 6 1" 20' \
    "h6 joins through h1"
ok 'pkrs >"$CL_DIR/grow.out" 2>&1' "reshare: exit 0"
like "$(cat "$CL_DIR/grow.out")" "re-splitting 2 of 4: its policy wants 4 guardians, the split has 3" \
    "...it grows the split, and says why"
e4=$(cl_tokens 1 '.[0].epoch')
ok 'test "$e4" -gt "$e3"' "...under a new epoch ($e3 -> $e4)"
is "$(cl_tokens 1 'length') $(cl_tokens 1 '.[0].guardians | length')" "1 4" "...one token, 2 of 4"
like " $(cl_guardians 1) " " h6 " "...h6 is a guardian"
is "$(cl_held 6 1)" 1 "h6 holds its share"
cl_reboot 1 "the next boot unlocks"
like "$(cat "$d1/boot.log")" "\\(epoch $e4\\)" "...from epoch $e4's shares"

# --- reshare killed: a boot in between, the next run converges ---------------
cl_up "${g1#h}"
ok 'wait_for "cl_is ${g1#h} 1 enabled" 30' \
    "$g1 is back (it heartbeats h1, of whose disk it holds an old share)"
set -- $(cl_guardians 1)
x=$1
ok 'gone "${x#h}"' "guardian $x powers off"
r=0
PEERKEY_TEST_CRASH_AT=deposit pkrs >/dev/null 2>&1 || r=$?
is "$r" 9 "reshare killed after its first new share"
is "$(cl_tokens 1 'map(.state) | sort | join(" ")')" "depositing enrolled" \
    "...the old epoch is still the enrolled one"
cl_reboot 1 "a boot in between unlocks"
ok due "...past reshare-after again, counted from h1's start"
r=0
PEERKEY_TEST_CRASH_AT=enrolled pkrs >"$CL_DIR/k2.out" 2>&1 || r=$?
is "$r" 9 "the next reshare is killed once its new epoch is recorded"
like "$(cat "$CL_DIR/k2.out")" "undoing an interrupted enrollment" \
    "...it had undone the interrupted one first"
is "$(cl_tokens 1 'map(.state) | join(" ")')" "enrolled enrolled" \
    "...both epochs are enrolled"
cl_reboot 1 "a boot in between unlocks (from either epoch)"
ok 'pkrs >"$CL_DIR/k3.out" 2>&1' "the next reshare converges"
like "$(cat "$CL_DIR/k3.out")" "removing the key an interrupted rotate replaced" \
    "...it retired the older epoch"
like "$(cat "$CL_DIR/k3.out")" "nothing to re-share" "...and has nothing left to do"
is "$(cl_tokens 1 'length') $(cl_tokens 1 '.[0].guardians | length') $(cl_slots 1)" "1 4 3" \
    "one token, 2 of 4, three keyslots"
unlike " $(cl_guardians 1) " " $x " "...$x is not a guardian"
is "$(cl_tokens 1 '.[0]."maintenance-keyslot"')" "$ms" "...the maintenance key kept"
cl_reboot 1 "the next boot unlocks"

# --- a guardian removed, its re-share not made ------------------------------
cl_up "${x#h}"
ok 'wait_for "cl_is ${x#h} 1 enabled" 30' "$x is back"
set -- $(cl_guardians 1)
y=$1
r=0
cl_pkd 1 remove --yes --key-file "$CL_DIR/no-such-file" "$y" "$img" \
    </dev/null >/dev/null 2>"$CL_DIR/rm.err" || r=$?
is "$r" 5 "remove $y, its re-share failing (no passphrase file): exit 5"
like " $(cl_guardians 1) " " $y " "...the split still names $y"
ok 'pkrs >"$CL_DIR/rm.out" 2>&1' "reshare: exit 0"
like "$(cat "$CL_DIR/rm.out")" "re-splitting 2 of 4 without $y: guardian $y is no longer a peer here" \
    "...it re-splits without $y, and says why"
unlike " $(cl_guardians 1) " " $y " "...$y is not a guardian"
cl_reboot 1 "the next boot unlocks"

# --- the maintenance key's own steps -----------------------------------------
chmod 0644 "$maint"
ok 'cl_pkd 1 rotate "$img" --key-file "$d1/typed" >"$CL_DIR/perm.out" 2>&1' \
    "rotate with the maintenance key's file readable by all"
like "$(cat "$CL_DIR/perm.out")" "may be read by others than root: left as it is" \
    "...says so, and leaves it"
is "$(cl_tokens 1 '.[0]."maintenance-keyslot"') $(cl_slots 1)" "$ms 3" \
    "...no other maintenance key is made"
chmod 0400 "$maint"
ok 'cl_pkd 1 rotate "$img" --no-maintenance-key --key-file "$d1/typed" \
    >"$CL_DIR/nm.out" 2>&1' "rotate --no-maintenance-key"
like "$(cat "$CL_DIR/nm.out")" "maintenance key removed \\(keyslot $ms\\)" \
    "...removes the maintenance key"
is "$(cl_tokens 1 '.[0]."maintenance-keyslot" // "none"') $(cl_slots 1)" "none 2" \
    "...its keyslot killed, the token names none"
ok '[ ! -e "$maint" ]' "...its file is gone"
set -- $(cl_guardians 1)
z=$1
r=0
cl_pkd 1 remove --yes --key-file "$CL_DIR/no-such-file" "$z" "$img" \
    </dev/null >/dev/null 2>&1 || r=$?
is "$r" 5 "remove $z, its re-share failing: exit 5"
r=0
pkrs >/dev/null 2>"$CL_DIR/nm.err" || r=$?
is "$r" 5 "reshare without a maintenance key: exit 5"
like "$(cat "$CL_DIR/nm.err")" "needs a re-split \\(guardian $z is no longer a peer here\\) but has no maintenance key: run \"peerkey rotate $img\" once" \
    "...says why it cannot, and what to run"
r=0
PEERKEY_TEST_CRASH_AT=maint-slot cl_pkd 1 rotate "$img" --threshold 2 \
    --guardians 3 --key-file "$d1/typed" >/dev/null 2>&1 || r=$?
is "$r" 9 "a rotate killed after the maintenance key's keyslot is added"
is "$(cl_tokens 1 '.[0]."maintenance-keyslot" // "none"') $(cl_slots 1)" "none 3" \
    "...the token names no maintenance key yet"
ok 'cl_pkd 1 rotate "$img" --key-file "$d1/typed" >"$CL_DIR/ad.out" 2>&1' \
    "the next rotate"
ms=$(cl_tokens 1 '.[0]."maintenance-keyslot"')
ok 'cryptsetup open --test-passphrase --key-slot "$ms" --key-file "$maint" \
    "$img"' "...adopts the keyslot the file opens"
is "$(cl_slots 1)" 3 "...and adds no other"
ok 'cl_pkd 1 unenroll "$img" >"$CL_DIR/un.out" 2>&1' "unenroll"
like "$(cat "$CL_DIR/un.out")" "maintenance key removed" "...kills the maintenance key"
is "$(cl_tokens 1 'length') $(cl_slots 1)" "0 1" "...only the typed passphrase is left"
ok '[ ! -e "$maint" ]' "...its file is gone"
cl_done
