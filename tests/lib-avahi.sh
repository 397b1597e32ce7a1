# lib-avahi.sh: one private D-Bus system bus and one avahi-daemon per host
# network namespace, for tests (see /work/shared/TESTING.md, "Avahi, one
# daemon per host namespace"). Source it from sh or bash; needs root.
#
#	avahi_start DIR NS HOSTNAME IFACE   bus, then daemon; sets AVAHI_DIR,
#	                                    AVAHI_BUS_PID, AVAHI_PID and
#	                                    AVAHI_BUS_ADDRESS (the value for
#	                                    DBUS_SYSTEM_BUS_ADDRESS)
#	avahi_stop DIR                      daemon, then bus
#	avahi_bus_start DIR [NS] / avahi_bus_stop DIR
#	avahi_bus_conf FILE SOCKET          a permissive system bus's config
#	                                    (for a bus of one's own, too)
#	avahi_daemon_start DIR [NS HOSTNAME IFACE] / avahi_daemon_stop DIR
#	avahi_cleanup DIR                   kill every PID recorded in DIR
#
# Each host gets its own state directory DIR (created if missing) holding
# the configs, logs (avahi.log, bus.log) and PID files; the functions only
# ever signal the PIDs they recorded there. avahi-daemon runs inside
# "unshare --mount" with a tmpfs over /run, so its pid file and socket do
# not clash with the host's or another namespace's daemon.
#
# Note: avahi-daemon accepts "lo" (it takes loopback interfaces even
# without the MULTICAST flag); one daemon on lo is enough to test
# publishing code, but several daemons must sit in separate namespaces
# joined by veth links.

AVAHI_WAIT_STEPS=${AVAHI_WAIT_STEPS:-100}	# 0.1 s each

# avahi__log MSG: a diagnostic line on stderr.
avahi__log() {
	echo "lib-avahi: $*" >&2
}

# avahi__alive PID: true while PID runs (a zombie counts as gone).
avahi__alive() {
	[ -n "$1" ] || return 1
	kill -0 "$1" 2>/dev/null || return 1
	case "$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' \
	    "/proc/$1/status" 2>/dev/null)" in
	Z|X|"") return 1 ;;
	esac
	return 0
}

# avahi__wait PID NAME NS LOG TEST: every 0.1 s until the shell test
# TEST holds (0); 1, with NAME's LOG on stderr, when PID has died or
# AVAHI_WAIT_STEPS have passed first.
avahi__wait() {
	_aw_i=0
	until eval "$5"; do
		if ! avahi__alive "$1" || [ "$_aw_i" -ge "$AVAHI_WAIT_STEPS" ]; then
			avahi__log "$2 did not start in $3:"
			cat "$4" >&2
			return 1
		fi
		_aw_i=$((_aw_i + 1))
		sleep 0.1
	done
	return 0
}

# avahi__kill PIDFILE: TERM the PID recorded there, KILL after 5 s.
avahi__kill() {
	_ak_pid=$(cat "$1" 2>/dev/null) || return 0
	rm -f "$1"
	[ -n "$_ak_pid" ] || return 0
	kill "$_ak_pid" 2>/dev/null || return 0
	_ak_i=0
	while avahi__alive "$_ak_pid"; do
		_ak_i=$((_ak_i + 1))
		if [ "$_ak_i" -ge 50 ]; then
			kill -9 "$_ak_pid" 2>/dev/null
			break
		fi
		sleep 0.1
	done
	return 0
}

# avahi_bus_conf FILE SOCKET: writes FILE, the configuration of a
# system-type dbus-daemon listening on SOCKET with a permissive policy
# (anyone may own any name and send or receive anything).
avahi_bus_conf() {
	cat >"$1" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$2</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
  </policy>
</busconfig>
EOF
}

