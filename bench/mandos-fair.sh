#!/bin/sh
# bench/mandos-fair.sh: one Debian mandos server measured by two clients in
# the same run, level by level: bench/loadgen (-m mandos, libpeerkey, one
# epoll thread) and independent ones, N parallel loops of Debian's own
# mandos-client --connect (each unlock: TCP, "1\r\n", TLS with the client's
# Ed25519 key, the secret to EOF, then its GnuPG decryption; the printed
# passphrase is checked). Unlocks/s and Mandos' CPU per unlock (cgroup v1
# cpuacct: the server and every child it forks) for each. Prints figures,
# never passes or fails on time. Needs root and mandos, mandos-client.
#	usage: bench/mandos-fair.sh BUILDDIR [SECONDS]
#	MF_LEVELS	concurrency levels ["1 2 4 8"]
#	MF_CLIENTS	Mandos clients (keys), used in turn by both [4, as run.sh]
#	BENCH_KEYCACHE	a directory keeping the clients between runs (as run.sh)
set -u
B=$(cd "${1:?usage: mandos-fair.sh BUILDDIR [SECONDS]}" && pwd)
SECS=${2:-5}
LEVELS=${MF_LEVELS:-1 2 4 8}
NCL=${MF_CLIENTS:-4}
top=$(cd "$(dirname "$0")/.." && pwd)
LOADGEN=$B/bench/loadgen
MC=/usr/lib/x86_64-linux-gnu/mandos/plugins.d/mandos-client
say() { printf '%s\n' "mandos-fair: $*" >&2; }
die() { say "$*"; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root"
[ -x "$LOADGEN" ] || die "$LOADGEN missing: make bench/loadgen in $B"
[ -x "$MC" ] || die "mandos-client not installed"
TAP_PREFIX=pkmfair
. "$top/tests/lib-tap.sh"
. "$top/tests/lib-avahi.sh"
CG=/sys/fs/cgroup/cpuacct/pkmfair.$$
at_exit 'for p in $(cat "$CG/tasks" 2>/dev/null); do kill "$p" 2>/dev/null; done; sleep 0.3; rmdir "$CG" 2>/dev/null'
mkdir "$CG" || die "no cpuacct cgroup"
SRV_CPU=0 GEN_CPU=1
[ "$(nproc)" -ge 2 ] || GEN_CPU=0
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
LOAD0=$(loadavg)

say "$NCL Mandos clients (mandos-keygen, RSA-4096 + Ed25519)"
printf 'fair passphrase 0123456789' > "$W/pass"
KEYS=""
i=1
while [ $i -le "$NCL" ]; do
	c=$W/c$i
	mkdir -p "$c"
	if [ -n "${BENCH_KEYCACHE:-}" ] && [ -s "$BENCH_KEYCACHE/c$i/section" ]; then
		cp -a "$BENCH_KEYCACHE/c$i/." "$c/"
		mandos-keygen --dir "$c" --name "c$i" --passfile "$W/pass" \
		    --no-ssh > "$c/section" 2>/dev/null
	else
		mandos-keygen --dir "$c" --name "c$i" >/dev/null 2>&1 &&
		    mandos-keygen --dir "$c" --name "c$i" --passfile "$W/pass" \
		    --no-ssh > "$c/section" 2>/dev/null
	fi
	[ -s "$c/section" ] || die "mandos-keygen failed"
	if [ -n "${BENCH_KEYCACHE:-}" ] && [ ! -s "$BENCH_KEYCACHE/c$i/section" ]; then
		mkdir -p "$BENCH_KEYCACHE/c$i" && cp -a "$c/." "$BENCH_KEYCACHE/c$i/"
	fi
	sed -n '/^secret =/,$p' "$c/section" | tail -n +2 | tr -d ' \n' |
	    base64 -d > "$c/blob"
	KEYS="$KEYS${KEYS:+,}$c/tls-privkey.pem@$(stat -c %s "$c/blob")"
	i=$((i + 1))
done

avahi_bus_conf "$W/bus.conf" "$W/bus"
spawn dbus dbus-daemon --config-file="$W/bus.conf" --nofork --nopidfile
wait_for "[ -S '$W/bus' ]" 10 || die "dbus-daemon did not start"
mkdir -p "$W/m/conf" "$W/m/state"
printf '[DEFAULT]\n' > "$W/m/conf/mandos.conf"
{ printf '[DEFAULT]\nchecker = true\ntimeout = PT24H\n'
  printf 'extended_timeout = PT24H\ninterval = PT1H\n\n'
  i=1; while [ $i -le "$NCL" ]; do grep -v '^host' "$W/c$i/section"; echo; i=$((i + 1)); done
} > "$W/m/conf/clients.conf"
chmod -R a+rX "$W/m"; chmod 777 "$W/m/state"
MPORT=$(free_port)
spawn mandos sh -c 'echo $$ > "$1/tasks"; shift; exec "$@"' sh "$CG" \
    taskset -c "$SRV_CPU" env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$W/bus" \
    mandos --foreground --no-zeroconf --no-dbus --no-ipv6 -a 127.0.0.1 \
    -p "$MPORT" --configdir "$W/m/conf" --statedir "$W/m/state"
wait_for "grep -q 'listening $MPORT\|Now listening' '$W/mandos.log' || ss -Hltn 'sport = :$MPORT' | grep -q LISTEN" 30 ||
    die "mandos did not start"

cpu() { cat "$CG/cpuacct.usage"; }

# mc_loops N SECS: N parallel loops of mandos-client for SECS; prints
# "ok fail cpu_ns".
mc_loops() {
	_n=$1 _end=$(( $(date +%s%N) + $2 * 1000000000 ))
	rm -f "$W"/mc.*
	_c0=$(cpu)
	_i=1
	while [ $_i -le "$_n" ]; do
		c=$W/c$(( (_i - 1) % NCL + 1 ))
		( ok=0 bad=0
		  while [ "$(date +%s%N)" -lt $_end ]; do
			if taskset -c "$GEN_CPU" "$MC" --interface=none \
			    --connect=127.0.0.1:$MPORT --pubkey="$c/pubkey.txt" \
			    --seckey="$c/seckey.txt" \
			    --tls-pubkey="$c/tls-pubkey.pem" \
			    --tls-privkey="$c/tls-privkey.pem" 2>/dev/null |
			    cmp -s - "$W/pass"; then
				ok=$((ok + 1))
			else
				bad=$((bad + 1))
			fi
		  done
		  echo "$ok $bad" > "$W/mc.$_i" ) &
		_i=$((_i + 1))
	done
	wait
	_c1=$(cpu)
	cat "$W"/mc.* | awk -v c=$((_c1 - _c0)) '{ o += $1; f += $2 } END { print o, f, c }'
}

RES=$W/res
: > "$RES"
for L in $LEVELS; do
	say "loadgen x$L ${SECS}s (load $(loadavg))"
	out=$(taskset -c "$GEN_CPU" "$LOADGEN" -m mandos -a "127.0.0.1:$MPORT" \
	    -k "$KEYS" -c "$L" -d "$SECS" -w 1 -t 10 \
	    -g "$CG" 2>/dev/null) || die "loadgen failed"
	echo "client=loadgen $out load1=$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$RES" >&2
	sleep 2
	say "mandos-client x$L ${SECS}s (load $(loadavg))"
	set -- $(mc_loops "$L" "$SECS")
	awk -v l="$L" -v s="$SECS" -v o="$1" -v f="$2" -v c="$3" \
	    -v ld="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
	    printf "client=mandos-client conc=%d secs=%d ok=%d fail=%d rate=%.1f server_cpu_ms=%.3f load1=%s\n",
	    l, s, o, f, o / s, o ? c / 1e6 / o : 0, ld }' | tee -a "$RES" >&2
	sleep 2
done
echo
echo "# Mandos $(dpkg-query -W -f '${Version}' mandos), $NCL clients, on core $SRV_CPU, clients on core $GEN_CPU, ${SECS}s a level"
echo "# load before: $LOAD0; after: $(loadavg); nproc $(nproc)"
printf '%-14s %5s %10s %14s %6s\n' client conc unlocks/s "cpu/unlock ms" fail
awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    printf "%-14s %5s %10s %14.1f %6s\n", v["client"], v["conc"], v["rate"],
    v["server_cpu_ms"], v["fail"] }' "$RES"
echo
cat "$RES"
