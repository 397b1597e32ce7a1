#!/bin/sh
# bench/run.sh: peerkeyd next to Debian's mandos server, measured on this
# machine in one run (bench/README.md says what and how).
#
#	bench/run.sh BUILDDIR		(make bench runs it on its build dir)
#
# Prints a table with ratios, writes bench/results/DATE-HOST.txt (machine,
# raw figures, table) and a PNG plot beside it. Nothing here passes or
# fails on time. Needs root (cgroups, mandos), Debian's mandos and
# mandos-client, gnutls-bin, and gnuplot (gnuplot-nox is installed if
# missing). Loopback only; every process started is stopped by PID.
#
# Environment (defaults in brackets):
#	BENCH_LEVELS	concurrent clients per level ["8 32 128 1000"]
#	BENCH_SECS	seconds measured per level [10], after 1 s of warm-up
#	BENCH_GUARD	guarded-peer counts ["100 1000"]
#	BENCH_GUARD_SECS seconds measured per guard count [60]
#	BENCH_E2E_RUNS	boot-agent runs per agent [10]
#	BENCH_CLIENTS	Mandos clients (keys) made with mandos-keygen [4]
#	BENCH_QUICK=1	a short development run (2 s levels, 15 s guard,
#			3 boot runs, no gnutls-cli reference)
#	PEERKEY_BOOT	the boot agent [BUILDDIR/src/boot-agent/peerkey-boot]
#	BENCH_KEYCACHE	a directory keeping the Mandos clients between runs
#			(development: mandos-keygen takes ~10 s a key)
#	BENCH_ONLY=guard only the guarding section (no Mandos, no unlock
#			levels, no boot agent): results/DATE-HOST-guard.txt
#	BENCH_ONLY=tpm	only peerkey-boot with its TLS key in a TPM (swtpm)
#			beside the software key: results/DATE-HOST-tpm.txt
#	BENCH_GUARD_PERF a directory: perf record -g of peerkeyd during each
#			guarding window, to DIR/guard-N.perf (profiling only:
#			the sampling itself costs CPU, so the figures of such
#			a run are not the daemon's)
set -eu

[ $# -eq 1 ] || { echo "usage: bench/run.sh BUILDDIR" >&2; exit 2; }
B=$(cd "$1" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)

LEVELS=${BENCH_LEVELS:-8 32 128 1000}
SECS=${BENCH_SECS:-10}
GUARD=${BENCH_GUARD:-100 1000}
GUARD_SECS=${BENCH_GUARD_SECS:-60}
E2E_RUNS=${BENCH_E2E_RUNS:-10}
NCLIENTS=${BENCH_CLIENTS:-4}
ONLY=${BENCH_ONLY:-all}
case $ONLY in all|guard|tpm) ;; *) echo "bench: BENCH_ONLY is all, guard or tpm" >&2; exit 2 ;; esac
REFERENCE=1
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	SECS=2 GUARD_SECS=15 E2E_RUNS=3 REFERENCE=0
fi
AGENT=${PEERKEY_BOOT:-$B/src/boot-agent/peerkey-boot}
MANDOS_CLIENT=/usr/lib/x86_64-linux-gnu/mandos/plugins.d/mandos-client
LOADGEN=$B/bench/loadgen
HBRESP=$B/bench/hbresp
PEERKEYD=$B/src/node/peerkeyd
PEERKEY=$B/src/cli/peerkey
PKTOOL=$B/tests/tools/pktool

say() { printf '%s\n' "bench: $*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (cgroups, mandos)"
for f in "$LOADGEN" "$HBRESP" "$PEERKEYD" "$PEERKEY" "$PKTOOL"; do
	[ -x "$f" ] || die "$f missing: run 'make bench' (or make" \
	    "bench/loadgen bench/hbresp tests/tools/pktool) in $B"
done
for c in mandos mandos-keygen gnutls-cli dbus-daemon taskset ss jq \
    base64 awk; do
	command -v "$c" >/dev/null 2>&1 || die "$c not installed"
done
[ -x "$MANDOS_CLIENT" ] || die "mandos-client not installed"
if [ "$ONLY" = all ] && ! command -v gnuplot >/dev/null 2>&1; then
	say "installing gnuplot-nox for the plot"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends gnuplot-nox >/dev/null ||
	    say "no gnuplot: the table only, no plot"
fi

# The server on one core, the load generator (and the heartbeat
# responder) on another.
if [ "$(nproc)" -ge 2 ]; then
	SRV_CPU=0 GEN_CPU=1
else
	SRV_CPU=0 GEN_CPU=0
fi
# Room for 1,000 clients, 1,000 guarded peers and their listeners.
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge 4096 ] || die "ulimit -n $(ulimit -n) is too low"

# The shell test driver: $W, spawn, stop, wait_for, free_port and the
# exit trap (no TAP here).
TAP_PREFIX=pkbench
. "$top/tests/lib-tap.sh"
. "$top/tests/lib-avahi.sh"
CGROOT=/sys/fs/cgroup/cpuacct

bench_cleanup() {
	stop_all
	# Processes the servers forked (Mandos' per-connection children)
	# are in our own cgroups: stop those, by PID, then remove the groups.
	# (cg_new runs in $(...): its groups are found by name, not in a
	# variable.)
	for g in "$CGROOT"/pkbench.$$.*; do
		[ -d "$g" ] || continue
		for p in $(cat "$g/tasks" 2>/dev/null); do
			kill "$p" 2>/dev/null
		done
	done
	for g in "$CGROOT"/pkbench.$$.*; do
		[ -d "$g" ] || continue
		i=0
		while ! rmdir "$g" 2>/dev/null && [ $i -lt 50 ]; do
			i=$((i + 1))
			sleep 0.1
		done
	done
	[ -z "${SHM:-}" ] || rm -rf "$SHM"
	[ "${E2E_RUNTMP_MADE:-0}" = 0 ] || rmdir /run/tmp 2>/dev/null
}
at_exit bench_cleanup

