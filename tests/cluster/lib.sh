# lib.sh: a cluster of peerkey hosts in network namespaces, for the cluster
# tests and the demo (sourced; bash). The model is WireGuard's netns.sh.
#
#                    switch namespace pk$$sw
#                  +--------- br0 ----------+      mcast_snooping 0
#                  |       |        |       |
#                 h1      h2       h3      h4      veth, switch side
#                  |       |        |       |
#   namespace   pk$$h1  pk$$h2   pk$$h3  pk$$h4    eth0 on each host:
#               192.0.2.N/24, 2001:db8::N/64 (nodad), fe80::/64 link-local
#
# Each host N has a directory $CL_DIR/hN, its peerkey configuration
# directory (peerkey -d): its keys as "peerkey init" made them (node.key:
# the node key; boot/tls.key, boot/pgp.key, boot/pgp.pub: the boot key,
# TLS and OpenPGP) and the boot.conf "peerkey boot-config" wrote; its
# private D-Bus system bus and avahi-daemon (tests/lib-avahi.sh), its
# peerkeyd (conf, state, run, peerkeyd.log), its LUKS2 image disk.img (the
# typed passphrase in hN/typed) and its boot agent's log boot.log. Every
# process is spawned (tests/lib-tap.sh, the shell test driver) as "ip
# netns exec NS prog" so that its PID is the program's own, also recorded
# in hN/NAME.pid; the cleanup signals only those PIDs and deletes only
# the namespaces named with this shell's $$. $CL_DIR is the driver's $W.
#
#	cl_init BUILDDIR        checks tools and programs
#	cl_switch               the switch namespace and its bridge
#	cl_host N               host N on the switch, addresses up
#	cl_init_keys N          "peerkey init" on host N (hN/node.key, the boot
#	                        identity hN/boot/), and hN/boot.conf's [boot]
#	                        settings
#	cl_start N [CONF...]    avahi (if not running) + peerkeyd; waits ready
#	cl_stop N               stops peerkeyd (TERM, like a shutdown)
#	cl_avahi_stop N         stops its avahi-daemon and bus
#	cl_peer_add N M [OPTS]  node N guards host M (peer add, static address)
#	cl_disk N               a LUKS2 image with a typed passphrase
#	cl_join N M             N joins through M (invite on M, join on N)
#	cl_enroll_luks N        "peerkey enroll" of N's disk, then
#	                        "peerkey boot-config"
#	cl_cluster COUNT        hosts 1..COUNT, a cluster as an operator builds
#	                        it (init, invite/join, enroll, boot-config)
#	cl_boot_conf N          N's boot.conf as this boot needs it (stdout)
#	cl_agent N CONF [ARGS]  the real peerkey-boot on host N with CONF
#	cl_agent_bg N NAME CONF [ARGS]  the same in the background
#	cl_boot N [GIVEUP]      "reboot" N: its peerkey-boot, told its disk
#	                        as the keyscript tells it (-d), fetches that
#	                        disk's passphrase from its peers; prints it
#	cl_check_key N          stdin opens N's disk? (cryptsetup --test-passphrase)
#	nN CMD... / cl_run N    run CMD in host N's namespace, printing it
#	pkN ARGS / cl_pk N      the peerkey command against N's control socket
#	cl_pkd N ARGS           the same with N's configuration directory (hN)
#	cl_tokens N Q           jq Q over the peerkey tokens of N's disk
#	cl_guardians N          the guardians of N's disk (its first token)
#	cl_slots N              how many keyslots of N's disk are active
#	cl_held M N             how many blobs M holds for N
#	cl_reboot N WHY         N reboots: its peerkey-boot unlocks (a test)
#	cl_bg N NAME CMD...     CMD spawned in host N's namespace
#	cl_state N M            M's liveness state as seen by N
#	cl_events N [ARGS]      peerkey -j events on N
#	cl_done                 the cleanup, a final leak check (no namespace,
#	                        no process) as the last test, the plan; exits
# TAP and processes: ok, is, pass, fail, fatal, spawn, stop, wait_for from
# the driver.
#
# Knobs: CL_VERBOSE=1 shows every command run (on stderr), KEEP=1 keeps
# $CL_DIR, CL_INTERVAL/CL_TIMEOUT the liveness policy, CL_ANNOUNCE=no
# (no mDNS announcing) and CL_LOG_LEVEL (debug) in cl_conf;
# for a boot (cl_boot_conf), CL_BOOT_PEERS the hosts it may ask (default
# all), CL_BOOT_MDNS=yes browses by mDNS, CL_BOOT_EXTRA a [boot] line.
# The real commands build every cluster; pktool (tests/tools) is only the
# attackers' tool.

