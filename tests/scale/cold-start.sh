#!/bin/bash
# cold-start.sh: a whole-fleet cold start (issue 19). SC_N machines
# (default 12; lib-scale.sh says how they are made: a namespace, a real
# peerkeyd and a real LUKS2 image each, formed with "peerkey invite" and
# "peerkey join" through h1, enrolled with "peerkey enroll --threshold K
# --guardians G", K = 2 of G = 3 by default) lose power together: every
# daemon is killed -9 at once. Before that, one machine, the last one
# whose key is split, was carried away: its guardians disabled it. Then every machine's real
# peerkey-boot starts, h1's passphrase is typed (its key file opens its
# disk; its peerkeyd starts) and the fleet unlocks itself: each machine
# whose agent printed a passphrase has it checked against its disk and
# then runs its peerkeyd, which unlocks the next ones.
#
# Asserted (behaviour only; bench/scale.sh takes the times): every machine
# but the stolen one gets its own passphrase; the stolen one gets nothing
# and nobody released anything to it; no machine released a key it was
# not a guardian of (a whole key: any peer; a split one: its token's
# guardians), and each split machine combined K shares; nobody was
# disabled by the outage.
set -u
. "$(dirname "$0")/lib-scale.sh"
cl_init "${1:-}"

sc_fleet "$SC_N"
pass "$SC_N machines formed through h1's invitations and enrolled"
# The stolen machine: the last one whose key is split.
stolen=$(for n in $(seq "$SC_N"); do sc__whole "$n" || echo "$n"; done |
    tail -n 1)
ok 'test "$(wc -l <"$CL_DIR/h$stolen/guardians")" = "$SC_G"' \
    "h$stolen's key is split among $SC_G guardians"
ok 'sc_steal "$stolen"' "h$stolen is carried away: its guardians disable it"

sc_cold_start
cat "$CL_DIR/cascade" | sed 's/^/# cascade: /' >&2
echo "# formed in $SC_FORM_S s, enrolled in $SC_ENROLL_S s, all unlocked" \
    "$SC_UNLOCK_S s after the typed passphrase" >&2

for n in $(seq 2 "$SC_N"); do
	[ "$n" = "$stolen" ] && continue
	ok 'grep -qx "[0-9.]* h$n" "$CL_DIR/cascade"' \
	    "h$n's peerkey-boot got its passphrase; it opens h$n's disk"
done

# The stolen machine: its agent is still asking; it has nothing.
ok 'avahi__alive "$(cat "$CL_DIR/h$stolen/boot.pid")"' \
    "the stolen h$stolen's peerkey-boot is still waiting"
stop "$(cat "$CL_DIR/h$stolen/boot.pid")" || :
is "$(wc -c <"$CL_DIR/h$stolen/boot.out")" 0 "...and got no passphrase"
total=0
for m in $(seq "$SC_N"); do
	[ "$m" = "$stolen" ] && continue
	total=$((total + $(sc_released_by "$m" "$stolen")))
done
is "$total" 0 "nobody released anything to the stolen h$stolen"

# Releases only by those that hold the key; K shares combined.
wrong=""
for n in $(seq 2 "$SC_N"); do
	[ "$n" = "$stolen" ] && continue
	for m in $(seq "$SC_N"); do
		[ "$m" = "$n" ] && continue
		grep -qx "h$m" "$CL_DIR/h$n/guardians" && continue
		[ "$(sc_released_by "$m" "$n")" = 0 ] || wrong="$wrong h$m->h$n"
	done
done
is "$wrong" "" "no machine released a key it is not a guardian of"
short=""
for n in $(seq 2 "$SC_N"); do
	[ "$n" = "$stolen" ] && continue
	sc__whole "$n" && continue
	grep -q "$SC_K of $SC_K shares of .*: passphrase combined" \
	    "$CL_DIR/h$n/boot.log" || short="$short h$n"
done
is "$short" "" "every split machine combined $SC_K shares"

# Nobody but the stolen machine was disabled by the outage.
dis=""
for m in $(seq "$SC_N"); do
	[ "$m" = "$stolen" ] && continue
	c=$(cl_count "$m" ".kind == \"disabled\" and .id > ${SC_MARK[m]}")
	[ "$c" = 0 ] || dis="$dis h$m:$c"
done
is "$dis" "" "the outage disabled nobody"
cl_done
