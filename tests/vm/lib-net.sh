# lib-net.sh: the network shapes of the tests/vm boots beyond lib.sh's
# flat link (sourced after lib.sh, POSIX sh): a VLAN, a second NIC.
#
#	net_peer_vlan VID                  the peer sits on an access port of
#	                                   VLAN VID (vlan-relay.py): only
#	                                   frames tagged VID reach it
#	net_nic2                           the guest gets a second NIC (eth1:
#	                                   tap1 in the bridge, MAC $NET_MAC2)
#	                                   and its first NIC's tap0 leaves the
#	                                   bridge: only eth1 reaches the peer
#	net_monitor NAME                   boot NAME (vm_start next) gets a
#	                                   qemu monitor (HMP) on a pipe; what
#	                                   it answers goes to $W/NAME.mon.log
#	net_mon NAME COMMAND               a monitor command (set_link n0 off:
#	                                   the first NIC's carrier goes down)
#	net_dhcpd                          a DHCP server (busybox udhcpd) in the
#	                                   peer's namespace on its eth0, whose
#	                                   one lease is $VM_GUEST_IP/24 for the
#	                                   guest's MAC; it logs each OFFER and
#	                                   ACK to $W/dhcpd.log
#	net_dhcp_acked                     udhcpd has sent the guest its ACK for
#	                                   $VM_GUEST_IP
#	net_cmdline_it IP ARG...           lib.sh's initramfs-tools command line
#	                                   with ip=IP (or no ip= when IP is
#	                                   empty) and more arguments
#	net_clean NAME                     the booted root's links and addresses
#	                                   (its init prints them) hold no bond,
#	                                   no VLAN and none of the guest's
#	                                   addresses (IPv4, link-local, and
#	                                   $NET_GUEST_IP6): the initramfs left
#	                                   its network as it found it
NET_MAC2=52:54:00:70:6b:02
# The IPv6 boot's addresses (test-it-ipv6.sh): documentation prefix.
NET_PEER_IP6=2001:db8::1
NET_GUEST_IP6=2001:db8::2

# The host's kernel has neither 8021q nor bridge VLAN filtering: the
# peer's link leaves the bridge for an access port of VLAN VID, which
# vlan-relay.py (in $VM_NS_QEMU) keeps between the peer's veth0 and a
# trunk veth (vt0 in the bridge, vt1 the relay's end).
net_peer_vlan() {
	ip -n "$VM_NS_QEMU" link set veth0 nomaster &&
	    ip -n "$VM_NS_QEMU" link add vt0 type veth peer name vt1 &&
	    ip -n "$VM_NS_QEMU" link set vt0 master br0 &&
	    ip -n "$VM_NS_QEMU" link set vt0 up &&
	    ip -n "$VM_NS_QEMU" link set vt1 up || return 1
	spawn vlanrelay ip netns exec "$VM_NS_QEMU" python3 \
	    "$top_srcdir/tests/vm/vlan-relay.py" vt1 veth0 "$1"
	wait_for 'grep -q relaying "$W/vlanrelay.log"' 10
}

net_nic2() {
	ip -n "$VM_NS_QEMU" tuntap add dev tap1 mode tap &&
	    ip -n "$VM_NS_QEMU" link set tap1 master br0 &&
	    ip -n "$VM_NS_QEMU" link set tap1 up &&
	    ip -n "$VM_NS_QEMU" link set tap0 nomaster || return 1
	VM_QEMU_EXTRA="${VM_QEMU_EXTRA-} -netdev tap,id=n1,ifname=tap1,script=no,downscript=no -device virtio-net-pci,netdev=n1,mac=$NET_MAC2"
}

net_monitor() {
	rm -f "$W/$1.mon.in" "$W/$1.mon.out"
	mkfifo "$W/$1.mon.in" "$W/$1.mon.out"
	spawn "${1}_mon" sh -c 'exec cat "$1" > "$2"' sh "$W/$1.mon.out" \
	    "$W/$1.mon.log"
	VM_QEMU_EXTRA="${VM_QEMU_EXTRA-} -chardev pipe,id=mon,path=$W/$1.mon -mon chardev=mon,mode=readline"
}

net_mon() {
	printf '%s\n' "$2" > "$W/$1.mon.in"
}

net_dhcpd() {
	: > "$W/dhcpd.leases"
	cat > "$W/udhcpd.conf" <<EOC
interface eth0
start $VM_GUEST_IP
end $VM_GUEST_IP
max_leases 1
static_lease $VM_MAC $VM_GUEST_IP
lease_file $W/dhcpd.leases
pidfile $W/dhcpd.pid
option subnet 255.255.255.0
option lease 3600
EOC
	spawn dhcpd ip netns exec "$VM_NS_PEER" busybox udhcpd -f \
	    "$W/udhcpd.conf"
	wait_for '[ -s "$W/dhcpd.pid" ]' 10
}

net_dhcp_acked() {
	grep -q "sending ACK to $VM_GUEST_IP" "$W/dhcpd.log"
}

net_cmdline_it() {
	_ip=${1:+ip=$1}
	shift
	echo "$VM_CMDLINE $_ip root=/dev/mapper/root ro fsck.mode=skip" \
	    "cryptopts=target=root,source=UUID=$VM_LUKS_UUID,luks,keyscript=peerkey" \
	    "$@"
}

net_clean() {
	_links=$(vm_console_value "$1" PEERKEY-VM-LINKS)
	_addrs=$(vm_console_value "$1" PEERKEY-VM-ADDRS)
	[ -n "$_links" ] || return 1
	case " $_links" in
	*" bond"*|*.[0-9]*) return 1 ;;
	esac
	case " $_addrs" in
	*"=$VM_GUEST_IP/"*|*"=fe80:"*|*"=$NET_GUEST_IP6/"*) return 1 ;;
	esac
	return 0
}