# Makes a cpuacct cgroup of ours; prints its path ("" if unavailable).
cg_new() {
	_g=$CGROOT/pkbench.$$.$1
	if [ -d "$CGROOT" ] && mkdir "$_g" 2>/dev/null; then
		echo "$_g"
	fi
}

# spawn_on NAME CGROUP CPU CMD...: spawns CMD on core CPU, inside CGROUP
# (if any) from its first instruction, so that everything it forks is
# counted there; output in $W/NAME.log; PID in PID_NAME (sh and taskset
# exec: the PID is CMD's).
spawn_on() {
	_n=$1 _g=$2 _c=$3
	shift 3
	spawn "$_n" sh -c \
	    '[ -z "$1" ] || echo $$ > "$1/tasks"; shift; exec "$@"' sh "$_g" \
	    taskset -c "$_c" "$@"
}

# stop_name NAME: stops what spawn_on NAME started, if it runs.
stop_name() {
	eval "_p=\${PID_$1:-}"
	eval "PID_$1="
	[ -z "$_p" ] || stop "$_p" || :
}

listening() {
	ss -Hltn "sport = :$1" | grep -q LISTEN
}

# CPU seconds (utime+stime) of a process, from /proc/PID/stat.
proc_cpu() {
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' \
	    "/proc/$1/stat"
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# The share of time some task waited for a CPU (PSI), if the kernel says.
cpu_pressure() {
	awk '/^some/ { sub(/avg10=/, "", $2); sub(/avg60=/, "", $3);
	    printf "some avg10 %s%% avg60 %s%%", $2, $3 }' /proc/pressure/cpu \
	    2>/dev/null || echo "n/a"
}

# Median ms of a 4 KiB overwrite + fdatasync in directory $1: a rough
# gauge of the storage's flush latency, which every synchronous sqlite
# commit waits for.
fsync_ms() {
	_i=0
	while [ $_i -lt 50 ]; do
		_t0=$(date +%s%N)
		dd if=/dev/zero of="$1/fsync.test" bs=4k count=1 oflag=dsync \
		    conv=notrunc 2>/dev/null
		_t1=$(date +%s%N)
		echo $(( (_t1 - _t0) / 1000 ))
		_i=$((_i + 1))
	done | sort -n | awk '{ v[NR] = $1 } END { printf "%.2f", v[25] / 1000 }'
	rm -f "$1/fsync.test"
}

# --- machine ---------------------------------------------------------------
STAMP=$(date -u +%Y-%m-%dT%H%MZ)
HOST=$(hostname -s 2>/dev/null || hostname)
RESDIR=$top/bench/results
mkdir -p "$RESDIR"
RES=$RESDIR/$STAMP-$HOST.txt
PNG=$RESDIR/$STAMP-$HOST.png
{
	echo "# peerkey bench, $STAMP, host $HOST"
	echo "# cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cores"
	echo "# kernel: $(uname -r); $(. /etc/os-release && echo "$PRETTY_NAME")"
	echo "# mandos $(dpkg-query -W -f '${Version}' mandos), gnutls $(dpkg-query -W -f '${Version}' libgnutls30), peerkey $(git -C "$top" describe --always --dirty 2>/dev/null || echo '?')"
	echo "# server on core $SRV_CPU, load generator on core $GEN_CPU"
	echo "# load average at start: $(loadavg); CPU pressure: $(cpu_pressure)"
	echo "# fdatasync of 4 KiB in the state directory's file system: $(fsync_ms "$W") ms (dd oflag=dsync, median of 50)"
} > "$W/head"
cat "$W/head" >&2

# --- starting peerkeyd ---------------------------------------------------------
# start_node NAME CGROUP [STATEDIR]: a peerkeyd on loopback ($NODE_EXTRA:
# more configuration lines), default
# configuration except the connection and handshake caps (all clients
# come from 127.0.0.1: with the default 32 handshakes per source, 128
# concurrent clients would push each other out).
start_node() {
	_d=$W/$1
	_s=${3:-$_d/state}
	mkdir -p "$_s" "$_d/run"
	[ -e "$_d/node.key" ] || "$PKTOOL" keygen "$_d/node.key" > /dev/null
	"$PKTOOL" keyid "$_d/node.key" > "$_d/node.keyid"
	cat > "$_d/peerkeyd.conf" <<EOC
[node]
name = $1
key = $_d/node.key
state-directory = $_s
runtime-directory = $_d/run
listen = 127.0.0.1
port = 0
[limits]
max-connections = 8192
max-connections-per-source = 8192
max-handshakes = 4096
max-handshakes-per-source = 4096
[announce]
enable = no
${NODE_EXTRA:-}
EOC
	spawn_on "$1" "$2" "$SRV_CPU" "$PEERKEYD" -d -f "$_d/peerkeyd.conf"
	wait_for "$PEERKEY -s $_d/run/control.sock -j status" 20 ||
	    { cat "$W/$1.log" >&2; die "peerkeyd did not start"; }
	"$PEERKEY" -s "$_d/run/control.sock" -j status |
	    jq -r .self.port > "$_d/port"
}
# add_clients DIR: the same Mandos clients as peers of the node in DIR.
add_clients() {
	i=1
	while [ $i -le "$NCLIENTS" ]; do
		"$PEERKEY" -s "$1/run/control.sock" peer add "c$i" \
		    --boot-key "$(cat "$W/c$i/keyid")" --timeout 24h \
		    --interval 1h --extended-timeout 24h >/dev/null
		"$PEERKEY" -s "$1/run/control.sock" peer put-blob "c$i" disk1 \
		    "$W/c$i/blob" >/dev/null
		i=$((i + 1))
	done
}

