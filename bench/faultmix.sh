#!/bin/bash
# bench/faultmix.sh: time to passphrase with four servers of which three
# are faulty (issue 19): one refuses, one drops TCP SYNs, one accepts TCP
# and never speaks, one is good. peerkey-boot against peerkeyd and Debian's
# mandos-client against Debian's mandos, the same faults for both, found
# by mDNS (real avahi-daemon at the servers, each agent's embedded
# libavahi-core at the booting machine); peerkey-boot with its static
# list as a second row. Prints figures, never passes or fails on time.
#
#	bench/faultmix.sh BUILDDIR [RUNS]	(RUNS per agent, default 10)
#	FM_CAP	a run that has no passphrase after this many seconds is
#		stopped and counted at the cap [60]
#
# Five hosts in network namespaces, built as tests/cluster/lib.sh builds
# them (real peerkeyd and avahi-daemon, "peerkey init", invite/join
# through h1): h1 is the booting machine, h2..h5 the servers. h1's LUKS2
# image is enrolled with "peerkey enroll" (its blob deposited at h2..h5
# the real way) and its boot.conf written by "peerkey boot-config" (the
# harness's retry settings dropped: the agent's defaults); then h1's
# peerkeyd and avahi-daemon stop (it is booting). Each of h2..h5 also runs
# a mandos server (port 4142, published by Zeroconf through the host's
# avahi-daemon, service "Mandos on hN"), whose clients.conf holds a
# Mandos client made by mandos-keygen whose secret is h1's passphrase.
#
# The faults, per host (both servers of the host alike):
#	refuse	peerkeyd: "peerkey disable h1" (it answers, and refuses);
#		mandos: restarted with a clients.conf without the client
#		(the handshake completes, zero bytes, close)
#	drop	nft in the host's namespace drops TCP SYNs to 4141 and 4142
#	silent	both servers SIGSTOPped: the kernel still completes the
#		TCP handshake (the listen backlog), nobody ever speaks
#	good	as enrolled
# The roles rotate each round: in round r host h(2 + j) takes role
# (j + r) mod 4 of "refuse drop silent good", so each host plays each role
# and the good server is announced, resolved and listed (static list:
# h2..h5 in that order) in each position in turn.
#
# Each round applies the roles, then runs the three agents, in an order
# that alternates (ABC, then CBA):
#	peerkey-boot (mDNS)	  boot.conf without [peer] sections, mdns = yes,
#				  mdns-mandos = no (only the four peerkeyd)
#	peerkey-boot (static)	  boot.conf's four [peer] sections, mdns = no
#	mandos-client (Zeroconf)  --interface=eth0, no --connect
# each in h1's namespace as the keyscript runs it (-d IMAGE, -P none;
# mandos-client as its plugin runner starts it), timed from its start to
# its exit. The passphrase is checked every run: peerkey-boot's must open
# the image (cryptsetup --test-passphrase), mandos-client's must be h1's
# passphrase byte for byte; a run without it counts as failed (and at the
# cap if it was stopped there).
#
# Writes bench/results/DATE-faultmix.txt (the machine, its load and nproc
# before and after, median/min/max of each agent, every raw figure with its
# round's roles). Needs root, what tests/cluster needs, mandos and
# mandos-client. Every process it starts is stopped by PID; the namespaces
# carry this shell's PID.
set -u

[ $# -ge 1 ] && [ $# -le 2 ] ||
    { echo "usage: bench/faultmix.sh BUILDDIR [RUNS]" >&2; exit 2; }
RUNS=${2:-10}
case $RUNS in ''|*[!0-9]*) echo "bench: RUNS is a number" >&2; exit 2 ;; esac
CAP=${FM_CAP:-60}
top=$(cd "$(dirname "$0")/.." && pwd)
B=$(cd "$1" && pwd) || exit 2
STAMP=$(date -u +%Y-%m-%dT%H%MZ)
RESDIR=$top/bench/results
RES=$RESDIR/$STAMP-faultmix.txt
MC=/usr/lib/x86_64-linux-gnu/mandos/plugins.d/mandos-client
MPORT=4142