set -u

TAP_PREFIX=pkcluster
CL_SRC=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
. "$CL_SRC/tests/lib-tap.sh"
TAP_LOGS="$W/h*/peerkeyd.log $W/h*/boot.log"
CL_DIR=$W

CL_INTERVAL=${CL_INTERVAL:-1s}
CL_TIMEOUT=${CL_TIMEOUT:-30s}
CL_EXTENDED=${CL_EXTENDED:-10s}
CL_PORT=4141
CL_NS=pk$$
CL_HOSTS=""
CL_SAY=${CL_SAY:-cl__say_tap}

# cl__say_tap TEXT: commands shown as TAP diagnostics.
cl__say_tap() {
	[ "${CL_VERBOSE:-0}" = 1 ] && echo "# $*" >&2
	return 0
}

# cl_init BUILDDIR: tools, programs, the private TMPDIR.
cl_init() {
	CL_BUILD=$(cd "${1:-${top_builddir:-.}}" && pwd) ||
	    fatal "no build directory"
	CL_PEERKEYD=$CL_BUILD/src/node/peerkeyd
	CL_PEERKEY=$CL_BUILD/src/cli/peerkey
	CL_PKTOOL=$CL_BUILD/tests/tools/pktool
	CL_AGENT=$CL_BUILD/src/boot-agent/peerkey-boot
	need_root
	need ip unshare dbus-daemon avahi-daemon cryptsetup base64 truncate \
	    sqlite3 jq ss nft python3
	[ -x "$CL_PEERKEYD" ] || fatal "$CL_PEERKEYD not built"
	[ -x "$CL_PEERKEY" ] || fatal "$CL_PEERKEY not built"
	[ -x "$CL_AGENT" ] || fatal "$CL_AGENT not built"
	if [ ! -x "$CL_PKTOOL" ]; then
		make -C "$CL_BUILD" tests/tools/pktool >/dev/null 2>&1 ||
		    fatal "cannot build tests/tools/pktool"
	fi
	. "$CL_SRC/tests/lib-avahi.sh"
	at_exit cl__cleanup
	export TMPDIR=$CL_DIR/tmp
	mkdir -m 700 "$TMPDIR"
}

# cl_run N CMD...: CMD in host N's namespace (N=sw: the switch).
cl_run() {
	local n=$1
	shift
	$CL_SAY "h$n: $*"
	if [ "$n" = sw ]; then
		ip netns exec "${CL_NS}sw" "$@"
	else
		DBUS_SYSTEM_BUS_ADDRESS="unix:path=$CL_DIR/h$n/bus.sock" \
		    ip netns exec "${CL_NS}h$n" "$@"
	fi
}
# nN CMD...: cl_run N CMD (hosts 1 to 5, and 9).
for _n in 1 2 3 4 5 9; do
	eval "n$_n() { cl_run $_n \"\$@\"; }"
done

# cl_pk N ARGS: the peerkey command on node N's control socket.
cl_pk() {
	local n=$1
	shift
	cl_run "$n" "$CL_PEERKEY" -s "$CL_DIR/h$n/run/control.sock" "$@"
}
# pkN ARGS: cl_pk N ARGS (nodes 1 to 4).
for _n in 1 2 3 4; do
	eval "pk$_n() { cl_pk $_n \"\$@\"; }"
done

# cl_pkd N ARGS: peerkey with host N's configuration directory (hN:
# node.key, boot/, boot.conf) and its control socket.
cl_pkd() {
	local n=$1
	shift
	cl_run "$n" "$CL_PEERKEY" -d "$CL_DIR/h$n" \
	    -s "$CL_DIR/h$n/run/control.sock" "$@"
}