if [ "$ONLY" != guard ]; then
# --- boot agents end to end: the way they are run and timed ---------------
# The agents run as in an initramfs, where /run is a tmpfs: each in a
# private mount namespace with a tmpfs on /run/tmp (mandos-client makes its
# GnuPG home there, falling back to /tmp; peerkey-boot's work-directory is
# that), through the same wrapper, so that neither pays a disk the other
# does not. The runs alternate (mandos-client, peerkey-boot, ...; the
# software key, the TPM keys, ...) after the machine has calmed down from
# the load levels, so that all see the same conditions.
E2E_RUNTMP_MADE=0
if [ ! -d /run/tmp ]; then
	mkdir /run/tmp && E2E_RUNTMP_MADE=1
fi
# $W/itmp CMD...: CMD in a private mount namespace with a tmpfs on
# /run/tmp (a script, so that ts.py below can run it too).
cat > "$W/itmp" <<'EOS'
#!/bin/sh
exec unshare --mount --propagation private sh -c \
    'mount -t tmpfs -o mode=1777 tmpfs /run/tmp && exec "$@"' sh "$@"
EOS
chmod 755 "$W/itmp"
# cpu_idle: idle and total jiffies of all CPUs so far.
cpu_idle() {
	awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' \
	    /proc/stat
}
# wait_quiet: until the CPUs were >= 90 % idle over a second (30 s at
# most): Mandos' forked children of the last level may still be running.
wait_quiet() {
	_q=0
	while [ $_q -lt 30 ]; do
		_a=$(cpu_idle)
		sleep 1
		_b=$(cpu_idle)
		echo "$_a $_b" | awk '{ exit !(($3 - $1) >= 0.9 * ($4 - $2)) }' &&
		    return 0
		_q=$((_q + 1))
	done
	say "the machine did not calm down in 30 s; measuring anyway"
}
# time_one NAME CMD...: runs CMD once; the passphrase must come out; adds
# its wall time (us) to $W/e2e.NAME.
time_one() {
	_n=$1
	shift
	_t0=$(date +%s%N)
	"$@" > "$W/e2e.out" 2>> "$W/e2e.$_n.log" || true
	_t1=$(date +%s%N)
	if cmp -s "$W/e2e.out" "$W/passphrase"; then
		echo $(( (_t1 - _t0) / 1000 )) >> "$W/e2e.$_n"
	else
		say "$_n: a run did not print the passphrase"
	fi
}
# e2e_stats NAME: the median and the min wall time in ms, and the count.
e2e_stats() {
	sort -n "$W/e2e.$1" | awk '{ v[NR] = $1 } END {
	    if (NR == 0) { print "e2e_ms=nan e2e_min_ms=nan ok=0"; exit }
	    printf "e2e_ms=%.1f e2e_min_ms=%.1f ok=%d\n",
	        v[int((NR + 1) / 2)] / 1000, v[1] / 1000, NR }'
}
# The agents run through $RUNNER: nothing, or python3 ts.py for the
# splits (stderr lines time-stamped as they come).
RUNNER=
cat > "$W/ts.py" <<'EOP'
import subprocess, sys, time
t0 = time.monotonic()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL,
                     stderr=subprocess.PIPE)
for l in p.stderr:
    l = l.decode(errors="replace").rstrip()
    if "GnuTLS:" not in l:
        print("%8.1f ms  %s" % ((time.monotonic() - t0) * 1000, l[:100]))
p.wait()
print("%8.1f ms  exit %d" % ((time.monotonic() - t0) * 1000, p.returncode))
EOP
fi	# BENCH_ONLY=all or tpm

# The booting machine's node key: a boot agent takes only blobs signed by
# it (doc/protocol.md, signed blobs), as "peerkey enroll" makes them.
# seal_put SOCK PEER BLOBID FILE BOOTKEYID: FILE signed by it for that
# boot key, stored as PEER's blob BLOBID.
MACHINE_KEY=$W/machine-node.key
seal_put() {
	[ -e "$MACHINE_KEY" ] || "$PKTOOL" keygen "$MACHINE_KEY" > /dev/null
	"$PKTOOL" seal "$MACHINE_KEY" "$5" "$3" < "$4" > "$4.sealed" &&
	    "$PEERKEY" -s "$1" peer put-blob "$2" "$3" "$4.sealed" > /dev/null
}
machine_pub() {
	"$PKTOOL" pubkey "$MACHINE_KEY"
}