CL_INTERVAL=1s CL_TIMEOUT=1h CL_EXTENDED=1h
top_srcdir=$top
. "$top/tests/cluster/lib.sh"
cl_init "$B" >&2
need mandos mandos-keygen nft
[ -x "$MC" ] || fatal "mandos-client not installed"

say() { printf '%s\n' "bench: $*" >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
HEAD="# load average at start: $(loadavg); nproc $(nproc)"
SERVERS="2 3 4 5"
ROLES=(refuse drop silent good)

# --- the cluster --------------------------------------------------------------
say "five hosts: h1 boots, h2..h5 serve"
cl_switch
for n in 1 $SERVERS; do
	cl_host "$n"
	cl_init_keys "$n" || fatal "h$n: peerkey init"
done
for n in 1 $SERVERS; do
	cl_start "$n"
done
for n in $SERVERS; do
	cl_join "$n" 1 || fatal "h$n: peerkey join"
	wait_for "cl_guards 1 $n && cl_guards $n 1" 20 ||
	    fatal "h1 and h$n do not know each other"
done
cl_disk 1 || fatal "h1: disk"
cl_enroll_luks 1 || fatal "h1: peerkey enroll"
for n in $SERVERS; do
	wait_for "test \"\$(cl_held $n 1)\" -ge 1" 20 ||
	    fatal "h$n holds no blob for h1"
	wait_for "cl_is $n 1 enabled" 20 || fatal "h$n does not see h1 enabled"
done
D1=$CL_DIR/h1
IMG=$D1/disk.img

# --- the Mandos client and servers -----------------------------------------
say "a Mandos client for h1 (mandos-keygen's defaults), its secret h1's passphrase"
MK=$CL_DIR/mandos-client
mkdir -p "$MK"
mandos-keygen --dir "$MK" --name h1 >/dev/null 2>&1 &&
    mandos-keygen --dir "$MK" --name h1 --passfile "$D1/typed" --no-ssh \
    >"$MK/section" 2>/dev/null || fatal "mandos-keygen failed"
mkdir -p "$CL_DIR/nohooks"
# mandos_conf N WITH: host N's Mandos configuration, with the client or not.
mandos_conf() {
	local d=$CL_DIR/h$1/mandos
	mkdir -p "$d/conf" "$d/state"
	printf '[DEFAULT]\n' >"$d/conf/mandos.conf"
	{
		printf '[DEFAULT]\nchecker = true\ntimeout = PT24H\n'
		printf 'extended_timeout = PT24H\ninterval = PT1H\n\n'
		[ "$2" = no ] || grep -v '^host' "$MK/section"
	} >"$d/conf/clients.conf"
	chmod -R a+rX "$d"
	chmod 777 "$d/state"
}
# mandos_start N: host N's mandos (Zeroconf through its avahi-daemon).
mandos_start() {
	local d=$CL_DIR/h$1/mandos
	spawn "h$1/mandos" env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$CL_DIR/h$1/bus.sock" \
	    ip netns exec "${CL_NS}h$1" mandos --foreground --no-dbus \
	    --interface eth0 -p "$MPORT" --servicename "Mandos on h$1" \
	    --configdir "$d/conf" --statedir "$d/state"
	echo $! >"$d/pid"
	wait_for "ip netns exec ${CL_NS}h$1 ss -Hltn 'sport = :$MPORT' | grep -q ." 30 ||
	    { sed 's/^/# /' "$CL_DIR/h$1/mandos.log" >&2; fatal "h$1: mandos did not start"; }
}
# mandos_stop N: stops host N's mandos and the processes it forked (its
# helper, its per-connection children: by their parent's PID, before the
# parent goes).
mandos_stop() {
	local p kids
	p=$(cat "$CL_DIR/h$1/mandos/pid" 2>/dev/null) || return 0
	rm -f "$CL_DIR/h$1/mandos/pid"
	kill -CONT "$p" 2>/dev/null
	kids=$(ps -o pid= --ppid "$p" 2>/dev/null)
	stop "$p" || :
	[ -z "$kids" ] || kill $kids 2>/dev/null
}
at_exit 'for n in $SERVERS; do mandos_stop $n; done'
for n in $SERVERS; do
	mandos_conf "$n" yes
	mandos_start "$n"
done

# The machine boots: its peerkeyd and avahi-daemon stop (the servers' 1 h
# timeout keeps it enabled).
cl_down 1
for n in $SERVERS; do
	cl_is "$n" 1 enabled || fatal "h$n disabled h1"
done

# --- the boot configurations ------------------------------------------------
WORK=$(mktemp -d /dev/shm/pkfault.XXXXXX) || fatal "no directory in /dev/shm"
at_exit 'rm -rf "$WORK"'
# boot.conf as boot-config wrote it, the agent's own retry defaults, the
# work directory on tmpfs.
fix_conf() {
	sed -e "s|^work-directory = .*|work-directory = $WORK|" \
	    -e '/^retry-min *=/d' -e '/^retry-max *=/d'
}
CL_BOOT_PEERS="" CL_BOOT_MDNS=yes CL_BOOT_EXTRA="mdns-mandos = no" \
    cl_boot_conf 1 | fix_conf >"$CL_DIR/mdns.conf"
CL_BOOT_PEERS="$SERVERS" CL_BOOT_MDNS=no cl_boot_conf 1 | fix_conf \
    >"$CL_DIR/static.conf"
[ "$(grep -c '^\[peer ' "$CL_DIR/static.conf")" = 4 ] ||
    fatal "h1's boot.conf does not list its four peers"
! grep -q '^\[peer ' "$CL_DIR/mdns.conf" || fatal "mdns.conf lists peers"

# --- the faults ---------------------------------------------------------------
ROLE_2= ROLE_3= ROLE_4= ROLE_5=
pid_of() { cat "$CL_DIR/h$1/$2" 2>/dev/null; }
# unset_role N: host N back to good.
unset_role() {
	local n=$1 r
	eval "r=\$ROLE_$n"
	case $r in
	refuse)
		cl_pk "$n" enable h1 >/dev/null || fatal "h$n: enable h1"
		mandos_stop "$n"; mandos_conf "$n" yes; mandos_start "$n" ;;
	drop)
		ip netns exec "${CL_NS}h$n" nft delete table inet fm ;;
	silent)
		kill -CONT "$(pid_of "$n" peerkeyd.pid)" "$(pid_of "$n" mandos/pid)" ;;
	esac
	eval "ROLE_$n=good"
}
set_role() {
	local n=$1 r=$2
	case $r in
	refuse)
		cl_pk "$n" disable h1 >/dev/null || fatal "h$n: disable h1"
		mandos_stop "$n"; mandos_conf "$n" no; mandos_start "$n" ;;
	drop)
		printf '%s\n' 'table inet fm {' 'chain in {' \
		    'type filter hook input priority 0; policy accept;' \
		    "tcp dport { 4141, $MPORT } tcp flags & (syn | ack) == syn counter drop" \
		    '}' '}' | ip netns exec "${CL_NS}h$n" nft -f - ||
		    fatal "h$n: nft" ;;
	silent)
		kill -STOP "$(pid_of "$n" peerkeyd.pid)" "$(pid_of "$n" mandos/pid)" ;;
	esac
	eval "ROLE_$n=$r"
}
# roles R: applies the roles of round R; RS="h2=... h3=... h4=... h5=...".
roles() {
	local j=0 n want s=""
	for n in $SERVERS; do
		want=${ROLES[$(( (j + $1) % 4 ))]}
		eval "[ \"\$ROLE_$n\" = \"$want\" ]" || unset_role "$n"
		j=$((j + 1))
	done
	j=0
	for n in $SERVERS; do
		want=${ROLES[$(( (j + $1) % 4 ))]}
		eval "[ \"\$ROLE_$n\" = \"$want\" ]" || set_role "$n" "$want"
		s="$s h$n=$want"
		j=$((j + 1))
	done
	# A restarted mandos: give its avahi-daemon time to publish it.
	sleep 2
	RS=${s# }
}
at_exit 'for n in 2 3 4 5; do kill -CONT $(cat "$CL_DIR/h$n/peerkeyd.pid" "$CL_DIR/h$n/mandos/pid" 2>/dev/null) 2>/dev/null; done'
for n in $SERVERS; do
	eval "ROLE_$n=good"
done

# --- the runs -----------------------------------------------------------------
# Each agent runs as in an initramfs, where /run is a tmpfs: in a private
# mount namespace with a tmpfs on /run/tmp (mandos-client makes its GnuPG
# home there, else in /tmp; peerkey-boot's work directory is on /dev/shm),
# and in its own PID namespace, so that whatever it leaves (a GnuPG agent
# of a run stopped at the cap) ends with it. The wrapper, PID 1 there,
# is timeout(1) with the cap.
RUNTMP_MADE=0
if [ ! -d /run/tmp ]; then
	mkdir /run/tmp && RUNTMP_MADE=1
fi
at_exit '[ "$RUNTMP_MADE" = 0 ] || rmdir /run/tmp 2>/dev/null'
cat >"$CL_DIR/wrap.sh" <<'EOW'
#!/bin/sh
cap=$1
shift
mount -t tmpfs -o mode=1777,size=16m faultmix-run-tmp /run/tmp || exit 125
exec timeout -s KILL "$cap" "$@"
EOW
WRAP="unshare -m -p -f --mount-proc --propagation private sh $CL_DIR/wrap.sh $CAP"
# agent A: one run of agent A in h1's namespace, its stdout to $CL_DIR/out;
# prints "ms=MS rc=RC ok=0|1".
agent() {
	local s e rc first ok=0
	: >"$CL_DIR/out"
	echo "--- $1 $ROUND" >>"$CL_DIR/$1.log"
	s=$(date +%s%N)
	case $1 in
	pb-mdns|pb-static)
		ip netns exec "${CL_NS}h1" $WRAP "$CL_AGENT" \
		    -c "$CL_DIR/${1#pb-}.conf" -P none -d "$IMG" \
		    >"$CL_DIR/out" 2>>"$CL_DIR/$1.log" ;;
	mc)
		ip netns exec "${CL_NS}h1" $WRAP "$MC" \
		    --interface=eth0 --network-hook-dir="$CL_DIR/nohooks" --debug \
		    --pubkey="$MK/pubkey.txt" --seckey="$MK/seckey.txt" \
		    --tls-pubkey="$MK/tls-pubkey.pem" \
		    --tls-privkey="$MK/tls-privkey.pem" \
		    >"$CL_DIR/out" 2>>"$CL_DIR/$1.log" ;;
	esac
	rc=$?
	e=$(date +%s%N)
	case $1 in
	mc)	cmp -s "$CL_DIR/out" "$D1/typed" && ok=1 ;;
	*)	[ -s "$CL_DIR/out" ] && cryptsetup open --test-passphrase \
		    --key-file="$CL_DIR/out" "$IMG" 2>/dev/null && ok=1 ;;
	esac
	[ "$ok" = 1 ] || { echo "round $ROUND $1 (rc $rc), its last lines:"
	    tail -n 4 "$CL_DIR/$1.log" | cut -c1-200; } >>"$CL_DIR/fails"
	# mandos-client tries one server at a time, in the order it
	# resolves them: which it tried first.
	first=
	[ "$1" != mc ] || first=" first=$(awk -v r="--- mc $ROUND" '
	    $0 == r { p = 1; next } /^--- / { p = 0 }
	    p && /Setting up a TCP connection to/ {
		a = $0; sub(/.* connection to /, "", a); sub(/,.*/, "", a)
		sub(/.*::/, "h", a); print a; exit }' "$CL_DIR/mc.log")"
	echo "ms=$(( (e - s) / 1000000 )) rc=$rc ok=$ok$first"
}
: >"$CL_DIR/raw"
: >"$CL_DIR/fails"
ORDER_A="pb-mdns mc pb-static"
ORDER_B="pb-static mc pb-mdns"
# One untimed run of each first (the page cache, GnuPG's first start),
# with every server good.
ROUND=0
for a in $ORDER_A; do
	say "untimed: $a: $(agent "$a")"
