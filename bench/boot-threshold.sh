#!/bin/bash
# bench/boot-threshold.sh: the boot agent's time to passphrase with a disk
# split 3 of 5 beside a whole blob (K = 1) at the same five guardians,
# measured in one run (issue 17). Prints figures, never passes or fails
# on time.
#
#	bench/boot-threshold.sh BUILDDIR [RUNS]	(RUNS per disk, default 10)
#
# Seven hosts in network namespaces, built as tests/cluster/lib.sh builds
# them (real peerkeyd and avahi, "peerkey init", invite/join through h1):
# h2..h6 are the guardians. h1's image k3.img is enrolled with "peerkey
# enroll --threshold 3 --guardians 5" while h2..h6 are its only peers (one
# share at each); then h7 joins, and its image k1.img is enrolled with
# "peerkey enroll --peers h2,h3,h4,h5,h6" (the whole key at each of the
# same five); "peerkey boot-config" on both. BENCH_ONE_MACHINE=1 puts both
# images on h1 instead (six hosts): every guardian then answers h1 with
# both blobs, and the agent tries the other disk's blob too.
# The machines' peerkeyd are stopped (they are booting; the guardians' 1 h
# timeout keeps them enabled) and the real peerkey-boot runs in the
# machine's namespace as the keyscript runs it (-d IMAGE, no prompt), its
# boot.conf from boot-config with the five guardians, its work directory
# on a tmpfs (/dev/shm) as in an initramfs. The two disks alternate run
# by run, the one that goes first swapped each round (ABBA), so that the
# load of this shared machine falls on both alike; one untimed run of
# each comes first.
#
# Each run is timed by a small timer inside the namespace (bench/
# results' "checked" column): from the agent's start to its stderr line
# that the passphrase opens the disk ("hN: passphrase received" for a
# blob, "3 of 3 shares ...: passphrase combined" for the split; both are
# printed right after the key was tried against the LUKS header), and to
# its exit ("exit": the passphrase written, GnuPG torn down). After each
# run, untimed, the printed passphrase must open the image (cryptsetup
# --test-passphrase), else the run is not counted.
#
# Writes bench/results/DATE-boot-threshold.txt (-one-machine.txt; load and nproc before and
# after, median/min/max of each, the ratio, every raw figure). Needs
# root and what tests/cluster needs. Every process it starts is stopped
# by PID; the namespaces carry this shell's PID.
set -u

[ $# -ge 1 ] && [ $# -le 2 ] ||
    { echo "usage: bench/boot-threshold.sh BUILDDIR [RUNS]" >&2; exit 2; }
RUNS=${2:-10}
case $RUNS in ''|*[!0-9]*) echo "bench: RUNS is a number" >&2; exit 2 ;; esac
top=$(cd "$(dirname "$0")/.." && pwd)
B=$(cd "$1" && pwd) || exit 2
STAMP=$(date -u +%Y-%m-%dT%H%MZ)
RESDIR=$top/bench/results
ONE=${BENCH_ONE_MACHINE:-0}
case $ONE in 0) SUFFIX= ;; 1) SUFFIX=-one-machine ;;
*) echo "bench: BENCH_ONE_MACHINE is 0 or 1" >&2; exit 2 ;; esac
RES=$RESDIR/$STAMP-boot-threshold$SUFFIX.txt

# The cluster harness; a long timeout so that h1 stays enabled while it
# "boots" for the whole run. Its TAP lines go to stderr.
CL_INTERVAL=1s CL_TIMEOUT=1h CL_EXTENDED=1h
top_srcdir=$top
. "$top/tests/cluster/lib.sh"
cl_init "$B" >&2

