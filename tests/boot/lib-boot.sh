# lib-boot.sh: the peerkey-boot tests' own helpers (sourced, POSIX sh), on
# the shell test driver tests/lib-tap.sh (ok, diag, need, need_root, skip,
# finish, spawn, wait_for, free_port, $W, NETNS):
#
#	boot_keys DIR                      TLS (Ed25519, PKCS#8) and OpenPGP
#	                                   boot keys made with certtool and gpg,
#	                                   and a node key (DIR/node.key, its
#	                                   id in DIR/node.id, its public key
#	                                   in DIR/node.pub);
#	                                   sets BOOT_FPR and BOOT_KEYID
#	seal DIR PASSFILE OUT [BLOBID]     encrypt PASSFILE to DIR's OpenPGP key;
#	                                   with BLOBID, signed by DIR's node key
#	                                   as "peerkey enroll" signs a blob
#	                                   (pktool seal); without, bare OpenPGP
#	                                   (what a Mandos server holds)
#	boot_conf FILE DIR [KEY=VALUE...]  write a [boot] section (with DIR's
#	                                   node-public-key)
#	boot_conf_of FILE CONF [KEY=VALUE...]  the same from the [boot] section
#	                                   of CONF, as "peerkey boot-config"
#	                                   wrote it
#	start_bus DIR                      a private D-Bus system bus
#	start_mandos DIR PORT BLOBFILE     Debian's real mandos server on
#	                                   127.0.0.1 serving BLOBFILE to our key
#	start_silent PORT                  a listener that never says a word
#	start_syn_drop                     DROP_ADDR: every SYN to it dropped
#	start_slow                         the slow peers of a "first wins"
#	                                   check: DROP_ADDR, a silent PS, a
#	                                   PD where nothing listens
#	slow_conf FILE DIR KIND [LINE]     a boot.conf asking those first
#	timed CMD...                       runs CMD; sets rc and el (ms)
#	machine NAME                       a machine as an operator makes one:
#	                                   "peerkey init" in $W/NAME, its
#	                                   peerkeyd on a free loopback port
#	                                   (PORT_NAME; again after stop_machine)
#	stop_machine NAME                  stops that peerkeyd (by PID)
#	pkm NAME ARGS...                   peerkey with NAME's directory and
#	                                   control socket
#
# AGENT (default: the build tree's peerkey-boot) may name another build's
# agent, to see a test fail on older code.
# Everything lives under $W, removed at exit; every process is spawned,
# so the driver stops it by PID (and its children: mandos forks one per
# connection).
set -u

: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)/build}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/lib-tap.sh"
. "$top_srcdir/tests/lib-avahi.sh"
: "${AGENT:=$top_builddir/src/boot-agent/peerkey-boot}"
PEERKEYD=$top_builddir/src/node/peerkeyd
PEERKEY=$top_builddir/src/cli/peerkey
PKTOOL=$top_builddir/tests/tools/pktool

boot_keys() {
	_d=$1
	mkdir -p "$_d"
	certtool --generate-privkey --key-type=ed25519 --no-text \
	    --outfile "$_d/tls.key" 2>/dev/null
	chmod 600 "$_d/tls.key"
	certtool --load-privkey "$_d/tls.key" --pubkey-info \
	    --outfile "$_d/tls.pub" 2>/dev/null
	mkdir -m 700 "$_d/gpg"
	GNUPGHOME=$_d/gpg gpg --batch -q --pinentry-mode loopback \
	    --passphrase '' --quick-gen-key boot@peerkey.test ed25519 cert \
	    never 2>/dev/null
	BOOT_FPR=$(GNUPGHOME=$_d/gpg gpg --list-keys --with-colons 2>/dev/null |
	    awk -F: '/^fpr/ { print $10; exit }')
	GNUPGHOME=$_d/gpg gpg --batch -q --pinentry-mode loopback \
	    --passphrase '' --quick-add-key "$BOOT_FPR" cv25519 encr never \
	    2>/dev/null
	GNUPGHOME=$_d/gpg gpg --armor --export-secret-keys "$BOOT_FPR" \
	    > "$_d/pgp.key"
	GNUPGHOME=$_d/gpg gpg --armor --export "$BOOT_FPR" > "$_d/pgp.pub"
	chmod 600 "$_d/pgp.key"
	echo "$BOOT_FPR" > "$_d/fpr"
	BOOT_KEYID=$(certtool --key-id --hash=sha256 \
	    --load-pubkey "$_d/tls.pub" 2>/dev/null | tr -d ' \n' |
	    tr 'A-F' 'a-f')
	echo "$BOOT_KEYID" > "$_d/keyid"
	"$PKTOOL" keygen "$_d/node.key" > "$_d/node.id" &&
	    "$PKTOOL" pubkey "$_d/node.key" > "$_d/node.pub"
}

