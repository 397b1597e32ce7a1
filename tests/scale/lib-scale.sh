# lib-scale.sh: a fleet of N machines on this one host, for tests/scale
# and bench/scale.sh (sourced; bash). It is tests/cluster/lib.sh's cluster
# with what a large one needs changed:
#
# - One network namespace per machine, on one bridge (cl_switch, cl_host):
#   each machine has its own address (192.0.2.N) and, what one namespace
#   with many addresses cannot give, its own source address. In one
#   namespace a connection to a local address comes from that address
#   itself, so every heartbeat, deposit and boot agent that reaches node
#   M would look like one source, M, and the per-source budgets
#   (max-handshakes-per-source and the like) would count the whole fleet
#   as a single client, which no real fleet is. A namespace and a veth
#   cost a few milliseconds and no process.
# - Static neighbour entries (sc__neighbours says why).
# - No Avahi: announce is off and every boot.conf lists its peers
#   statically (mdns = no), so a machine is one peerkeyd, not three
#   processes (bus, avahi, peerkeyd); mDNS has its own cluster tests.
# - Formation through one inviter (h1) with the real "peerkey invite" and
#   "peerkey join", each machine's identity at its own address; the mesh
#   is awaited per node (its peer count), not per pair.
# - Guardian sets: "peerkey enroll --threshold K --guardians G". With no
#   zone labels the picker takes guardians in name order (guardians.c),
#   so the G + 1 first names ("seeds") guard everyone. For one typed
#   passphrase (h1's) to start a cascade, the seeds other than h1 enroll
#   whole (plain "peerkey enroll": any peer holds and releases their
#   key); h1 and every other machine K of G. SC_G=0 is full mesh: every
#   machine enrolls whole.
#
#	sc_fleet N          hosts 1..N up, joined, enrolled, boot-config'd;
#	                    formation time in $SC_FORM_S
#	sc_seeds            the seeds' numbers (G + 1 first names, h1 too)
#	sc_is_seed N        N is a seed
#	sc_guardians N      the names that may release N's key (its token's
#	                    guardians; every other machine for a whole one)
#	sc_steal N          N is carried away: its peerkeyd dies, and its
#	                    peers disable it after CL_TIMEOUT
#	sc_cold_start       every daemon killed -9 at once; every machine but
#	                    h1 boots (its real peerkey-boot); h1's passphrase
#	                    is typed (its key file opens its disk, its
#	                    peerkeyd starts); each machine that gets its
#	                    passphrase is checked against its disk and its
#	                    peerkeyd started. Results in $CL_DIR/cascade
#	                    ("SECONDS hN" a line, in order) and
#	                    $SC_UNLOCK_S (the last one's time)
#	sc_released_by M N  how many releases to hN node M recorded since the
#	                    cold start
# Knobs: SC_N (default 12), SC_G guardians (default 3, 0: full mesh),
# SC_K threshold (default 2), SC_GIVEUP a boot's give-up (default 120s),
# CL_INTERVAL (default 1s), CL_TIMEOUT (default 20s, whole seconds: longer
# than the cascade takes, since a guardian counts a booting machine's
# silence from its own restart) and CL_EXTENDED (10s).

CL_INTERVAL=${CL_INTERVAL:-1s}
CL_TIMEOUT=${CL_TIMEOUT:-20s}
CL_EXTENDED=${CL_EXTENDED:-10s}
CL_ANNOUNCE=no
CL_LOG_LEVEL=info
. "$(dirname "${BASH_SOURCE[0]}")/../cluster/lib.sh"

SC_N=${SC_N:-12}
SC_G=${SC_G:-3}
SC_K=${SC_K:-2}
SC_GIVEUP=${SC_GIVEUP:-120s}
SC_STOLEN=""

# cl_start_avahi N: nothing to start (announce is off).
cl_start_avahi() { :; }

# sc__since T0 [T1]: seconds from T0 to T1 (default now), 0.01 s.
sc__since() {
	awk -v a="$1" -v b="${2:-$(date +%s.%N)}" 'BEGIN { printf "%.2f", b - a }'
}

# sc_npeers N: how many peers node N has.
sc_npeers() {
	cl_pk "$1" -j status 2>/dev/null | jq '.peers | length'
}