say() { printf '%s\n' "bench: $*" >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
HEAD="# load average at start: $(loadavg) (uptime:$(uptime | sed 's/.*load average//'))
# nproc at start: $(nproc)"

# --- the cluster: h1, h7 and their five guardians ----------------------------
# img K: the image of the K disk; mach K: the host it belongs to.
if [ "$ONE" = 1 ]; then
	say "six hosts: h1 and its guardians h2..h6; both disks on h1"
	HOSTS="1 2 3 4 5 6" M1=1
else
	say "seven hosts: h1 (3 of 5), h7 (whole blob), guardians h2..h6"
	HOSTS="1 2 3 4 5 6 7" M1=7
fi
M3=1
cl_switch
for n in $HOSTS; do
	cl_host "$n"
	cl_init_keys "$n" || fatal "h$n: peerkey init"
done
for n in $HOSTS; do
	cl_start "$n"
done
# join N: N joins through h1, and they know each other.
join() {
	cl_join "$1" 1 || fatal "h$1: peerkey join"
	wait_for "cl_guards 1 $1" 20 || fatal "h1 does not know h$1"
	wait_for "cl_guards $1 1" 20 || fatal "h$1 does not know h1"
}
for n in 2 3 4 5 6; do
	join "$n"
done
# disk K: host MK's image kK.img, a typed passphrase (cl_disk's way).
disk() {
	local d=$CL_DIR/h$2
	[ -s "$d/typed" ] ||
	    head -c 12 /dev/urandom | base64 | tr -d '\n' >"$d/typed"
	truncate -s 20M "$d/k$1.img"
	cryptsetup -q luksFormat --type luks2 --pbkdf pbkdf2 \
	    --pbkdf-force-iterations 1000 --key-file "$d/typed" \
	    "$d/k$1.img" >/dev/null || fatal "luksFormat h$2 k$1.img"
}
img() { eval "echo \$CL_DIR/h\$M$1/k$1.img"; }
disk 3 "$M3"
disk 1 "$M1"
# h1 has exactly its five guardians as peers when it splits.
say "enrolling k3.img on h$M3 (3 of 5)"
cl_pkd "$M3" enroll "$(img 3)" --threshold 3 --guardians 5 \
    --key-file "$CL_DIR/h$M3/typed" >"$CL_DIR/k3.enroll" 2>&1 ||
    fatal "enroll k3.img: $(cat "$CL_DIR/k3.enroll")"
cl_pkd "$M3" boot-config >/dev/null || fatal "h$M3: boot-config"
if [ "$ONE" = 0 ]; then
	join 7
	for n in 2 3 4 5 6; do
		wait_for "cl_guards 7 $n && cl_guards $n 7" 20 ||
		    fatal "h7 and h$n do not know each other"
	done
fi
say "enrolling k1.img on h$M1 (whole blob at h2..h6)"
cl_pkd "$M1" enroll "$(img 1)" --peers h2,h3,h4,h5,h6 \
    --key-file "$CL_DIR/h$M1/typed" >"$CL_DIR/k1.enroll" 2>&1 ||
    fatal "enroll k1.img: $(cat "$CL_DIR/k1.enroll")"
cl_pkd "$M1" boot-config >/dev/null || fatal "h$M1: boot-config"
# token K Q: jq Q over the K disk's peerkey token.
token() {
	cryptsetup luksDump --dump-json-metadata "$(img "$1")" |
	    jq -r "[.tokens[] | select(.type == \"peerkey\")] | max_by(.generation) | $2"
}
K1_TOKEN="k=$(token 1 '.threshold // 1') guardians=$(token 1 '(.guardians // []) | length')"
K3_TOKEN="k=$(token 3 '.threshold') n=$(token 3 '.guardians | length') guardians=$(token 3 '[.guardians[].name] | join(",")')"
[ "$(token 3 '.threshold')" = 3 ] || fatal "k3.img is not split 3 of n"
# blobs N M: how many blobs node N holds for host M.
blobs() {
	cl_pk "$1" -j status | jq '[.peers[] | select(.name == "h'"$2"'") | .blobs] | add // 0'
}
for n in 2 3 4 5 6; do
	# Each guardian holds k3.img's share and k1.img's blob.
	if [ "$ONE" = 1 ]; then
		wait_for "test \"\$(blobs $n 1)\" = 2" 20 ||
		    fatal "h$n does not hold h1's two blobs"
	else
		wait_for "test \"\$(blobs $n 1)\" = 1 &&
		    test \"\$(blobs $n 7)\" = 1" 20 ||
		    fatal "h$n does not hold one blob each for h1 and h7"
	fi
	wait_for "cl_is $n $M3 enabled && cl_is $n $M1 enabled" 20 ||
	    fatal "h$n does not see h$M3 and h$M1 enabled"
done
# The machines boot: their peerkeyd stop (the 1 h timeout keeps them
# enabled at the guardians).
cl_down "$M3"
[ "$M1" = "$M3" ] || cl_down "$M1"
for n in 2 3 4 5 6; do
	cl_is "$n" "$M3" enabled && cl_is "$n" "$M1" enabled ||
	    fatal "h$n disabled a booting machine"
done

# --- the timed runs ---------------------------------------------------------
# The work directory on a tmpfs, as in an initramfs.
WORK=$(mktemp -d /dev/shm/pkbench.XXXXXX) || fatal "no directory in /dev/shm"
at_exit 'rm -rf "$WORK"'
# conf K: the K disk's boot.conf (its machine's, from boot-config; only
# the five guardians: h7's also names h1, which holds nothing for it).
for k in 1 3; do
	eval "m=\$M$k"
	CL_BOOT_PEERS="2 3 4 5 6" cl_boot_conf "$m" |
	    sed "s|^work-directory = .*|work-directory = $WORK|" \
	    >"$CL_DIR/k$k.conf"
	grep -q "^work-directory = $WORK\$" "$CL_DIR/k$k.conf" ||
	    fatal "h$m's boot.conf has no work-directory"
	eval "NPEERS$k=\$(grep -c '^\[peer ' \"\$CL_DIR/k\$k.conf\")"
done
# The timer: runs the agent, prints "checked=US exit=US" (from its start
# to the line that the passphrase opened the disk, and to its exit);
# the agent's stdout (the passphrase) to $1, its stderr, time-stamped, to
# $2.
cat >"$CL_DIR/timer.py" <<'EOP'
import subprocess, sys, time
out, log = open(sys.argv[1], "wb"), open(sys.argv[2], "a")
t0 = time.monotonic()
p = subprocess.Popen(sys.argv[3:], stdout=out, stderr=subprocess.PIPE)
checked = None
for l in p.stderr:
    t = time.monotonic() - t0
    l = l.decode(errors="replace").rstrip()
    if checked is None and ("passphrase received" in l or
                            "passphrase combined" in l):
        checked = t
    log.write("%8.1f ms  %s\n" % (t * 1000, l))
p.wait()
t = time.monotonic() - t0
log.write("%8.1f ms  exit %d\n" % (t * 1000, p.returncode))
print("checked=%s exit=%d rc=%d" % (
    "%d" % (checked * 1e6) if checked is not None else "none",
    t * 1e6, p.returncode))
EOP
: >"$CL_DIR/raw"
# run_one K ROUND [ARGS]: one boot of kK.img, timed; its figures to
# $CL_DIR/raw.
run_one() {
	local k=$1 i=$2 r m
	shift 2
	eval "m=\$M$k"
	echo "--- k=$k run $i" >>"$CL_DIR/agent-k$k.log"
	r=$(cl_run "$m" python3 "$CL_DIR/timer.py" "$CL_DIR/pass" \
	    "$CL_DIR/agent-k$k.log" "$CL_AGENT" -c "$CL_DIR/k$k.conf" -P none \
	    -g 30s -d "$(img "$k")" "$@")
	if cryptsetup open --test-passphrase --key-file="$CL_DIR/pass" \
	    "$(img "$k")" 2>/dev/null && [ "${r#checked=none}" = "$r" ]; then
		echo "k=$k run=$i $r" >>"$CL_DIR/raw"
	else
		say "k=$k run $i: no passphrase that opens k$k.img ($r)"
		echo "k=$k run=$i $r FAILED" >>"$CL_DIR/raw"
	fi
	: >"$CL_DIR/pass"
}
# One untimed boot of each first (the page cache, GnuPG's first start).
run_one 1 0
run_one 3 0
: >"$CL_DIR/raw"
HEAD="$HEAD
# load average before the timed runs: $(loadavg)"
say "timing: $RUNS boots of each disk, alternately (load $(loadavg))"
i=1
while [ "$i" -le "$RUNS" ]; do
	if [ $((i % 2)) = 1 ]; then
		run_one 1 "$i"
		run_one 3 "$i"
	else
		run_one 3 "$i"
		run_one 1 "$i"
	fi
	i=$((i + 1))
done
# The split: one more run of each, verbose (not counted).
run_one 1 split -vv
run_one 3 split -vv
END="# load average at end: $(loadavg) (uptime:$(uptime | sed 's/.*load average//'))
# nproc at end: $(nproc)"

# stats K FIELD: "median min max count" in ms of FIELD over kK's good runs.
stats() {
	grep "^k=$1 run=[0-9]" "$CL_DIR/raw" | grep -v FAILED |
	    sed -n "s/.* $2=\([0-9]*\).*/\1/p" | sort -n |
	    awk '{ v[NR] = $1 } END {
	    if (NR == 0) { print "nan nan nan 0"; exit }
	    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	    printf "%.1f %.1f %.1f %d\n", m / 1000, v[1] / 1000, v[NR] / 1000, NR }'
}
line() {
	set -- $(stats "$1" "$2")
	printf 'median %7s ms  min %7s  max %7s  (%s runs)' "$1" "$2" "$3" "$4"
}
ratio() {
	paste -d' ' <(stats 3 "$1") <(stats 1 "$1") | awk '{
	    if ($5 > 0 && $1 != "nan") printf "%.2f x (median), %.2f x (min); +%.1f ms", $1 / $5, $2 / $6, $1 - $5
	    else print "n/a" }'
}