# Everything up to the guarding section: BENCH_ONLY=all only.
if [ "$ONLY" = all ]; then
# --- Mandos clients: keys, secrets; the same for both servers --------------
say "making $NCLIENTS Mandos clients with mandos-keygen (RSA-4096 + Ed25519)"
printf 'benchmark passphrase 0123456789' > "$W/passphrase"
i=1
while [ $i -le "$NCLIENTS" ]; do
	if [ -n "${BENCH_KEYCACHE:-}" ] && [ -s "$BENCH_KEYCACHE/c$i/section" ]; then
		cp -a "$BENCH_KEYCACHE/c$i" "$W/c$i"
		i=$((i + 1))
		continue
	fi
	mkdir -p "$W/c$i"
	( mandos-keygen --dir "$W/c$i" --name "c$i" >/dev/null 2>&1 &&
	  mandos-keygen --dir "$W/c$i" --name "c$i" --passfile "$W/passphrase" \
	    --no-ssh > "$W/c$i/section" 2>/dev/null ) &
	[ $((i % 2)) = 0 ] && wait
	i=$((i + 1))
done
wait
KEYS=""
i=1
while [ $i -le "$NCLIENTS" ]; do
	c=$W/c$i
	[ -s "$c/section" ] || die "mandos-keygen failed for c$i"
	# The secret's armor body is the binary OpenPGP message on the wire.
	sed -n '/^secret =/,$p' "$c/section" | tail -n +2 | tr -d ' \n' |
	    base64 -d > "$c/blob"
	awk '/^key_id/ { print $3 }' "$c/section" > "$c/keyid"
	KEYS="$KEYS${KEYS:+,}$c/tls-privkey.pem@$(stat -c %s "$c/blob")"
	i=$((i + 1))
done
BLOBLEN=$(stat -c %s "$W/c1/blob")
if [ -n "${BENCH_KEYCACHE:-}" ]; then
	mkdir -p "$BENCH_KEYCACHE"
	i=1
	while [ $i -le "$NCLIENTS" ]; do
		[ -d "$BENCH_KEYCACHE/c$i" ] || cp -a "$W/c$i" "$BENCH_KEYCACHE/c$i"
		i=$((i + 1))
	done
fi
say "blob size $BLOBLEN bytes"

# --- Debian's mandos server ------------------------------------------------
avahi_bus_conf "$W/bus.conf" "$W/bus"
# mandos opens the system bus even with --no-dbus: a private one.
spawn_on dbus "" "$GEN_CPU" dbus-daemon --config-file="$W/bus.conf" --nofork \
    --nopidfile
wait_for "[ -S '$W/bus' ]" 10 || die "dbus-daemon did not start"
mkdir -p "$W/mandos/conf" "$W/mandos/state"
printf '[DEFAULT]\n' > "$W/mandos/conf/mandos.conf"
{
	printf '[DEFAULT]\nchecker = true\ntimeout = PT24H\n'
	printf 'extended_timeout = PT24H\ninterval = PT1H\n\n'
	i=1
	while [ $i -le "$NCLIENTS" ]; do
		grep -v '^host' "$W/c$i/section"
		echo
		i=$((i + 1))
	done
} > "$W/mandos/conf/clients.conf"
chmod -R a+rX "$W/mandos"
chmod 777 "$W/mandos/state"
MPORT=$(free_port)
CG_MANDOS=$(cg_new mandos)
spawn_on mandos "$CG_MANDOS" "$SRV_CPU" env \
    DBUS_SYSTEM_BUS_ADDRESS="unix:path=$W/bus" mandos --foreground \
    --no-zeroconf --no-dbus --no-ipv6 -a 127.0.0.1 -p "$MPORT" \
    --configdir "$W/mandos/conf" --statedir "$W/mandos/state"
wait_for "listening $MPORT" 30 || { cat "$W/mandos.log" >&2; die "mandos did not start"; }

# --- peerkeyd, with the same clients -----------------------------------------
CG_PK=$(cg_new peerkeyd)
start_node pk "$CG_PK"
PK=$W/pk
PPORT=$(cat "$PK/port")
add_clients "$PK"
# The same daemon with its state directory on tmpfs, where fdatasync
# costs nothing: the difference is what the per-unlock commit costs.
SHM=""
if [ -d /dev/shm ] && [ "$(stat -f -c %T /dev/shm)" = tmpfs ]; then
	SHM=$(mktemp -d /dev/shm/pkbench.XXXXXX)
	CG_PKT=$(cg_new peerkeyd-tmpfs)
	start_node pkt "$CG_PKT" "$SHM/state"
	add_clients "$W/pkt"
	stop_name pkt
fi

# Both servers hand out exactly the stored blob, before anything is timed.
"$PKTOOL" mandos "$W/c1/tls-privkey.pem" "127.0.0.1:$MPORT" \
    > "$W/check.mandos" 2>/dev/null || die "mandos does not serve c1"
cmp -s "$W/check.mandos" "$W/c1/blob" || die "mandos served another blob"
"$PKTOOL" unlock "$W/c1/tls-privkey.pem" "127.0.0.1:$PPORT" \
    > "$W/check.pk" || die "peerkeyd does not serve c1"
awk 'NR == 2 { print $2 }' "$W/check.pk" | base64 -d | cmp -s - "$W/c1/blob" ||
    die "peerkeyd served another blob"
"$PKTOOL" mandos "$W/c1/tls-privkey.pem" "127.0.0.1:$PPORT" \
    > "$W/check.pkm" 2>/dev/null || die "peerkeyd's Mandos side fails"
cmp -s "$W/check.pkm" "$W/c1/blob" || die "peerkeyd (Mandos) served another blob"
say "both servers serve the same ${BLOBLEN}-byte blob to the same keys"

