# lib-interop.sh: the tests against Debian's real Mandos (packages mandos
# and mandos-client 1.8.16): their own helpers, on the shell test driver
# tests/lib-tap.sh (ok, diag, need, need_root, skip, fatal, finish, spawn,
# wait_for, $W, NETNS). Sourced by POSIX sh; root.
#
#	mk_ns NS                      a network namespace with lo up, removed
#	                              at exit
#	keygen DIR NAME PASS          mandos-keygen's keys for client NAME in
#	                              DIR and its clients.conf section
#	                              (DIR/section) holding PASS
#	three_clients PA PB DEFAULTS EN  alpha, beta, gamma's keys and a
#	                              $W/clients.conf of alpha and beta
#	                              (beta's "enabled = EN")
#	start_peerkeyd DIR NS [LINES] peerkeyd in NS on 127.0.0.1:4141 (extra
#	                              config LINES appended), ready; env:
#	                              PKD_LISTEN (address, "" any),
#	                              PKD_ANNOUNCE=yes, PKD_BUS (its bus)
#	start_mandos DIR NS CONF      Debian's mandos server in NS on
#	                              127.0.0.1:4242 serving clients.conf CONF,
#	                              with a private system bus, ready
#	mandos_client NS KEYDIR ARGS  Debian's mandos-client (the initramfs
#	                              plugin) with KEYDIR's keys
#
# Everything lives under $W and in namespaces named after $$; every
# process is spawned, so the driver stops it by PID; the buses in
# BUSDIRS are stopped by their recorded PIDs (tests/lib-avahi.sh).
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
. "$top_srcdir/tests/lib-tap.sh"
. "$top_srcdir/tests/lib-avahi.sh"
PEERKEYD=$top_builddir/src/node/peerkeyd
PEERKEY=$top_builddir/src/cli/peerkey
PKTOOL=$top_builddir/tests/tools/pktool
MANDOS_CLIENT=/usr/lib/x86_64-linux-gnu/mandos/plugins.d/mandos-client
PKD_PORT=4141
MANDOS_PORT=4242
BUSDIRS=""
# The servers first: Mandos' main process exits when its bus goes, and
# its child (which survives SIGTERM) would be left to init.
at_exit 'stop_all; for _d in $BUSDIRS; do avahi_cleanup "$_d"; done'

[ -x "$MANDOS_CLIENT" ] || skip "mandos-client not installed"
for _c in "$PEERKEYD" "$PEERKEY" "$PKTOOL"; do
	[ -x "$_c" ] || fatal "$_c not built"
done

mk_ns() {
	ip netns add "$1" || fatal "ip netns add $1"
	NETNS="$NETNS $1"
	ip -n "$1" link set lo up || fatal "lo up in $1"
}

# keygen DIR NAME PASS: fast RSA-2048 OpenPGP keys and the Ed25519 TLS key.
keygen() {
	mkdir -p -m 700 "$1" || return 1
	mandos-keygen --dir "$1" --type RSA --length 2048 --sublength 2048 \
	    --name "$2" --force >/dev/null 2>&1 || return 1
	printf '%s' "$3" > "$1/pass"
	mandos-keygen --dir "$1" --passfile "$1/pass" --name "$2" --no-ssh \
	    > "$1/section" 2>/dev/null || return 1
	certtool --key-id --hash=sha256 --load-pubkey "$1/tls-pubkey.pem" \
	    2>/dev/null | tail -1 | tr -d ' \n' | tr 'A-F' 'a-f' > "$1/keyid"
	grep -q "^key_id = $(cat "$1/keyid")\$" "$1/section"
}

