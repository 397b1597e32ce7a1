#!/bin/bash
# 19-kill-peerkeyd.sh: a peerkeyd killed in the middle of a re-split
# (issue 17: kill -9 at every step of enroll and re-share, the next run
# converges and a boot in between unlocks). h1's disk is split 2 of 3
# among three of its four peers; the enroll's own guardian h2 dies after
# storing its share (exit 5, a boot in between unlocks from the other
# two, the rotate the enroll asks for converges). A guardian's peerkeyd dies (the test
# hook PEERKEY_TEST_CRASH_AT in its environment, an _exit as a kill -9
# leaves things) right after it stored its new share of a rotate, before
# its ACK: the rotate says so (exit 5, as for an unreachable guardian), a
# boot in between unlocks, and once the guardian is back the next rotate
# converges: one token, 2 of 3 kept, every guardian holding exactly one
# share of h1's, the current epoch's (the old epoch's share the dead
# guardian kept, which the rotate could not withdraw, is remembered in
# the token, "withdraw-pending", and withdrawn by the next run). The
# same with a guardian that dies right after it removed an old share (a
# WITHDRAW committed, not acknowledged), and with h1's own peerkeyd
# killed (SIGKILL) before a rotate (it fails at once, saying so) or
# while it deposits (it ends): a boot in between unlocks, and it
# converges once h1's peerkeyd is back.
# A remove whose new guardian dies the same way: re-shared all the same,
# exit 5 as for a rotate, and the next rotate converges.
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
token() { cl_tokens 1 "$1"; }
# rotate: peerkey rotate of h1's disk with its passphrase file.
rotate() {
	cl_pkd 1 rotate "$img" --key-file "$d1/typed"
}
# crashing N STEP: host N's peerkeyd restarted to die at STEP.
crashing() {
	cl_stop "$1"
	PEERKEY_TEST_CRASH_AT=$2 cl_start "$1"
}
# converged WHY: one enrolled token of 2 of 3 guardians (the same ones),
# each of them holding one blob of h1's (the current epoch's share), the
# spare peer none.
converged() {
	is "$(token 'length') $(token '.[0].state') $(cl_slots 1)" \
	    "1 enrolled 3" "$1: one enrolled token and its keyslot (and the maintenance key's)"
	is "$(token '.[0].threshold') $(cl_guardians 1)" "2 $all" \
	    "...still 2 of 3: $all"
	is "$(token '.[0]."held-by" | sort | join(" ")')" "$all" \
	    "...every guardian holds its share"
	for g in $all; do
		is "$(cl_held "${g#h}" 1)" 1 "...$g holds one blob for h1"
	done
	is "$(cl_held "${spare#h}" 1)" 0 "...$spare none"
}

# --- enroll: a guardian dies once it stored its share ----------------------
crashing 2 deposit-stored
r=0
cl_pkd 1 enroll "$img" --threshold 2 --guardians h2,h3,h4 --key-file \
    "$d1/typed" >"$CL_DIR/e.out" 2>"$CL_DIR/e.err" || r=$?
is "$r" 5 "an enroll 2 of h2,h3,h4 whose guardian h2 dies after storing its share: exit 5"
like "$(cat "$CL_DIR/h2/peerkeyd.log")" "test crash at \"deposit-stored\"" \
    "...at deposit-stored"
is "$(token '.[0]."held-by" | sort | join(" ")')" "h3 h4" \
    "...the token says h3 and h4 hold their shares"
ok 'cl_pkd 1 boot-config >/dev/null' "h1's boot configuration"
cl_reboot 1 "a boot in between unlocks (h3's and h4's shares)"
cl_start 2
ok 'rotate >/dev/null 2>&1' "with h2 back, the rotate the enroll asked for converges"
set -- $(cl_guardians 1)
all="$*"
ga=$1 gb=$2
spare=
for n in 2 3 4 5; do
	[[ " $all " == *" h$n "* ]] || spare=h$n
done
is "$#" 3 "three guardians: $all (spare $spare)"
converged "after an enroll whose guardian was killed at deposit-stored"

# --- a guardian dies once it stored its new share ---------------------------
e1=$(token '.[0].epoch')
crashing "${ga#h}" deposit-stored
r=0
rotate >"$CL_DIR/a.out" 2>"$CL_DIR/a.err" || r=$?
is "$r" 5 "a rotate whose guardian $ga dies after storing its share: exit 5"
like "$(cat "$CL_DIR/a.err")" "peer $ga: deposit failed" "...it says $ga failed"
ok '! cl_running "${ga#h}"' "...$ga's peerkeyd is dead"
like "$(cat "$CL_DIR/$ga/peerkeyd.log")" "test crash at \"deposit-stored\"" \
    "...at deposit-stored"
e2=$(token '.[0].epoch')
ok 'test "$e2" -gt "$e1"' "...the new epoch is the enrolled one ($e1 -> $e2)"
is "$(token 'length') $(token '.[0]."held-by" | length')" "1 2" \
    "...one token, two guardians acknowledged"
is "$(token ".[0].\"withdraw-pending\"[\"luks-$uuid@$e1\"] | join(\" \")")" "$ga" \
    "...the token remembers that $ga may still hold epoch $e1's share"
cl_reboot 1 "a boot in between unlocks (the other two's shares)"
like "$(cat "$d1/boot.log")" "luks-$uuid@$e2 \\(epoch $e2\\)" \
    "...from epoch $e2's"
cl_start "${ga#h}"
ok 'rotate >"$CL_DIR/a2.out" 2>/dev/null' "with $ga back, the next rotate converges"
like "$(cat "$CL_DIR/a2.out")" "withdrawing blob luks-$uuid@$e1 from the peers that were down" \
    "...it withdrew epoch $e1's share from $ga first"
is "$(token '.[0]."withdraw-pending"')" null "...and forgot it"
converged "after a guardian killed at deposit-stored"
cl_reboot 1 "the next boot unlocks"

# --- a guardian dies once it removed an old share ---------------------------
crashing "${gb#h}" withdraw-stored
r=0
rotate >"$CL_DIR/b.out" 2>"$CL_DIR/b.err" || r=$?
ok '! cl_running "${gb#h}"' "a rotate: guardian $gb dies after a withdraw is stored (exit $r)"
like "$(cat "$CL_DIR/$gb/peerkeyd.log")" "test crash at \"withdraw-stored\"" \
    "...at withdraw-stored"
like "$(cat "$CL_DIR/b.err")" "peer $gb: cannot withdraw" \
    "...the rotate says it could not withdraw there"
is "$(token 'length') $(token '.[0].state')" "1 enrolled" \
    "...one enrolled token"
cl_reboot 1 "a boot in between unlocks"
cl_start "${gb#h}"
ok 'rotate >/dev/null 2>&1' "with $gb back, the next rotate converges"
is "$(token '.[0]."withdraw-pending"')" null "...nothing left to withdraw"
converged "after a guardian killed at withdraw-stored"

# --- h1's own peerkeyd killed -----------------------------------------------
cl_kill 1
r=0
rotate >"$CL_DIR/c.out" 2>"$CL_DIR/c.err" || r=$?
is "$r" 3 "a rotate with h1's peerkeyd killed fails: exit 3"
like "$(cat "$CL_DIR/c.err")" "peerkeyd" "...saying it cannot reach peerkeyd"
is "$(token 'length') $(token '.[0].state')" "1 enrolled" \
    "...the split is untouched"
cl_start 1
for g in $all; do
	wait_for "cl_is ${g#h} 1 enabled" 30 || fail "$g does not see h1"
done
ok 'rotate >/dev/null 2>&1' "with h1's peerkeyd back, the next rotate converges"
converged "after h1's peerkeyd was killed"
cl_reboot 1 "the next boot unlocks"

# --- h1's own peerkeyd killed while a rotate deposits -----------------------
# (the rotate talks to the guardians itself: it ends, whatever it says)
e=$(token '.[0].epoch')
cl_bg 1 rot "$CL_PEERKEY" -d "$d1" -s "$d1/run/control.sock" rotate "$img" \
    --key-file "$d1/typed"
rot=$!
deposited() {
	local g
	for g in $all; do
		grep -q "deposit: peer h1: blob luks-$uuid@$((e + 1)) " \
		    "$CL_DIR/$g/peerkeyd.log" && return 0
	done
	return 1
}
wait_for deposited 60 || fail "no guardian took a share of epoch $((e + 1))"
cl_kill 1
ok 'wait_for "! kill -0 $rot" 60' "a rotate whose own peerkeyd is killed as it deposits ends"
r=0
wait "$rot" || r=$?
pass "...with exit $r"
cl_start 1
for g in $all; do
	wait_for "cl_is ${g#h} 1 enabled" 30 || fail "$g does not see h1"
done
cl_reboot 1 "a boot in between unlocks"
ok 'rotate >/dev/null 2>&1' "with h1's peerkeyd back, the next rotate converges"
converged "after h1's peerkeyd was killed during a rotate"
cl_reboot 1 "the next boot unlocks"

# --- remove: a new guardian dies once it stored its share -------------------
e=$(token '.[0].epoch')
set -- $all
gone=$1 gc=$2
crashing "${gc#h}" deposit-stored
r=0
cl_pkd 1 remove --yes --key-file "$d1/typed" "$gone" "$img" \
    >"$CL_DIR/e.out" 2>"$CL_DIR/e.err" || r=$?
is "$r" 5 "remove $gone, $gc dying after storing its share: exit 5"
like "$(cat "$CL_DIR/e.err")" "peer $gc: deposit failed" "...it says $gc failed"
like "$(cat "$CL_DIR/e.out")" "re-shared: keyslot" "...it re-shared all the same"
ok '! cl_running "${gc#h}"' "...$gc's peerkeyd is dead"
is "$(token ".[0].\"withdraw-pending\"[\"luks-$uuid@$e\"] | join(\" \")")" "$gc" \
    "...the token remembers that $gc may still hold epoch $e's share"
ok '! cl_guards 1 "${gone#h}"' "...h1 no longer knows $gone"
cl_reboot 1 "a boot in between unlocks"
cl_start "${gc#h}"
all=$(cl_guardians 1)
spare=$gone
unlike " $all " " $gone " "$gone is not a guardian"
ok 'rotate >/dev/null 2>&1' "with $gc back, the next rotate converges"
converged "after a new guardian killed at deposit-stored during remove"
cl_reboot 1 "the next boot unlocks"
cl_done