# cl_switch: the switch namespace with bridge br0.
cl_switch() {
	ip netns add "${CL_NS}sw" || fatal "ip netns add failed"
	NETNS="$NETNS ${CL_NS}sw"
	ip -n "${CL_NS}sw" link set lo up
	ip -n "${CL_NS}sw" link add br0 type bridge mcast_snooping 0
	ip -n "${CL_NS}sw" link set br0 up
}

# cl_addr N: host N's IPv4 address.
cl_addr() { echo "192.0.2.$1"; }
# cl_addr6 N: host N's IPv6 address.
cl_addr6() { echo "2001:db8::$1"; }
# cl_ll N: host N's IPv6 link-local address (with %eth0).
cl_ll() {
	ip -n "${CL_NS}h$1" -6 -o addr show dev eth0 scope link |
	    sed -n 's/.*inet6 \(fe80::[0-9a-f:]*\)\/.*/\1%eth0/p' | head -n 1
}

# cl_host N: namespace for host N, wired to the switch, addresses up.
cl_host() {
	local n=$1 ns=${CL_NS}h$1
	mkdir -p "$CL_DIR/h$n"
	chmod 700 "$CL_DIR/h$n"
	# Its maintenance keys on a memory filesystem (luks-maint.c).
	mem_dir "$CL_DIR/h$n/maint" || fatal "cannot mount a tmpfs on h$n/maint"
	ip netns add "$ns" || fatal "ip netns add $ns failed"
	NETNS="$ns $NETNS"
	CL_HOSTS="$CL_HOSTS $n"
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0 \
	    net.ipv6.conf.all.accept_dad=0
	ip -n "$ns" link set lo up
	ip -n "${CL_NS}sw" link add "h$n" type veth peer name eth0 netns "$ns"
	ip -n "${CL_NS}sw" link set "h$n" master br0 up
	ip -n "$ns" addr add "$(cl_addr "$n")/24" dev eth0
	ip -n "$ns" addr add "$(cl_addr6 "$n")/64" dev eth0 nodad
	ip -n "$ns" link set eth0 up
	wait_for "cl__ll_ready $n" 10 || fatal "h$n: no link-local address"
}

# cl__ll_ready N: host N's link-local address is usable (not tentative).
cl__ll_ready() {
	ip -n "${CL_NS}h$1" -6 -o addr show dev eth0 scope link |
	    grep -q fe80 &&
	! ip -n "${CL_NS}h$1" -6 -o addr show dev eth0 | grep -q tentative
}

# cl_init_keys N: "peerkey init" on host N: node key hN/node.key, boot
# identity hN/boot/ (key ids into hN/node.id, hN/boot.id). Also seeds the
# [boot] section of hN/boot.conf with this harness's settings, which
# "peerkey boot-config" keeps (no prompt, fast retries, a private work
# directory, static peers only).
cl_init_keys() {
	local n=$1 d=$CL_DIR/h$1
	cl_pkd "$n" -j init >"$d/init.json" || return 1
	jq -r .node_keyid "$d/init.json" >"$d/node.id" &&
	jq -r .boot_keyid "$d/init.json" >"$d/boot.id" || return 1
	mkdir -p "$d/bootrun"
	chmod 700 "$d/bootrun"
	printf '[boot]\nwork-directory = %s\nprompt = no\nretry-min = 500ms\nretry-max = 2s\nmdns = no\n' \
	    "$d/bootrun" >"$d/boot.conf"
}

# cl_join N M: host N joins the cluster through host M: "peerkey invite"
# on M prints a one-time code, "peerkey join CODE" on N uses it.
cl_join() {
	local code
	code=$(cl_pkd "$2" invite) || return 1
	cl_pkd "$1" join "$code" >/dev/null
}

# cl_guards N M: node N has host M as a peer.
cl_guards() {
	[ -n "$(cl_state "$1" "$2")" ]
}

# cl_enroll_luks N: "peerkey enroll" of host N's disk with every peer of
# its peerkeyd (its typed passphrase authorises the new keyslot), then
# "peerkey boot-config" (hN/boot.conf).
cl_enroll_luks() {
	local d=$CL_DIR/h$1
	cl_pkd "$1" enroll "$d/disk.img" --key-file "$d/typed" >/dev/null &&
	cl_pkd "$1" boot-config >/dev/null
}