# three_clients PASS-A PASS-B DEFAULTS ENABLED: keys (keygen) for the
# Mandos clients alpha, beta and gamma (passphrases PASS-A, PASS-B and
# gamma-PID), and $W/clients.conf: a [DEFAULT] section of DEFAULTS (a
# printf format), alpha, then beta with "enabled = ENABLED". gamma is in
# no file: an unknown client.
three_clients() {
	keygen "$W/alpha" alpha "$1" && keygen "$W/beta" beta "$2" &&
	    keygen "$W/gamma" gamma "gamma-$$" || fatal "mandos-keygen failed"
	{
		printf "[DEFAULT]\n$3\n\n"
		cat "$W/alpha/section"
		printf '\n'
		cat "$W/beta/section"
		printf 'enabled = %s\n' "$4"
	} > "$W/clients.conf"
}

# pk NS ARGS: the peerkey command against the node of $W/pkd.
pk() {
	"$PEERKEY" -s "$W/pkd/run/control.sock" "$@"
}

# start_peerkeyd DIR NS [config lines]: the node, ready on port 4141.
start_peerkeyd() {
	_d=$1
	_ns=$2
	shift 2
	mkdir -p "$_d/state" "$_d/run"
	chmod 700 "$_d"
	"$PKTOOL" keygen "$_d/node.key" > "$_d/node.id" || return 1
	{
		printf '[node]\nname = interop\nkey = %s\n' "$_d/node.key"
		printf 'state-directory = %s/state\n' "$_d"
		printf 'runtime-directory = %s/run\n' "$_d"
		printf 'listen = %s\nport = %s\n' "${PKD_LISTEN-127.0.0.1}" \
		    "$PKD_PORT"
		printf '[limits]\nline-timeout = 1s\nhandshake-timeout = 2s\n'
		printf '[liveness]\ninterval = 1s\ntimeout = 30s\n'
		printf '[announce]\nenable = %s\n' "${PKD_ANNOUNCE:-no}"
		for _l in "$@"; do
			printf '%s\n' "$_l"
		done
	} > "$_d/peerkeyd.conf"
	spawn peerkeyd env DBUS_SYSTEM_BUS_ADDRESS="${PKD_BUS:-}" \
	    ip netns exec "$_ns" "$PEERKEYD" -d -f "$_d/peerkeyd.conf"
	wait_for "grep -q 'ready on port' '$W/peerkeyd.log'" 20
}

# start_mandos DIR NS CLIENTS.CONF: Debian's server, ready on port 4242.
start_mandos() {
	_d=$1
	mkdir -p "$_d/conf" "$_d/state" "$_d/bus"
	printf '[DEFAULT]\n' > "$_d/conf/mandos.conf"
	cp "$3" "$_d/conf/clients.conf"
	chmod -R a+rX "$_d/conf"
	chmod 777 "$_d/state"
	avahi_bus_start "$_d/bus" "$2" || return 1
	BUSDIRS="$BUSDIRS $_d/bus"
	# --debug: log to stderr. Mandos drops root to user "mandos".
	spawn mandos env DBUS_SYSTEM_BUS_ADDRESS="$AVAHI_BUS_ADDRESS" \
	    ip netns exec "$2" mandos --foreground --debug --no-zeroconf \
	    --no-dbus --no-ipv6 --address 127.0.0.1 --port "$MANDOS_PORT" \
	    --configdir "$_d/conf" --statedir "$_d/state"
	wait_for "grep -q 'Starting main loop' '$W/mandos.log'" 30
}

# mandos_client NS KEYDIR [ARGS]: runs the real client (stdout: secret).
mandos_client() {
	_ns=$1
	_k=$2
	shift 2
	ip netns exec "$_ns" "$MANDOS_CLIENT" --pubkey="$_k/pubkey.txt" \
	    --seckey="$_k/seckey.txt" --tls-pubkey="$_k/tls-pubkey.pem" \
	    --tls-privkey="$_k/tls-privkey.pem" "$@"
}

# still_open_after NS ADDR TEXT: pktool line's verdict ("open" when the
# server kept the connection for its whole 10 s deadline).
probe_line() {
	ip netns exec "$1" "$PKTOOL" line "$2" "$3" 2>/dev/null
}