# --- unlock throughput, latency, CPU per unlock -----------------------------
: > "$W/levels"
for L in $LEVELS; do
	for srv in peerkeyd peerkeyd-tmpfs peerkeyd-mandos mandos; do
		case $srv in
		peerkeyd)
			args="-m native -a 127.0.0.1:$PPORT -s $(cat "$PK/node.keyid")"
			pid=$PID_pk cg=$CG_PK ;;
		peerkeyd-tmpfs)
			# The same, with the state on tmpfs: 128 and 1,000.
			[ -n "$SHM" ] && { [ "$L" = 128 ] || [ "$L" = 1000 ]; } ||
			    continue
			start_node pkt "$CG_PKT" "$SHM/state"
			args="-m native -a 127.0.0.1:$(cat "$W/pkt/port") -s $(cat "$W/pkt/node.keyid")"
			pid=$PID_pkt cg=$CG_PKT ;;
		peerkeyd-mandos)
			# peerkeyd serving Mandos protocol 1: only at 128,
			# to show the protocol costs the same.
			[ "$L" = 128 ] || continue
			args="-m mandos -a 127.0.0.1:$PPORT"
			pid=$PID_pk cg=$CG_PK ;;
		mandos)
			args="-m mandos -a 127.0.0.1:$MPORT"
			pid=$PID_mandos cg=$CG_MANDOS ;;
		esac
		say "$srv, $L concurrent, ${SECS}s (load $(loadavg))"
		# shellcheck disable=SC2086
		out=$(taskset -c "$GEN_CPU" "$LOADGEN" $args -k "$KEYS" \
		    -c "$L" -d "$SECS" -w 1 -t 10 -p "$pid" ${cg:+-g "$cg"} \
		    2>>"$W/loadgen.log") || die "loadgen failed"
		echo "server=$srv $out load1=$(cut -d' ' -f1 /proc/loadavg)" |
		    tee -a "$W/levels" >&2
		[ "$srv" != peerkeyd-tmpfs ] || stop_name pkt
		# Let the server finish what the drain left (Mandos' children).
		sleep 2
	done
done

# --- end-to-end boot agents (static peer): mandos-client and peerkey-boot -
c=$W/c1
# mandos_client / peerkey_boot [ARGS]: one run through $W/itmp, itself
# run by $RUNNER.
mandos_client() {
	$RUNNER "$W/itmp" "$MANDOS_CLIENT" --interface=none \
	    --connect="127.0.0.1:$MPORT" --pubkey="$c/pubkey.txt" \
	    --seckey="$c/seckey.txt" --tls-pubkey="$c/tls-pubkey.pem" \
	    --tls-privkey="$c/tls-privkey.pem" "$@"
}
peerkey_boot() {
	$RUNNER "$W/itmp" "$AGENT" -c "$W/agent/boot.conf" -b boot1 "$@"
}
# The same bytes as disk1, signed by the machine's node key (the agent
# ignores the unsigned disk1 that loadgen gets).
seal_put "$PK/run/control.sock" c1 boot1 "$c/blob" "$(cat "$c/keyid")" ||
    die "cannot store c1's signed blob"
mkdir -p "$W/agent"
cat > "$W/agent/boot.conf" <<EOC
[boot]
tls-key = $c/tls-privkey.pem
pgp-key = $c/seckey.txt
node-public-key = $(machine_pub)
work-directory = /run/tmp
mdns = no
prompt = no

[peer pk]
address = 127.0.0.1:$PPORT
node-key = $(cat "$PK/node.keyid")
EOC
: > "$W/e2e.mandos-client"
: > "$W/e2e.peerkey-boot"
HAVE_AGENT=0
[ -x "$AGENT" ] && HAVE_AGENT=1
[ $HAVE_AGENT = 1 ] ||
    say "no peerkey-boot at $AGENT: its side is not measured"
wait_quiet
say "end to end: mandos-client and peerkey-boot, alternately, $E2E_RUNS runs each (load $(cut -d' ' -f1-3 /proc/loadavg))"
_i=0
while [ $_i -lt "$E2E_RUNS" ]; do
	time_one mandos-client mandos_client
	[ $HAVE_AGENT = 0 ] || time_one peerkey-boot peerkey_boot
	_i=$((_i + 1))
done
echo "agent=mandos-client $(e2e_stats mandos-client)" | tee "$W/e2e" >&2
echo "agent=peerkey-boot $(e2e_stats peerkey-boot)" | tee -a "$W/e2e" >&2
# The splits: one more run each, stderr lines time-stamped as they come.
RUNNER="python3 $W/ts.py"
# (mandos-client --debug prints the decrypted passphrase in hex: left out.)
mandos_client --debug | grep -v "Decrypted password is" |
    sed "s/^/mandos-client split: /" > "$W/e2e.split" ||
    true
[ $HAVE_AGENT = 0 ] || peerkey_boot -vv |
    sed 's/^/peerkey-boot split: /' >> "$W/e2e.split" || true
RUNNER=
stop_name mandos
stop_name dbus
fi	# BENCH_ONLY=all

# --- peerkey-boot with its TLS key in a TPM, beside the software key ---------
# One peerkeyd; three boot identities made by the operator's command:
# "peerkey init" (the software Ed25519 key), "peerkey init --tpm" (an
# ECDSA P-256 key in a software TPM, swtpm over TCP on loopback) and
# "peerkey init --tpm --tpm-pcrs 7" (the same, bound to PCR 7: a policy
# session per signature); each with its own OpenPGP key (of the same
# kind) and blob of the same passphrase. The three agents alternate, run
# as above. What a TPM adds: the key's load and one test signature at
# start, and the signature in the handshake. A hardware TPM is slower
# than swtpm (tens of ms per ECC operation): these figures are the
# protocol's cost, not a TPM's.
HAVE_TPM=0
grep -q '^#define HAVE_TPM 1' "$B/config.h" 2>/dev/null && HAVE_TPM=1
[ "$ONLY" != tpm ] || [ $HAVE_TPM = 1 ] ||
    die "BENCH_ONLY=tpm: $B was configured without TPM support"