# cl_conf N [LINES...]: writes host N's peerkeyd.conf; extra lines go at the
# end (each "section key=value" or a raw line).
cl_conf() {
	local n=$1 d=$CL_DIR/h$1
	shift
	mkdir -p "$d/state" "$d/run"
	chmod 700 "$d/state" "$d/run"
	cat >"$d/peerkeyd.conf" <<EOF
[node]
name = h$n
key = $d/node.key
state-directory = $d/state
runtime-directory = $d/run
port = $CL_PORT
log-level = ${CL_LOG_LEVEL:-debug}

[liveness]
interval = $CL_INTERVAL
timeout = $CL_TIMEOUT
extended-timeout = $CL_EXTENDED
alive-mark = 1s

[announce]
enable = ${CL_ANNOUNCE:-yes}
mandos = no
service-name = peerkey on h$n
EOF
	local l
	for l in "$@"; do
		echo "$l" >>"$d/peerkeyd.conf"
	done
}

# cl_start N: avahi (when not running) and peerkeyd on host N; waits until
# its control socket answers and its port listens.
cl_start() {
	local n=$1 d=$CL_DIR/h$1
	[ -f "$d/peerkeyd.conf" ] || cl_conf "$n"
	cl_start_avahi "$n"
	cl_run "$n" "$CL_PEERKEYD" -n -f "$d/peerkeyd.conf" >/dev/null 2>&1 ||
	    fatal "h$n: bad configuration"
	$CL_SAY "h$n: peerkeyd -d -f $d/peerkeyd.conf &"
	spawn "h$n/peerkeyd" \
	    env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$d/bus.sock" \
	    ip netns exec "${CL_NS}h$n" "$CL_PEERKEYD" -d -f "$d/peerkeyd.conf"
	echo $! >"$d/peerkeyd.pid"
	if ! wait_for "cl__ready $n" 20; then
		echo "# h$n: peerkeyd did not become ready:" >&2
		sed 's/^/# /' "$d/peerkeyd.log" >&2
		fatal "h$n: peerkeyd did not start"
	fi
}

# cl_start_avahi N: host N's bus and avahi-daemon, unless running.
cl_start_avahi() {
	local n=$1 d=$CL_DIR/h$1
	avahi__alive "$(cat "$d/avahi.pid" 2>/dev/null)" && return 0
	$CL_SAY "h$n: avahi-daemon &"
	if [ -f "$d/ns" ]; then
		avahi_bus_start "$d" && avahi_daemon_start "$d"
	else
		avahi_start "$d" "${CL_NS}h$n" "h$n" eth0
	fi || fatal "h$n: avahi did not start"
}

# cl__ready N: node N answers on its control socket and its TCP port.
cl__ready() {
	avahi__alive "$(cat "$CL_DIR/h$1/peerkeyd.pid")" || return 1
	"$CL_PEERKEY" -s "$CL_DIR/h$1/run/control.sock" status >/dev/null \
	    2>&1 || return 1
	ip netns exec "${CL_NS}h$1" ss -Hltn "sport = :$CL_PORT" | grep -q .
}

# cl_running N: true while host N's peerkeyd runs.
cl_running() {
	avahi__alive "$(cat "$CL_DIR/h$1/peerkeyd.pid" 2>/dev/null)"
}

# cl_stop N: stops host N's peerkeyd (SIGTERM, as at shutdown).
cl_stop() {
	local p
	p=$(cat "$CL_DIR/h$1/peerkeyd.pid" 2>/dev/null) || return 0
	$CL_SAY "h$1: stop peerkeyd"
	rm -f "$CL_DIR/h$1/peerkeyd.pid"
	stop "$p" || :
}

# cl_kill N: kills host N's peerkeyd at once (SIGKILL: a power cut).
cl_kill() {
	local p
	p=$(cat "$CL_DIR/h$1/peerkeyd.pid" 2>/dev/null) || return 0
	$CL_SAY "h$1: kill -9 peerkeyd"
	rm -f "$CL_DIR/h$1/peerkeyd.pid"
	stop "$p" KILL || :
}

# cl_avahi_stop N: stops host N's avahi-daemon and bus.
cl_avahi_stop() {
	avahi_stop "$CL_DIR/h$1"
}