mkdir -p "$RESDIR"
{
	echo "# peerkey bench: boot agent, 3-of-5 split beside a whole blob, $STAMP, host $(hostname -s 2>/dev/null || hostname)"
	echo "# cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	echo "# kernel: $(uname -r); $(. /etc/os-release && echo "$PRETTY_NAME")"
	echo "# gnutls $(dpkg-query -W -f '${Version}' libgnutls30), gpg $(gpg --version | awk 'NR == 1 { print $3 }'), peerkey $(git -C "$top" describe --always --dirty 2>/dev/null || echo '?')"
	echo "$HEAD"
	echo "$END"
	if [ "$ONE" = 1 ]; then
		echo "# BENCH_ONE_MACHINE=1: h1 and five guardians h2..h6 (network namespaces on one bridge, real peerkeyd); both disks on h1, so each guardian's reply carries both (the other disk's blob is tried too)"
	else
		echo "# h1 (the split disk), h7 (the whole-blob disk) and five guardians h2..h6 (network namespaces on one bridge, real peerkeyd); each guardian holds one blob for each machine"
	fi
	echo "# k3.img on h$M3: peerkey enroll --threshold 3 --guardians 5: token $K3_TOKEN"
	echo "# k1.img on h$M1: peerkey enroll --peers h2,h3,h4,h5,h6 (whole blob at each): token $K1_TOKEN"
	echo "# peerkey-boot -c boot.conf -P none -g 30s -d IMAGE in its machine's namespace, $NPEERS3 and $NPEERS1 peers in boot.conf, work directory on tmpfs; $RUNS runs each, alternately (ABBA); the script ran at nice $(nice)"
	echo
	echo "time to the passphrase checked against the LUKS header (the agent's line, time-stamped)"
	echo "  K = 1, whole blob:  $(line 1 checked)"
	echo "  K = 3 of 5, shares: $(line 3 checked)"
	echo "  ratio 3-of-5 / whole: $(ratio checked)"
	echo "time to the agent's exit (passphrase written, GnuPG torn down)"
	echo "  K = 1, whole blob:  $(line 1 exit)"
	echo "  K = 3 of 5, shares: $(line 3 exit)"
	echo "  ratio 3-of-5 / whole: $(ratio exit)"
	echo
	echo "# raw (us from the agent's start)"
	sed 's/^/# /' "$CL_DIR/raw"
	echo "# split: one more run of each, -vv, its stderr time-stamped"
	for k in 1 3; do
		awk -v r="--- k=$k run split" '$0 == r { p = 1; next }
		    /^---/ { p = 0 } p' "$CL_DIR/agent-k$k.log" |
		    sed "s/^/# k=$k /"
	done
} >"$RES"
cat "$RES"
say "results: $RES"
cleanup