[ "$ONLY" = guard ] || [ $HAVE_TPM = 0 ] || command -v swtpm >/dev/null ||
    die "swtpm not installed"
: > "$W/tpm"
: > "$W/tpm.split"
if [ "$ONLY" != guard ] && [ $HAVE_TPM = 1 ]; then
. "$top/tests/lib-swtpm.sh"
[ -s "$W/passphrase" ] ||
    printf 'benchmark passphrase 0123456789' > "$W/passphrase"
start_node tk ""
swtpm_start "$W/swtpm" || die "swtpm did not start"
TK=$W/tk
TPM_KINDS="soft tpm tpm-pcr7"
for k in $TPM_KINDS; do
	d=$W/boot-$k
	case $k in
	soft)	set -- ;;
	tpm)	set -- --tpm --tcti "$SWTPM_TCTI" ;;
	*)	set -- --tpm --tpm-pcrs 7 --tcti "$SWTPM_TCTI" ;;
	esac
	PEERKEY_DIR=$d "$PEERKEY" -j init "$@" > "$d.json" 2>&1 ||
	    die "peerkey init $*: $(cat "$d.json")"
	mkdir -m 700 "$d.gpg"
	GNUPGHOME=$d.gpg gpg --batch -q --import "$d/boot/pgp.pub" 2>/dev/null
	GNUPGHOME=$d.gpg gpg --batch -q --trust-model always -r "$(GNUPGHOME=$d.gpg \
	    gpg --list-keys --with-colons 2>/dev/null | awk -F: '/^fpr/ {
	    print $10; exit }')" --encrypt < "$W/passphrase" > "$d.blob" \
	    2>/dev/null
	gpgconf --homedir "$d.gpg" --kill gpg-agent 2>/dev/null
	"$PEERKEY" -s "$TK/run/control.sock" peer add "$k" --boot-key \
	    "$(jq -r .boot_keyid "$d.json")" --timeout 24h --interval 1h \
	    --extended-timeout 24h > /dev/null &&
	    seal_put "$TK/run/control.sock" "$k" disk1 "$d.blob" \
	    "$(jq -r .boot_keyid "$d.json")" || die "peer add $k"
	{
		echo "[boot]"
		if [ "$k" = soft ]; then
			echo "tls-key = $d/boot/tls.key"
		else
			echo "tpm-key = $d/boot/tls.tpm"
			echo "tpm-tcti = $SWTPM_TCTI"
		fi
		echo "pgp-key = $d/boot/pgp.key"
		echo "node-public-key = $(machine_pub)"
		printf 'work-directory = /run/tmp\nmdns = no\nprompt = no\n\n'
		printf '[peer tk]\naddress = 127.0.0.1:%s\nnode-key = %s\n' \
		    "$(cat "$TK/port")" "$(cat "$TK/node.keyid")"
	} > "$d.conf"
	: > "$W/e2e.boot-$k"
done
# boot_agent KIND [ARGS]: one run of peerkey-boot with KIND's key.
boot_agent() {
	_k=$1
	shift
	$RUNNER "$W/itmp" "$AGENT" -c "$W/boot-$_k.conf" -b disk1 "$@"
}
wait_quiet
say "end to end: peerkey-boot with a software, a TPM and a PCR-bound TPM key, alternately, $E2E_RUNS runs each (load $(loadavg))"
_i=0
while [ $_i -lt "$E2E_RUNS" ]; do
	for k in $TPM_KINDS; do
		time_one "boot-$k" boot_agent "$k"
	done
	_i=$((_i + 1))
done
for k in $TPM_KINDS; do
	echo "key=$k $(e2e_stats "boot-$k")" | tee -a "$W/tpm" >&2
done
RUNNER="python3 $W/ts.py"
for k in soft tpm-pcr7; do
	boot_agent "$k" -vv | sed "s/^/peerkey-boot ($k) split: /" \
	    >> "$W/tpm.split" || true
done
RUNNER=
swtpm_stop "$W/swtpm"
stop_name tk
fi	# BENCH_ONLY=all or tpm
[ "${E2E_RUNTMP_MADE:-0}" = 0 ] || rmdir /run/tmp
E2E_RUNTMP_MADE=0

# get FILE KEY [FILTER]: a key=value field of the first matching line.
field() {
	awk -v k="$2" -v f="$3" '$0 ~ f { for (i = 1; i <= NF; i++) {
	    split($i, a, "="); if (a[1] == k) { print a[2]; exit } } }' "$1"
}
# tpm_table: the TPM section's lines of a results file.
tpm_table() {
	if [ ! -s "$W/tpm" ]; then
		echo "peerkey-boot with a TPM key: not measured (built without TPM support)"
		return 0
	fi
	echo "peerkey-boot end to end with its TLS key in a TPM (swtpm), beside the software key (median of $E2E_RUNS, same run, alternately)"
	sed 's/^/  /' "$W/tpm"
	s=$(field "$W/tpm" e2e_ms "key=soft")
	for k in tpm tpm-pcr7; do
		t=$(field "$W/tpm" e2e_ms "key=$k ")
		awk -v k="$k" -v t="$t" -v s="$s" 'BEGIN { if (s > 0 && t != "nan")
		    printf "  %s - soft = %+.1f ms (%.2f x)\n", k, t - s, t / s }'
	done
	echo "  split (one more run of two, verbose, stderr lines time-stamped):"
	sed 's/^/    /' "$W/tpm.split"
}