# cl_peer_add N M [OPTS...]: node N guards host M.
cl_peer_add() {
	local n=$1 m=$2 dm=$CL_DIR/h$2
	shift 2
	cl_pk "$n" peer add "h$m" --boot-key "$(cat "$dm/boot.id")" \
	    --node-key "$(cat "$dm/node.id")" \
	    --address "$(cl_addr "$m"):$CL_PORT" \
	    --address "[$(cl_addr6 "$m")]:$CL_PORT" \
	    --timeout "$CL_TIMEOUT" --interval "$CL_INTERVAL" \
	    --extended-timeout "$CL_EXTENDED" "$@" >/dev/null
}

# cl_disk N: host N's LUKS2 image, with a passphrase a person would type
# (keyslot 0, kept in hN/typed for the power-cut scenario).
cl_disk() {
	local d=$CL_DIR/h$1
	head -c 12 /dev/urandom | base64 | tr -d '\n' >"$d/typed"
	truncate -s 20M "$d/disk.img"
	$CL_SAY "h$1: cryptsetup luksFormat --type luks2 disk.img"
	cryptsetup -q luksFormat --type luks2 --pbkdf pbkdf2 \
	    --pbkdf-force-iterations 1000 --key-file "$d/typed" \
	    "$d/disk.img" >/dev/null
}

# cl_others N: every host but N.
cl_others() {
	local m
	for m in $CL_HOSTS; do
		[ "$m" = "$1" ] || printf '%s ' "$m"
	done
}

# cl_boot_conf N: host N's boot.conf (from "peerkey boot-config") as this
# boot needs it: only the [peer hM] sections of $CL_BOOT_PEERS when set,
# mdns = $CL_BOOT_MDNS (default no), $CL_BOOT_EXTRA in [boot].
cl_boot_conf() {
	awk -v peers=" ${CL_BOOT_PEERS-ALL} " -v mdns="${CL_BOOT_MDNS:-no}" \
	    -v extra="${CL_BOOT_EXTRA:-}" '
	/^\[/ {
		keep = 1
		if ($1 == "[peer") {
			h = $2
			sub(/^h/, "", h)
			sub(/\]$/, "", h)
			keep = peers == " ALL " || index(peers, " " h " ") > 0
		}
	}
	/^mdns[ \t]*=/ { next }
	keep { print }
	/^\[boot\]/ {
		print "mdns = " mdns
		if (extra != "")
			print extra
	}' "$CL_DIR/h$1/boot.conf"
}

# cl_agent N CONF [ARGS...]: the real peerkey-boot on host N with the
# configuration CONF; the passphrase on stdout, its progress appended to
# hN/boot.log.
cl_agent() {
	local n=$1 conf=$2
	shift 2
	cl_run "$n" "$CL_AGENT" -c "$conf" "$@" 2>>"$CL_DIR/h$n/boot.log"
}

# cl_agent_bg N NAME CONF [ARGS...]: cl_agent spawned, no prompt: its
# PID in $! and hN/NAME.pid, the passphrase in hN/NAME.out, its progress
# in hN/NAME.log.
cl_agent_bg() {
	local n=$1 name=$2 conf=$3 d=$CL_DIR/h$1
	shift 3
	$CL_SAY "h$n: peerkey-boot -c $conf -P none $* &"
	spawn -o "$d/$name.out" "h$n/$name" ip netns exec "${CL_NS}h$n" \
	    "$CL_AGENT" -c "$conf" -P none "$@"
	echo $! >"$d/$name.pid"
}

# cl_boot N [GIVEUP]: host N boots: its peerkey-boot (no prompt; the
# configuration "peerkey boot-config" wrote, through cl_boot_conf; the
# disk named, as the keyscript names CRYPTTAB_SOURCE) asks its peers and
# prints the passphrase (stdout) when one released it for that disk.
cl_boot() {
	local d=$CL_DIR/h$1
	cl_boot_conf "$1" >"$d/boot.run.conf"
	cl_agent "$1" "$d/boot.run.conf" -g "${2:-20s}" -P none \
	    -d "$d/disk.img"
}

# cl_check_key N: the key on stdin opens host N's disk.
cl_check_key() {
	cryptsetup open --test-passphrase --key-file=- "$CL_DIR/h$1/disk.img"
}

