#!/bin/bash
# 01-reboot.sh: four enrolled nodes; one reboots and is unlocked by a
# surviving peer; again with two peers powered off; again when it can find
# its peers only by mDNS over IPv6 link-local addresses. The cluster is
# formed with the operator's commands (peerkey init, invite, join, enroll,
# boot-config) and every boot is the real peerkey-boot with the
# configuration boot-config wrote.
#
#	h1 --+
#	h2 --+-- switch        every node guards every other
#	h3 --+
#	h4 --+                 h4 reboots three times
. "$(dirname "$0")/lib.sh"
cl_init "${1:-}"
cl_cluster 4

# released N M: how many releases to h$M node N's log has.
released() {
	cl_count "$1" ".kind == \"released\" and .peer == \"h$2\""
}

# 1. A plain reboot: every peer reachable.
cl_down 4
ok 'cl_unlocks 4' "h4 reboots: a surviving peer unlocks its disk"
total=0
for n in 1 2 3; do
	total=$((total + $(released "$n" 4)))
done
ok 'test "$total" -ge 1' "the release is in a peer's audit log"
cl_up 4
ok 'wait_for "cl_is 1 4 enabled" 20' "h4's peers see it again after its boot"

# 2. Two peers powered off (unplugged: no answer at all).
before=$(released 3 4)
cl_down 1; cl_unplug 1
cl_down 2; cl_unplug 2
cl_down 4
ok 'cl_unlocks 4 60s' "h4 reboots with h1 and h2 off: h3 unlocks it"
ok 'test "$(released 3 4)" -gt "$before"' "h3 recorded the release"
cl_up 4

# 3. Only mDNS and IPv6 link-local: no static peer list, no global
# addresses anywhere.
for n in 3 4; do
	ip -n "${CL_NS}h$n" addr flush dev eth0 scope global
done
cl_down 4
ll3=$(cl_ll 3)
before=$(released 3 4)
boot_mdns() {
	local CL_BOOT_PEERS="" CL_BOOT_MDNS=yes
	cl_unlocks 4 60s
}
ok 'boot_mdns' "h4 reboots with mDNS only: unlocked over link-local"
ok 'test "$(cl_count 3 ".kind == \"released\" and .peer == \"h4\" and
    (.address | test(\"fe80\"))")" -ge 1' \
    "h3 recorded a release to a link-local address"
cl_done