# only_results WHAT-IS-LEFT-OUT CMD: the short results file of a
# BENCH_ONLY run, DATE-HOST-$ONLY.txt: the machine, then CMD's lines; exit.
only_results() {
	RES=$RESDIR/$STAMP-$HOST-$ONLY.txt
	{
		cat "$W/head"
		echo "# load average at end: $(loadavg)"
		echo "# BENCH_ONLY=$ONLY: $1"
		echo
		eval "$2"
	} > "$RES"
	cat "$RES"
	say "results: $RES"
	exit 0
}

# --- TPM only: a short results file ------------------------------------------
[ "$ONLY" != tpm ] || only_results "no Mandos, no unlock levels, no guarding" \
    'tpm_table; echo; echo "# raw"; sed "s/^/# /" "$W/tpm"'

# --- guarding N peers at a 10 s interval ------------------------------------
: > "$W/guard"
for N in $GUARD; do
	say "guarding $N peers at 10s, ${GUARD_SECS}s measured (load $(loadavg))"
	stop_name pk
	name=g$N
	spawn_on "hb$N" "" "$GEN_CPU" "$HBRESP" -n "$N" -o "$W/hb$N.ports"
	wait_for "[ -s '$W/hb$N.ports' ]" 60 || die "hbresp did not start"
	# The peers hold no blob here, and a node guards only what it holds
	# (liveness.guard = held): guard = all makes it guard them all, the
	# work of a node holding a blob of each.
	NODE_EXTRA='[liveness]
guard = all' start_node "$name" ""
	G=$W/$name
	eval "gpid=\$PID_$name"
	eval "hpid=\$PID_hb$N"
	# peerkey peer add, four at a time.
	awk -v s="$G/run/control.sock" -v pk="$PEERKEY" '{
	    printf "%s -s %s peer add p%d --boot-key %s --node-key %s " \
	        "--address 127.0.0.1:%d --interval 10s --timeout 5m " \
	        "--extended-timeout 5m\n", pk, s, NR, $2, $2, $1 }' \
	    "$W/hb$N.ports" | xargs -P 4 -I{} sh -c '{} >/dev/null' ||
	    die "peer add failed"
	# Warm-up: every peer heartbeaten once (a TLS handshake each).
	wait_for "[ \$($PEERKEY -s $G/run/control.sock -j status | jq '[.peers[] | select(.last_check_ok)] | length') -ge $N ]" 60 ||
	    say "not every peer answered within 60 s"
	sleep 2
	kill -USR1 "$hpid"
	c0=$(proc_cpu "$gpid")
	t0=$(date +%s%N)
	if [ -n "${BENCH_GUARD_PERF:-}" ]; then
		mkdir -p "$BENCH_GUARD_PERF"
		perf record -q -g -p "$gpid" -o "$BENCH_GUARD_PERF/guard-$N.perf" \
		    -- sleep "$GUARD_SECS" 2>/dev/null || say "perf record failed"
	else
		sleep "$GUARD_SECS"
	fi
	c1=$(proc_cpu "$gpid")
	t1=$(date +%s%N)
	kill -USR1 "$hpid"
	sleep 0.5
	rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$gpid/status")
	hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$gpid/status")
	enabled=$("$PEERKEY" -s "$G/run/control.sock" -j status |
	    jq '[.peers[] | select(.state == "enabled")] | length')
	hb=$(grep -o 'heartbeats=[0-9]*' "$W/hb$N.log" | tail -2 |
	    awk -F= 'NR == 1 { a = $2 } NR == 2 { print $2 - a }')
	hs=$(grep -o 'handshakes=[0-9]*' "$W/hb$N.log" | tail -2 |
	    awk -F= 'NR == 1 { a = $2 } NR == 2 { print $2 - a }')
	echo "peers=$N secs=$(( (t1 - t0) / 1000000000 )) cpu_pct=$(awk -v a="$c0" -v b="$c1" -v t="$((t1 - t0))" 'BEGIN { printf "%.2f", (b - a) * 100 / (t / 1e9) }') rss_mib=$(awk -v r="$rss" 'BEGIN { printf "%.1f", r / 1024 }') hwm_mib=$(awk -v r="$hwm" 'BEGIN { printf "%.1f", r / 1024 }') enabled=$enabled heartbeats=$hb handshakes=$hs load1=$(cut -d' ' -f1 /proc/loadavg)" |
	    tee -a "$W/guard" >&2
	stop_name "$name"
	stop_name "hb$N"
done