# cl_unlocks N: host N boots and its passphrase opens its disk.
cl_unlocks() {
	cl_boot "$@" | cl_check_key "$1"
}

# cl_state N M: host M's state as seen by node N (enabled, disabled, ...).
cl_state() {
	cl_pk "$1" -j status 2>/dev/null | jq -r --arg p "h$2" \
	    '.peers[] | select(.name == $p) | .state'
}

# cl_is N M STATE: node N sees host M in STATE.
cl_is() {
	[ "$(cl_state "$1" "$2")" = "$3" ]
}

# cl_events N [ARGS...]: node N's audit events as JSON lines.
cl_events() {
	local n=$1
	shift
	cl_pk "$n" -j events "$@" 2>/dev/null | jq -c 'if type == "array" then .[] else .events[] end'
}

# cl_cluster COUNT: the switch, hosts 1..COUNT with their disks, every
# peerkeyd running, a cluster as an operator builds it: "peerkey init" on
# every host, h2..COUNT "peerkey join" with a code from h1's "peerkey
# invite" (h1 introduces each to the members, so every node guards every
# other), "peerkey enroll" of every disk and "peerkey boot-config".
cl_cluster() {
	local n m
	cl_switch
	for n in $(seq "$1"); do
		cl_host "$n"
		cl_init_keys "$n" || fatal "h$n: peerkey init"
		cl_disk "$n" || fatal "h$n: disk"
	done
	for n in $(seq "$1"); do
		cl_start "$n"
	done
	for n in $(seq 2 "$1"); do
		cl_join "$n" 1 || fatal "h$n: peerkey join"
		for m in $(seq "$n"); do
			[ "$m" = "$n" ] && continue
			wait_for "cl_guards $m $n" 20 ||
			    fatal "h$m does not guard h$n"
			wait_for "cl_guards $n $m" 20 ||
			    fatal "h$n does not guard h$m"
		done
	done
	for n in $(seq "$1"); do
		cl_enroll_luks "$n" || fatal "h$n: peerkey enroll"
	done
	for n in $(seq "$1"); do
		for m in $(cl_others "$n"); do
			wait_for "cl_is $n $m enabled" 20 ||
			    fatal "h$n does not see h$m enabled"
		done
	done
}

# cl_star COUNT: hosts h1..COUNT with their keys ("peerkey init") and
# peerkeyd running, a disk on h1 only (not enrolled), h2..COUNT joined
# with codes from h1's "peerkey invite"; each knows h1 and h1 knows each.
cl_star() {
	local n
	cl_switch
	for n in $(seq "$1"); do
		cl_host "$n"
		cl_init_keys "$n" || fatal "h$n: peerkey init"
	done
	cl_disk 1 || fatal "h1: disk"
	for n in $(seq "$1"); do
		cl_start "$n"
	done
	for n in $(seq 2 "$1"); do
		cl_join "$n" 1 || fatal "h$n: peerkey join"
		wait_for "cl_guards 1 $n" 20 || fatal "h1 does not know h$n"
		wait_for "cl_guards $n 1" 20 || fatal "h$n does not know h1"
	done
}

# cl_tokens N Q: jq Q over the peerkey tokens of host N's disk (an array).
cl_tokens() {
	cryptsetup luksDump --dump-json-metadata "$CL_DIR/h$1/disk.img" |
	    jq -r "[.tokens[] | select(.type == \"peerkey\")] | $2"
}

# cl_guardians N: the guardians of host N's disk's first token, by name.
cl_guardians() {
	cl_tokens "$1" '.[0].guardians | map(.name) | join(" ")'
}

# cl_slots N: how many keyslots of host N's disk are active.
cl_slots() {
	cryptsetup luksDump --dump-json-metadata "$CL_DIR/h$1/disk.img" |
	    jq '.keyslots | length'
}

# cl_held M N: how many blobs host M holds for host N.
cl_held() {
	cl_pk "$1" -j status | jq --arg n "h$2" \
	    '[.peers[] | select(.name == $n) | .blobs] | add // 0'
}