# avahi_bus_start DIR [NS]: a system-type dbus-daemon with a permissive
# policy, listening on DIR/bus.sock, running in namespace NS (default: the
# namespace of the previous start).
avahi_bus_start() {
	_ab_dir=$1
	mkdir -p "$_ab_dir" || return 1
	_ab_dir=$(cd "$_ab_dir" && pwd) || return 1
	if [ $# -ge 2 ]; then
		echo "$2" >"$_ab_dir/ns"
	fi
	_ab_ns=$(cat "$_ab_dir/ns") || return 1
	rm -f "$_ab_dir/bus.sock"
	avahi_bus_conf "$_ab_dir/bus.conf" "$_ab_dir/bus.sock"
	# ip netns exec and dbus-daemon --nofork exec in place: $! is the bus.
	ip netns exec "$_ab_ns" dbus-daemon --config-file="$_ab_dir/bus.conf" \
	    --nofork --nopidfile </dev/null >>"$_ab_dir/bus.log" 2>&1 &
	echo $! >"$_ab_dir/bus.pid"
	AVAHI_DIR=$_ab_dir
	AVAHI_BUS_PID=$!
	AVAHI_BUS_ADDRESS="unix:path=$_ab_dir/bus.sock"
	avahi__wait "$AVAHI_BUS_PID" "dbus-daemon" "$_ab_ns" \
	    "$_ab_dir/bus.log" '[ -S "$_ab_dir/bus.sock" ]'
}

# avahi_bus_stop DIR: stops the bus started with DIR.
avahi_bus_stop() {
	avahi__kill "$1/bus.pid"
	rm -f "$1/bus.sock"
}

# avahi_daemon_start DIR [NS HOSTNAME IFACE]: avahi-daemon on the bus of
# DIR, publishing HOSTNAME.local on IFACE only; without NS HOSTNAME IFACE,
# those of the previous start (a restart). Waits for "Server startup
# complete".
avahi_daemon_start() {
	_ad_dir=$(cd "$1" && pwd) || return 1
	if [ $# -ge 4 ]; then
		echo "$2" >"$_ad_dir/ns"
		echo "$3" >"$_ad_dir/hostname"
		echo "$4" >"$_ad_dir/iface"
	fi
	_ad_ns=$(cat "$_ad_dir/ns") || return 1
	cat >"$_ad_dir/avahi.conf" <<EOF
[server]
host-name=$(cat "$_ad_dir/hostname")
use-ipv4=yes
use-ipv6=yes
allow-interfaces=$(cat "$_ad_dir/iface")
enable-dbus=yes
[wide-area]
enable-wide-area=no
[publish]
publish-workstation=no
publish-hinfo=no
publish-addresses=yes
publish-domain=no
[reflector]
enable-reflector=no
[rlimits]
EOF
	[ -f "$_ad_dir/avahi.log" ] &&
	    cat "$_ad_dir/avahi.log" >>"$_ad_dir/avahi.log.old"
	: >"$_ad_dir/avahi.log"
	# ip netns exec, unshare (no --fork) and sh's exec keep one PID.
	DBUS_SYSTEM_BUS_ADDRESS="unix:path=$_ad_dir/bus.sock" \
	    ip netns exec "$_ad_ns" unshare --mount sh -c \
	    'mount -t tmpfs -o mode=0755 tmpfs /run && exec avahi-daemon \
	    -f "$1" --no-drop-root --no-chroot --no-rlimits' \
	    sh "$_ad_dir/avahi.conf" </dev/null >>"$_ad_dir/avahi.log" 2>&1 &
	echo $! >"$_ad_dir/avahi.pid"
	AVAHI_DIR=$_ad_dir
	AVAHI_PID=$!
	avahi__wait "$AVAHI_PID" "avahi-daemon" "$_ad_ns" "$_ad_dir/avahi.log" \
	    'grep -q "Server startup complete" "$_ad_dir/avahi.log"'
}

# avahi_daemon_stop DIR: stops the avahi-daemon started with DIR.
avahi_daemon_stop() {
	avahi__kill "$1/avahi.pid"
}

# avahi_start DIR NS HOSTNAME IFACE: the bus, then avahi-daemon.
avahi_start() {
	avahi_bus_start "$1" "$2" || return 1
	avahi_daemon_start "$1" "$2" "$3" "$4" || return 1
	AVAHI_BUS_PID=$(cat "$AVAHI_DIR/bus.pid")
	return 0
}

# avahi_stop DIR: avahi-daemon, then the bus.
avahi_stop() {
	avahi_daemon_stop "$1"
	avahi_bus_stop "$1"
}

# avahi_cleanup DIR: kills every process whose PID file is in DIR (the
# daemons and any helper a test recorded as DIR/NAME.pid).
avahi_cleanup() {
	[ -d "$1" ] || return 0
	avahi_daemon_stop "$1"
	for _ac_f in "$1"/*.pid; do
		[ -f "$_ac_f" ] || continue
		case "$_ac_f" in
		*/bus.pid) ;;
		*) avahi__kill "$_ac_f" ;;
		esac
	done
	avahi_bus_stop "$1"
}