# sc__meshed N: node N has every other machine as a peer.
sc__meshed() {
	[ "$(sc_npeers "$1")" = $((SC_N - 1)) ]
}

# sc_seeds: the numbers of the G + 1 first names (none for full mesh).
sc_seeds() {
	[ "$SC_G" -gt 0 ] || return 0
	seq "$SC_N" | sed 's/^/h/' | LC_ALL=C sort | head -n $((SC_G + 1)) |
	    sed 's/^h//'
}

# sc_is_seed N: N is one of the seeds.
sc_is_seed() {
	sc_seeds | grep -qx "$1"
}

# sc__whole N: N enrolls whole (full mesh, or a seed other than h1).
sc__whole() {
	[ "$SC_G" = 0 ] || { [ "$1" != 1 ] && sc_is_seed "$1"; }
}

# sc_enroll N: N's disk enrolled (whole, or K of G) and its boot.conf.
# A peer that did not answer in time (a loaded host: every node here
# fsyncs its own store) is what "peerkey rotate" is for, as enroll says:
# up to two rotations follow a partial enroll.
sc_enroll() {
	local d=$CL_DIR/h$1 how=enroll i opts=""
	sc__whole "$1" || opts="--threshold $SC_K --guardians $SC_G"
	for i in 1 2 3; do
		# shellcheck disable=SC2086
		cl_pkd "$1" "$how" "$d/disk.img" --key-file "$d/typed" $opts \
		    >>"$d/enroll.out" 2>&1 && break
		[ "$i" = 3 ] && return 1
		how=rotate
	done
	cl_pkd "$1" boot-config >/dev/null 2>&1
}

# sc_guardians N: who may release N's key, a name a line.
sc_guardians() {
	if sc__whole "$1"; then
		cl_others "$1" | tr ' ' '\n' | sed -n 's/^[0-9]/h&/p'
	else
		cryptsetup luksDump --dump-json-metadata "$CL_DIR/h$1/disk.img" |
		    jq -r '.tokens[] | select(.type == "peerkey") |
		    .guardians[].name'
	fi
}

# sc_fleet N: the fleet (see the top); $SC_FORM_S: seconds from the
# first "peerkey init" to every node meshed, $SC_ENROLL_S: the enrolls.
sc_fleet() {
	local n t0 t1
	SC_N=$1
	t0=$(date +%s.%N)
	cl_switch
	for n in $(seq "$SC_N"); do
		cl_host "$n"
		cl_init_keys "$n" || fatal "h$n: peerkey init"
		cl_disk "$n" || fatal "h$n: disk"
	done
	sc__neighbours || fatal "static neighbour entries"
	for n in $(seq "$SC_N"); do
		cl_start "$n"
	done
	for n in $(seq 2 "$SC_N"); do
		cl_join "$n" 1 || fatal "h$n: peerkey join"
	done
	for n in $(seq "$SC_N"); do
		wait_for "sc__meshed $n" $((60 + SC_N)) ||
		    fatal "h$n has $(sc_npeers "$n") peers, not $((SC_N - 1))"
	done
	t1=$(date +%s.%N)
	SC_FORM_S=$(sc__since "$t0" "$t1")
	for n in $(seq "$SC_N"); do
		sc_enroll "$n" || {
			sed 's/^/# /' "$CL_DIR/h$n/enroll.out" >&2
			fatal "h$n: peerkey enroll"
		}
		sc_guardians "$n" >"$CL_DIR/h$n/guardians"
	done
	SC_ENROLL_S=$(sc__since "$t1")
}

# sc__neighbours: every host knows every other's MAC address, a
# permanent entry. The kernel's ARP table is one for all namespaces and
# holds at most net.ipv4.neigh.default.gc_thresh3 (1024) learnt entries:
# a fleet of 50 talking to each other needs 2,450 and overflows it
# ("neighbour: arp_cache: neighbor table overflow!", connections time
# out); permanent entries are not counted, and nothing of the host's is
# changed.
sc__neighbours() {
	local n m
	for n in $(seq "$SC_N"); do
		ip -n "${CL_NS}h$n" -o link show eth0 |
		    sed -n 's|.*link/ether \([0-9a-f:]*\) .*|\1|p' \
		    >"$CL_DIR/h$n/mac" || return 1
	done
	for n in $(seq "$SC_N"); do
		for m in $(seq "$SC_N"); do
			[ "$m" = "$n" ] && continue
			echo "neigh replace $(cl_addr "$m") lladdr" \
			    "$(cat "$CL_DIR/h$m/mac") dev eth0 nud permanent"
		done | ip -n "${CL_NS}h$n" -batch - || return 1
	done
}