# cl_reboot N WHY: host N powers off, its peerkey-boot unlocks (test WHY;
# hN/boot.log has only this boot), N comes back, and each running holder
# its tokens name sees it enabled again.
cl_reboot() {
	local n=$1 m
	cl_down "$n"
	: >"$CL_DIR/h$n/boot.log"
	ok "cl_unlocks $n 30s" "$2"
	cl_up "$n"
	for m in $(cl_tokens "$n" '[.[]."held-by"[]] | unique | .[]'); do
		cl_running "${m#h}" || continue
		cl_guards "$n" "${m#h}" || continue
		wait_for "cl_is ${m#h} $n enabled" 20 || fail "$m does not see h$n"
	done
}

# cl_bg N NAME CMD...: CMD spawned in host N's namespace, its PID in $!
# and hN/NAME.pid, its output in hN/NAME.log.
cl_bg() {
	local n=$1 name=$2
	shift 2
	$CL_SAY "h$n: $* &"
	spawn "h$n/$name" ip netns exec "${CL_NS}h$n" "$@"
	echo $! >"$CL_DIR/h$n/$name.pid"
}

# cl_hex: stdin as one line of lowercase hex.
cl_hex() {
	od -An -v -tx1 | tr -d ' \n'
}

# cl_down N: host N powers off (peerkeyd and avahi stop).
cl_down() {
	cl_stop "$1"
	cl_avahi_stop "$1"
}

# cl_up N: host N finished booting: avahi and peerkeyd run again.
cl_up() {
	cl_start "$1"
}

# cl_cut A B: drops every frame between host A and host B at the switch
# (nftables bridge filter in the switch namespace).
cl_cut() {
	local sw=${CL_NS}sw
	if ! ip netns exec "$sw" nft list table bridge cut >/dev/null 2>&1; then
		printf '%s\n' 'table bridge cut {' 'chain drops {' \
		    'type filter hook forward priority 0; policy accept;' '}' '}' |
		    ip netns exec "$sw" nft -f - || return 1
	fi
	$CL_SAY "switch: drop h$1 <-> h$2"
	ip netns exec "$sw" nft add rule bridge cut drops iifname "h$1" \
	    oifname "h$2" counter drop &&
	ip netns exec "$sw" nft add rule bridge cut drops iifname "h$2" \
	    oifname "h$1" counter drop
}

# cl_heal: removes every cut.
cl_heal() {
	$CL_SAY "switch: heal all cuts"
	ip netns exec "${CL_NS}sw" nft delete table bridge cut 2>/dev/null
	return 0
}

# cl_unplug N / cl_plug N: host N's switch port down / up.
cl_unplug() { ip -n "${CL_NS}sw" link set "h$1" down; }
cl_plug() {
	ip -n "${CL_NS}sw" link set "h$1" up
	wait_for "cl__ll_ready $1" 10
}

# cl_count N FILTER: how many of node N's events match the jq FILTER.
cl_count() {
	cl_events "$1" | jq -c "select($2)" | wc -l
}

# cl_has N FILTER: node N has at least one event matching FILTER.
cl_has() {
	[ "$(cl_count "$1" "$2")" -gt 0 ]
}

# cl__cleanup: stops every process recorded under $CL_DIR by its PID
# file (avahi, and what the driver spawned: it reaps them after); the
# driver then deletes the namespaces.
cl__cleanup() {
	local n d
	for n in $CL_HOSTS; do
		avahi_cleanup "$CL_DIR/h$n"
	done
	for d in "$CL_DIR"/*.pid; do
		[ -f "$d" ] && avahi__kill "$d"
	done
	CL_HOSTS=""
}

# cl_leaks DIR: prints what is left of ours (namespaces named with our $$,
# processes whose command line mentions DIR); true when nothing is.
cl_leaks() {
	local dir=$1 left f c
	left=$(ip netns list | awk '{ print $1 }' | grep "^${CL_NS}[sh]" || true)
	for f in /proc/[0-9]*/cmdline; do
		c=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
		case $c in
		*"$dir"*) left="$left ${f%/cmdline}: $c" ;;
		esac
	done
	[ -z "$left" ] && return 0
	echo "# left behind: $left" >&2
	return 1
}

# cl_done: cleanup, the leak check as the last test, the plan; exits.
cl_done() {
	cleanup
	ok 'cl_leaks "$CL_DIR"' "no namespace and no process left behind"
	finish
}
