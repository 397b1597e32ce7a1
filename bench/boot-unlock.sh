#!/bin/sh
# boot-unlock.sh: end-to-end time of one unlock on loopback, median of N
# runs: peerkey-boot against one static peerkeyd, and Debian's
# mandos-client against Debian's mandos server. Prints figures, never
# passes or fails on time. Needs root, a build (top_builddir) and mandos.
#	usage: bench/boot-unlock.sh [N]
N=${1:-11}
. "$(dirname "$0")/../tests/boot/lib-boot.sh"
PEERKEYD=$top_builddir/src/node/peerkeyd
PEERKEY=$top_builddir/src/cli/peerkey
PKTOOL=$top_builddir/tests/tools/pktool
MC=/usr/lib/x86_64-linux-gnu/mandos/plugins.d/mandos-client

boot_keys "$W/k"
stop_gpg_agents "$W/k/gpg"
printf 'bench-pass' > "$W/pass"
seal "$W/k" "$W/pass" "$W/blob"
mkdir -p "$W/n/state" "$W/n/run"
NKEY=$("$PKTOOL" keygen "$W/n/node.key")
PN=$(free_port)
printf '[node]\nkey = %s\nstate-directory = %s\nruntime-directory = %s\nlisten = 127.0.0.1\nport = %s\n[announce]\nenable = no\n' \
    "$W/n/node.key" "$W/n/state" "$W/n/run" "$PN" > "$W/n/conf"
spawn node "$PEERKEYD" -d -f "$W/n/conf"
wait_for "grep -q 'ready on port' '$W/node.log'" 10
"$PEERKEY" -s "$W/n/run/control.sock" peer add me --boot-key "$BOOT_KEYID" >/dev/null
"$PEERKEY" -s "$W/n/run/control.sock" peer put-blob me b "$W/blob" >/dev/null
boot_conf "$W/b.conf" "$W/k" "mdns = no" "prompt = no" "give-up = 20s"
printf '[peer n]\naddress = 127.0.0.1:%s\nnode-key = %s\n' "$PN" "$NKEY" >> "$W/b.conf"
PM=$(free_port)
start_mandos "$W/m" "$PM" "$W/blob" "$BOOT_KEYID" "$BOOT_FPR"

# ms CMD...: wall time of one run in milliseconds (output checked).
ms() {
	_s=$(date +%s%N)
	"$@" > "$W/out" 2>/dev/null
	_e=$(date +%s%N)
	cmp -s "$W/out" "$W/pass" || { echo fail; return; }
	echo $(( (_e - _s) / 1000000 ))
}
median() {
	tr ' ' '\n' | grep -v '^$' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}
pb="" mc=""
i=0
while [ $i -lt "$N" ]; do
	pb="$pb $(ms "$AGENT" -c "$W/b.conf")"
	mc="$mc $(ms "$MC" --interface=none --connect=127.0.0.1:$PM \
	    --pubkey="$W/k/pgp.pub" --seckey="$W/k/pgp.key" \
	    --tls-pubkey="$W/k/tls.pub" --tls-privkey="$W/k/tls.key")"
	i=$((i + 1))
done
echo "peerkey-boot -> peerkeyd (static, loopback): median $(echo $pb | median) ms  [$pb ]"
echo "mandos-client -> mandos (loopback):          median $(echo $mc | median) ms  [$mc ]"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
trap - EXIT
cleanup