# --- the reference: GnuTLS' own handshake rate --------------------------------
REF=nan
if [ "$REFERENCE" = 1 ] && [ "$ONLY" = all ]; then
	say "gnutls-cli --benchmark-tls-kx on core $SRV_CPU (~45 s)"
	taskset -c "$SRV_CPU" gnutls-cli --benchmark-tls-kx > "$W/kx" 2>&1 || true
	REF=$(awk '/^\(TLS1.3\)-\(ECDHE-X25519\)-\(EdDSA-Ed25519\)/ { f = 1; next }
	    f && /transactions\/sec/ { print $2; exit }' "$W/kx")
	[ -n "$REF" ] || REF=nan
fi

# --- guarding only: a short results file ---------------------------------------
[ "$ONLY" != guard ] ||
    only_results "no Mandos, no unlock levels, no boot agent" '
	echo "Guarding N peers, heartbeat every 10 s over a kept TLS connection (peerkeyd CPU and RSS, ${GUARD_SECS}s)"
	sed "s/^/  /" "$W/guard"
	echo
	echo "Goal (issue 3): guarding 1000 peers < 2% of a core and < 32 MiB RSS."'

# --- the table ----------------------------------------------------------------
{
	cat "$W/head"
	echo "# load average at end: $(loadavg)"
	echo
	echo "Unlocks (closed loop, fresh TCP + TLS 1.3 Ed25519 per unlock, ${BLOBLEN}-byte blob, ${SECS}s per level)"
	printf '%-16s %5s %9s %6s %8s %8s %8s %9s %7s\n' server conc \
	    unlocks/s fail p50_ms p90_ms p99_ms cpu_ms/u load1
	while read -r line; do
		echo "$line" | awk '{ for (i = 1; i <= NF; i++) {
		    split($i, a, "="); v[a[1]] = a[2] }
		    printf "%-16s %5s %9s %6s %8s %8s %8s %9s %7s\n",
		    v["server"], v["conc"], v["rate"], v["fail"], v["p50_ms"],
		    v["p90_ms"], v["p99_ms"], v["server_cpu_ms"], v["load1"] }'
	done < "$W/levels"
	echo
	echo "Ratios peerkeyd (native) / mandos"
	printf '%5s %12s %14s %12s\n' conc "rate x" "cpu/unlock /" "p99 /"
	for L in $LEVELS; do
		pr=$(field "$W/levels" rate "^server=peerkeyd .* conc=$L ")
		mr=$(field "$W/levels" rate "^server=mandos .* conc=$L ")
		pc=$(field "$W/levels" server_cpu_ms "^server=peerkeyd .* conc=$L ")
		mc=$(field "$W/levels" server_cpu_ms "^server=mandos .* conc=$L ")
		p9=$(field "$W/levels" p99_ms "^server=peerkeyd .* conc=$L ")
		m9=$(field "$W/levels" p99_ms "^server=mandos .* conc=$L ")
		awk -v L="$L" -v pr="$pr" -v mr="$mr" -v pc="$pc" -v mc="$mc" \
		    -v p9="$p9" -v m9="$m9" 'function r(a, b) {
		    return b > 0 ? sprintf("%.1f", a / b) : "inf" } BEGIN {
		    printf "%5s %12s %14s %12s\n", L, r(pr, mr), r(mc, pc),
		    r(m9, p9) }'
	done
	echo "(rate x: peerkeyd's unlocks/s over Mandos'; cpu/unlock and p99: Mandos' over peerkeyd's, i.e. how many times less)"
	echo
	echo "End-to-end boot agent, static peer on loopback (median of $E2E_RUNS; includes OpenPGP decryption)"
	sed 's/^/  /' "$W/e2e"
	echo "  split (one more run each, verbose, stderr lines time-stamped):"
	sed 's/^/    /' "$W/e2e.split"
	mc=$(field "$W/e2e" e2e_ms "agent=mandos-client")
	pb=$(field "$W/e2e" e2e_ms "agent=peerkey-boot")
	awk -v a="$pb" -v b="$mc" 'BEGIN { if (a != "nan" && a > 0)
	    printf "  peerkey-boot / mandos-client = %.2f (goal <= 0.5)\n", a / b
	    else print "  peerkey-boot not measured" }'
	echo
	tpm_table
	echo
	echo "Guarding N peers, heartbeat every 10 s over a kept TLS connection (peerkeyd CPU and RSS)"
	sed 's/^/  /' "$W/guard"
	echo
	echo "Reference: gnutls-cli --benchmark-tls-kx, TLS1.3 X25519 + Ed25519 (both ends in one process, one core)"
	best=$(awk '/server=peerkeyd / { for (i = 1; i <= NF; i++) {
	    split($i, a, "="); if (a[1] == "rate" && a[2] > m) m = a[2] } }
	    END { print m + 0 }' "$W/levels")
	awk -v r="$REF" -v b="$best" 'BEGIN { if (r == "nan")
	    print "  not measured (BENCH_QUICK)"; else {
	    printf "  GnuTLS: %s handshakes/s\n", r
	    printf "  peerkeyd best native unlocks/s: %s = %.2f of it\n", b, b / r } }'
	echo
	echo "Goals (issues 3 and 5): >= 1500 native unlocks/s, <= 0.6 ms server CPU per unlock, 0 failures at 1000 concurrent;"
	echo "guarding 1000 peers < 2% of a core and < 32 MiB RSS; peerkey-boot <= half of mandos-client."
	echo
	echo "# raw"
	sed 's/^/# /' "$W/levels" "$W/e2e" "$W/tpm" "$W/guard"
} > "$RES"
cat "$RES"

# --- the plot -----------------------------------------------------------------
if command -v gnuplot >/dev/null 2>&1; then
	for srv in peerkeyd mandos; do
		grep "^server=$srv " "$W/levels" | awk '{ for (i = 1; i <= NF; i++) {
		    split($i, a, "="); v[a[1]] = a[2] }
		    print v["conc"], v["rate"], v["p50_ms"], v["p99_ms"],
		    v["server_cpu_ms"], v["fail"] }' > "$W/$srv.dat"
	done
	gnuplot -e "pk='$W/peerkeyd.dat'; md='$W/mandos.dat'; out='$PNG'; title='$STAMP $HOST, load $(loadavg)'" \
	    "$top/bench/plot.gp" && say "plot: $PNG"
fi
say "results: $RES"