done
HEAD="$HEAD
# load average before the timed runs: $(loadavg)"
say "timing: $RUNS rounds of the three agents (load $(loadavg))"
r=1
while [ "$r" -le "$RUNS" ]; do
	ROUND=$r
	roles "$r"
	if [ $((r % 2)) = 1 ]; then order=$ORDER_A; else order=$ORDER_B; fi
	for a in $order; do
		x=$(agent "$a")
		echo "round=$r agent=$a $x $RS load1=$(cut -d' ' -f1 /proc/loadavg)" |
		    tee -a "$CL_DIR/raw" >&2
	done
	r=$((r + 1))
done
END="# load average at end: $(loadavg); nproc $(nproc)"

# stats A: "median min max ok count" in ms over agent A's runs (a failed
# run counts at its time, at most the cap).
stats() {
	grep " agent=$1 " "$CL_DIR/raw" | sed -n 's/.* ms=\([0-9]*\) .* ok=\([01]\).*/\1 \2/p' |
	    sort -n | awk '{ v[NR] = $1; ok += $2 } END {
	    if (NR == 0) { print "nan nan nan 0 0"; exit }
	    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	    printf "%.0f %d %d %d %d\n", m, v[1], v[NR], ok, NR }'
}
line() {
	set -- $(stats "$1")
	printf 'median %6s ms  min %6s  max %6s  (%s of %s with the passphrase)' "$1" "$2" "$3" "$4" "$5"
}