seal() {
	if [ $# -lt 4 ]; then
		GNUPGHOME=$1/gpg gpg --batch -q --trust-model always \
		    -r "$(cat "$1/fpr")" --encrypt < "$2" > "$3" 2>/dev/null
		return
	fi
	GNUPGHOME=$1/gpg gpg --batch -q --trust-model always \
	    -r "$(cat "$1/fpr")" --encrypt < "$2" > "$3.pgp" 2>/dev/null &&
	    "$PKTOOL" seal "$1/node.key" "$(cat "$1/keyid")" "$4" \
	    < "$3.pgp" > "$3"
}

stop_gpg_agents() {
	for _h in "$@"; do
		gpgconf --homedir "$_h" --kill gpg-agent 2>/dev/null
	done
}

# boot_conf FILE KEYDIR [key = value lines for [boot]...]
boot_conf() {
	_f=$1
	_k=$2
	shift 2
	{
		echo "[boot]"
		echo "tls-key = $_k/tls.key"
		echo "pgp-key = $_k/pgp.key"
		[ ! -s "$_k/node.pub" ] ||
		    echo "node-public-key = $(cat "$_k/node.pub")"
		boot_conf_tail "$@"
	} > "$_f"
}

# boot_conf_of FILE CONF [key = value lines...]: the [boot] section that
# "peerkey boot-config" wrote in CONF (keys, node-public-key), without its
# mdns, prompt and give-up lines and without static peers, and the lines.
boot_conf_of() {
	_f=$1
	_c=$2
	shift 2
	{
		awk '/^\[/ { keep = $0 == "[boot]" } keep && !/^$/' "$_c" |
		    grep -v '^mdns\|^prompt\|^give-up'
		boot_conf_tail "$@"
	} > "$_f"
}

# The work directory, then each argument as a line, then a blank line.
boot_conf_tail() {
	echo "work-directory = $W"
	for _l in "$@"; do
		echo "$_l"
	done
	echo
}

start_bus() {
	avahi_bus_conf "$1/bus.conf" "$1/bus"
	spawn dbus dbus-daemon --config-file="$1/bus.conf" --nofork --nopidfile
	wait_for "[ -S '$1/bus' ]" 10
}

# start_mandos DIR PORT BLOB KEYID FPR [extra client lines]
start_mandos() {
	_d=$1
	mkdir -p "$_d/conf" "$_d/state"
	printf '[DEFAULT]\n' > "$_d/conf/mandos.conf"
	{
		printf '[DEFAULT]\nchecker = true\n\n[boot]\n'
		printf 'key_id = %s\nfingerprint = %s\n' "$4" "$5"
		[ $# -ge 6 ] && printf '%s\n' "$6"
		printf 'secret =\n'
		base64 -w 60 "$3" | sed 's/^/  /'
	} > "$_d/conf/clients.conf"
	chmod -R a+rX "$_d"
	chmod 777 "$_d/state"
	[ -S "$W/bus" ] || start_bus "$W"
	spawn mandos_$2 env DBUS_SYSTEM_BUS_ADDRESS=unix:path=$W/bus \
	    mandos --foreground --no-zeroconf --no-dbus --no-ipv6 \
	    -a 127.0.0.1 -p "$2" --configdir "$_d/conf" --statedir "$_d/state" \
	    --debug
	wait_for "grep -q 'Starting main loop' '$W/mandos_$2.log'" 20
}

# A TCP listener that accepts and never says a word: python3, not ours.
start_silent() {
	spawn silent_$1 python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
print("listening", flush=True)
conns = []
while True:
    c, a = s.accept()
    conns.append(c)
' "$1"
	wait_for "grep -q listening '$W/silent_$1.log'" 10
}

# An address in a namespace of ours where a nft rule drops every SYN:
# sets DROP_ADDR. The namespace has the address; the host reaches it over
# a veth pair, on a /30 of 198.18.0.0/15 (RFC 2544) of this test's own,
# picked by its pid: two tests running at once (make -j) must not share a
# subnet on the host, or one's route leads into the other's namespace.
start_syn_drop() {
	_ns=pkdrop$$
	_b=$(( ($$ % 32768) * 4 ))
	_net=198.$((18 + _b / 65536)).$(( (_b / 256) % 256 ))
	_b=$((_b % 256))
	ip netns add "$_ns" || return 1
	NETNS="$NETNS $_ns"
	ip link add "pkd$$a" type veth peer name "pkd$$b"
	ip link set "pkd$$b" netns "$_ns"
	ip addr add "$_net.$((_b + 1))/30" dev "pkd$$a"
	ip link set "pkd$$a" up
	ip -n "$_ns" addr add "$_net.$((_b + 2))/30" dev "pkd$$b"
	ip -n "$_ns" link set "pkd$$b" up
	ip -n "$_ns" link set lo up
	ip netns exec "$_ns" nft -f - <<EON
table inet pkdrop {
	chain input {
		type filter hook input priority 0; policy accept;
		tcp dport 1-65535 drop
	}
}
EON
	DROP_ADDR=$_net.$((_b + 2))
}

# start_slow: the peers a "first wins" check puts before the good one:
# DROP_ADDR drops every SYN (start_syn_drop), port PS is a listener that
# never speaks (start_silent), port PD is free: nothing listens there.
start_slow() {
	start_syn_drop || return 1
	PS=$(free_port)
	start_silent "$PS"
	PD=$(free_port)
}

# slow_conf FILE KEYDIR KIND [LINE]: a boot.conf (no mDNS, no prompt,
# give-up 60 s, connect and exchange timeouts 30 s, longer than the check
# may take) whose first sections are [KIND down], [KIND dropper] and
# [KIND silent] at start_slow's addresses, each followed by LINE (e.g. a
# node-key pin) when given. The caller appends the good peer.
slow_conf() {
	boot_conf "$1" "$2" "mdns = no" "prompt = no" "give-up = 60s" \
	    "connect-timeout = 30s" "exchange-timeout = 30s"
	for _s in "down 127.0.0.1:$PD" "dropper $DROP_ADDR:4141" \
	    "silent 127.0.0.1:$PS"; do
		printf '[%s %s]\naddress = %s\n' "$3" "${_s% *}" "${_s#* }"
		if [ $# -ge 4 ]; then
			printf '%s\n' "$4"
		fi
	done >> "$1"
}

# timed CMD...: runs CMD (redirect timed as CMD itself); sets rc to its
# exit status and el to the milliseconds it took.
timed() {
	_t0=$(date +%s%N)
	"$@"
	rc=$?
	el=$(( ($(date +%s%N) - _t0) / 1000000 ))
}

machine() {
	_d=$W/$1
	if [ ! -f "$_d/peerkeyd.conf" ]; then
		mkdir -p "$_d/state" "$_d/run"
		"$PEERKEY" -d "$_d" init > /dev/null || return 1
		cat > "$_d/peerkeyd.conf" <<EOM
[node]
name = $1
key = $_d/node.key
state-directory = $_d/state
runtime-directory = $_d/run
listen = 127.0.0.1
port = $(free_port)
[liveness]
interval = 1s
timeout = 1h
[announce]
enable = no
EOM
	fi
	"$PEERKEYD" -n -f "$_d/peerkeyd.conf" > /dev/null 2>&1 || return 1
	spawn "node_$1" "$PEERKEYD" -d -f "$_d/peerkeyd.conf"
	eval "PORT_$1=$(sed -n 's/^port = //p' "$_d/peerkeyd.conf")"
	wait_for "'$PEERKEY' -s '$_d/run/control.sock' status" 10
}

stop_machine() {
	eval "_p=\${PID_node_$1:-}"
	[ -z "$_p" ] || stop "$_p" || :
	eval "PID_node_$1="
}

pkm() {
	_n=$1
	shift
	"$PEERKEY" -d "$W/$_n" -s "$W/$_n/run/control.sock" "$@"
}
