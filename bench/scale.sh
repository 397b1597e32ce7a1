#!/bin/bash
# bench/scale.sh: a fleet on this host, measured (issue 19).
#
#	bench/scale.sh BUILDDIR      as root; SCALE_NS="25 50 100" sets the
#	                             sizes, SCALE_GS="5 0" the guardian sets
#	                             (0: full mesh), SCALE_WINDOW the seconds
#	                             of the guarding window (default 20);
#	                             the run's plot beside its results
#	bench/scale.sh --plot PNG FILE...
#	                             one plot of several runs' rows
#	                             (bench/scale.gp; gnuplot)
#
# Each (N, G) is one fleet made by tests/scale/lib-scale.sh, as
# make check-scale makes it (a namespace, a real peerkeyd and a real LUKS2
# image a machine; formed through h1's "peerkey invite"/"peerkey join";
# "peerkey enroll --threshold 3 --guardians 5", the G names after h1 in
# name order enrolled whole so that one typed passphrase starts the
# cascade; G = 0:
# every machine enrolled whole, the full mesh), heartbeat interval
# SCALE_INTERVAL (default 5s; the daemon's default is 30s).
# Measured, nothing asserted:
#   form      first "peerkey init" to every node having N - 1 peers (s)
#   enroll    every "peerkey enroll" and "peerkey boot-config", one after
#             the other (s)
#   hb/s      heartbeats sent cluster-wide per second in the window (the
#             sum of peerkey_heartbeats_total{result="ok"} over the nodes)
#   cpu       per node, CPU (user + system, /proc/PID/stat) in the window
#             over its length, in ms per s (median, max)
#   rss       per node, VmRSS at the window's end in KiB (median, max)
#   unlock    whole-fleet cold start: every daemon killed -9, every
#             machine's peerkey-boot started, h1's passphrase "typed":
#             seconds until the last machine has its passphrase
#   load      the 1-minute load average at the window's end
# Results: results/DATE-scale.txt (one line each, the machine beside).
set -u
here=$(cd "$(dirname "$0")" && pwd)

if [ "${1:-}" = --one ]; then
	# --one N G OUT BUILDDIR: one fleet, one result line appended to OUT.
	n_=$2 g_=$3 out_=$4
	export SC_N=$n_ SC_G=$g_ SC_K=3
	# A long timeout: at 100 machines the cascade may take longer than
	# the test's 20 s, and nobody is stolen here.
	export CL_TIMEOUT=600s CL_EXTENDED=60s
	export CL_INTERVAL=${SCALE_INTERVAL:-5s}
	. "$here/../tests/scale/lib-scale.sh"
	cl_init "$5"
	sc_fleet "$n_"
	# The guarding window.
	hb() {
		local n s=0 v
		for n in $(seq "$n_"); do
			v=$(cl_pk "$n" metrics | sed -n \
			    's/^peerkey_heartbeats_total{result="ok"} //p')
			s=$((s + ${v:-0}))
		done
		echo "$s"
	}
	ticks() {
		local n
		for n in $(seq "$n_"); do
			awk '{ print $14 + $15 }' \
			    "/proc/$(cat "$CL_DIR/h$n/peerkeyd.pid")/stat"
		done
	}
	sleep 5		# the heartbeats of the last deposits settle
	hb0=$(hb)
	ticks >"$CL_DIR/ticks0"
	t0=$(date +%s.%N)
	sleep "${SCALE_WINDOW:-20}"
	ticks >"$CL_DIR/ticks1"
	hb1=$(hb)
	win=$(sc__since "$t0")
	load=$(cut -d' ' -f1 /proc/loadavg)
	for n in $(seq "$n_"); do
		sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' \
		    "/proc/$(cat "$CL_DIR/h$n/peerkeyd.pid")/status"
	done | sort -n >"$CL_DIR/rss"
	hz=$(getconf CLK_TCK)
	paste "$CL_DIR/ticks0" "$CL_DIR/ticks1" |
	    awk -v hz="$hz" -v w="$win" '{ printf "%.1f\n",
	    ($2 - $1) * 1000 / hz / w }' | sort -n >"$CL_DIR/cpu"
	med() { awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }' "$1"; }
	sc_cold_start
	unlocked=$(grep -vc 'typed\|gave-up' "$CL_DIR/cascade")
	printf '%4s %4s %7s %7s %8s %6s %6s %7s %7s %7s %5s %s\n' "$n_" \
	    "$([ "$g_" = 0 ] && echo mesh || echo "3/$g_")" "$SC_FORM_S" \
	    "$SC_ENROLL_S" "$(awk -v a="$hb0" -v b="$hb1" -v w="$win" \
	    'BEGIN { printf "%.1f", (b - a) / w }')" "$(med "$CL_DIR/cpu")" \
	    "$(tail -n 1 "$CL_DIR/cpu")" "$(med "$CL_DIR/rss")" \
	    "$(tail -n 1 "$CL_DIR/rss")" "${SC_UNLOCK_S:-none}" "$load" \
	    "$unlocked/$((n_ - 1))" >>"$out_"
	cl_done >/dev/null
fi

# --plot PNG FILE...: the plot of results files' rows (bench/scale.gp),
# a row per N and keys; the files' load columns say what each ran beside.
if [ "${1:-}" = --plot ]; then
	png=${2:?usage: bench/scale.sh --plot PNG FILE...}
	shift 2
	t=$(mktemp -d)
	grep -h -v '^#' "$@" | awk '$2 != "mesh"' | sort -n > "$t/sets"
	grep -h -v '^#' "$@" | awk '$2 == "mesh"' | sort -n > "$t/mesh"
	title="bench/scale.sh: $(for f in "$@"; do basename "$f" -scale.txt; done |
	    tr '\n' ' ')(load: see the files)"
	gnuplot -e "sets='$t/sets'; mesh='$t/mesh'; out='$png'; title='$title'" \
	    "$here/scale.gp"
	rc=$?
	rm -rf "$t"
	exit $rc
fi

build=$(cd "${1:?usage: bench/scale.sh BUILDDIR}" && pwd)
stamp=$(date -u +%Y-%m-%dT%H%MZ)
out=$here/results/$stamp-scale.txt
{
	echo "# bench/scale.sh, $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -n)," \
	    "$(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' \
	    /proc/cpuinfo | head -n 1)"
	echo "# commit $(git -C "$here" rev-parse --short HEAD 2>/dev/null)," \
	    "heartbeat interval ${SCALE_INTERVAL:-5s}, window ${SCALE_WINDOW:-20} s;" \
	    "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "#   N    G  form/s enroll/s     hb/s cpu-md cpu-mx rss-md  rss-mx unlock/s  load unlocked"
	echo "#                                    (ms CPU per s)  (KiB)"
} >"$out"
for n in ${SCALE_NS:-25 50}; do
	for g in ${SCALE_GS:-5 0}; do
		echo "bench/scale.sh: N=$n G=$g" >&2
		"$here/scale.sh" --one "$n" "$g" "$out" "$build" \
		    >"${TMPDIR:-/tmp}/scale-$n-$g.log" 2>&1 ||
		    echo "# N=$n G=$g failed: see ${TMPDIR:-/tmp}/scale-$n-$g.log" >>"$out"
	done
done
cat "$out"
command -v gnuplot >/dev/null 2>&1 &&
    "$here/scale.sh" --plot "${out%.txt}.png" "$out"