mkdir -p "$RESDIR"
{
	echo "# peerkey bench: boot agents with 1 refusing, 1 SYN-dropping, 1 silent and 1 good server, $STAMP, host $(hostname -s 2>/dev/null || hostname)"
	echo "# cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	echo "# kernel: $(uname -r); $(. /etc/os-release && echo "$PRETTY_NAME")"
	echo "# mandos $(dpkg-query -W -f '${Version}' mandos), mandos-client $(dpkg-query -W -f '${Version}' mandos-client), gnutls $(dpkg-query -W -f '${Version}' libgnutls30), avahi $(dpkg-query -W -f '${Version}' avahi-daemon), peerkey $(git -C "$top" describe --always --dirty 2>/dev/null || echo '?')"
	echo "$HEAD"
	echo "$END"
	echo "# h1 boots; h2..h5 each run peerkeyd (4141) and mandos (4142), network namespaces on one bridge; roles rotate each round (see the raw lines); agent order ABC/CBA; $RUNS rounds; cap $CAP s; the script ran at nice $(nice)"
	echo "# peerkey-boot: h1's boot key from peerkey init ($(gpg --show-keys --with-colons "$D1/boot/pgp.pub" 2>/dev/null | awk -F: '$1 == "pub" || $1 == "sub" { printf "%s%s/%s", s, $4, $17; s = "+" }')); mandos-client: mandos-keygen's default ($(gpg --show-keys --with-colons "$MK/pubkey.txt" 2>/dev/null | awk -F: '$1 == "pub" || $1 == "sub" { printf "%s%s/%s", s, $4, $3; s = "+" }'))"
	echo
	echo "time from the agent's start to its exit with the passphrase"
	echo "  peerkey-boot, mDNS:          $(line pb-mdns)"
	echo "  peerkey-boot, static list:   $(line pb-static)"
	echo "  mandos-client, Zeroconf:     $(line mc)"
	echo
	echo "# raw (ms from start to exit; ok=1: the passphrase checked)"
	sed 's/^/# /' "$CL_DIR/raw"
	echo "# the runs without the passphrase, each agent's last stderr lines"
	sed 's/^/# /' "$CL_DIR/fails"
} >"$RES"
cat "$RES"
say "results: $RES"
cleanup