# sc__disabled_everywhere N: every peer of N's that holds N's key has
# disabled it.
sc__disabled_everywhere() {
	local g
	for g in $(sed 's/^h//' "$CL_DIR/h$1/guardians"); do
		cl_is "$g" "$1" disabled || return 1
	done
}

# sc_steal N: N is carried away before the power cut: its peerkeyd dies
# and every holder of its key disables it after CL_TIMEOUT (a shorter
# timeout set now would count only from its next proof of life, peer.c).
sc_steal() {
	cl_kill "$1"
	SC_STOLEN="$SC_STOLEN $1"
	wait_for "sc__disabled_everywhere $1" $(($(echo "$CL_TIMEOUT" |
	    tr -d s) + 20))
}

# sc__stolen N: N was carried away.
sc__stolen() {
	case " $SC_STOLEN " in
	*" $1 "*) return 0 ;;
	esac
	return 1
}

# sc_cold_start: the whole-fleet cold start (see the top).
sc_cold_start() {
	local n p t0 now left pending=""
	for n in $(seq "$SC_N"); do
		SC_MARK[n]=$(cl_events "$n" | jq -s 'map(.id) | max // 0')
	done
	# The power cut: SIGKILL to every daemon at once.
	p=""
	for n in $(seq "$SC_N"); do
		p="$p $(cat "$CL_DIR/h$n/peerkeyd.pid" 2>/dev/null)"
		rm -f "$CL_DIR/h$n/peerkeyd.pid"
	done
	# shellcheck disable=SC2086
	kill_now KILL $p
	# Every machine but h1 boots; h1 is where the passphrase is typed.
	for n in $(seq 2 "$SC_N"); do
		cl_boot_conf "$n" >"$CL_DIR/h$n/boot.run.conf"
		: >"$CL_DIR/h$n/boot.log"
		$CL_SAY "h$n: peerkey-boot &"
		spawn -o "$CL_DIR/h$n/boot.out" "h$n/boot" \
		    ip netns exec "${CL_NS}h$n" "$CL_AGENT" \
		    -c "$CL_DIR/h$n/boot.run.conf" -g "$SC_GIVEUP" -P none \
		    -d "$CL_DIR/h$n/disk.img"
		echo $! >"$CL_DIR/h$n/boot.pid"
		pending="$pending $n"
	done
	t0=$(date +%s.%N)
	: >"$CL_DIR/cascade"
	cl_check_key 1 <"$CL_DIR/h1/typed" || fatal "h1's typed passphrase"
	cl_start 1
	echo "$(sc__since "$t0") h1 typed" >>"$CL_DIR/cascade"
	# The cascade: each machine whose agent is done is checked and
	# finishes booting (its peerkeyd starts).
	left=$pending
	while [ -n "$(echo "$left" | tr -d ' ')" ]; do
		sleep 0.2
		pending=$left
		left=""
		for n in $pending; do
			p=$(cat "$CL_DIR/h$n/boot.pid")
			if avahi__alive "$p"; then
				left="$left $n"
				continue
			fi
			now=$(sc__since "$t0")
			reap "$p" || :
			if [ -s "$CL_DIR/h$n/boot.out" ] &&
			    cl_check_key "$n" <"$CL_DIR/h$n/boot.out"; then
				echo "$now h$n" >>"$CL_DIR/cascade"
				cl_start "$n"
			else
				echo "$now h$n gave-up" >>"$CL_DIR/cascade"
			fi
		done
		# Done when only the stolen are left.
		for n in $left; do
			sc__stolen "$n" || continue 2
		done
		break
	done
	SC_UNLOCK_S=$(grep -v 'gave-up\|typed' "$CL_DIR/cascade" | tail -n 1 |
	    cut -d' ' -f1)
	SC_LEFT=$left
}

# sc_released_by M N: releases to hN node M recorded since the cold start.
sc_released_by() {
	cl_count "$1" ".kind == \"released\" and .peer == \"h$2\" and
	    .id > ${SC_MARK[$1]}"
}
