#!/bin/bash
# demo.sh BUILDDIR: peerkey in two minutes. Builds three "machines" as
# network namespaces on one virtual switch, runs a real peerkeyd on each,
# forms the cluster and enrolls their (image-file) LUKS2 disks with the
# operator's own commands (peerkey init, invite, join, enroll,
# boot-config), reboots one with the real boot agent (peerkey-boot) and
# shows a peer unlock it, then shows a stolen machine refused. Narrates
# every step for a person, cleans everything up, exits 0 on success.
#
#	h1 ---+
#	h2 ---+--- switch (bridge)    192.0.2.0/24, 2001:db8::/64, mDNS
#	h3 ---+
#
# Run it as root: ./dev.sh demo (which installs and builds first).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
CL_INTERVAL=1s CL_TIMEOUT=8s CL_EXTENDED=8s
. "$here/lib.sh"

bold=$(tput bold 2>/dev/null || true)
dim=$(tput dim 2>/dev/null || true)
off=$(tput sgr0 2>/dev/null || true)

# say TEXT: one step of the story.
say() {
	printf '\n%s%s%s\n' "$bold" "$*" "$off"
}

# show TEXT: a command being run, paths shortened.
show() {
	local s=$*
	s=${s//$CL_DIR\//}
	s=${s//$CL_BUILD\/src\/node\//}
	s=${s//$CL_BUILD\/src\/cli\//}
	s=${s//$CL_BUILD\/src\/boot-agent\//}
	s=${s//$CL_BUILD\/tests\/tools\//}
	s=$(echo "$s" | sed -E 's/([0-9a-f]{12})[0-9a-f]{52}/\1.../g;
	    s/([A-Za-z0-9_-]{12})[A-Za-z0-9_-]{60,}/\1.../g')
	printf '   %s$ %s%s\n' "$dim" "$s" "$off" >&2
}
CL_SAY=show

# die TEXT: the demo failed.
die() {
	printf '\n%sDEMO FAILED: %s%s\n' "$bold" "$*" "$off"
	exit 1
}

cl_init "${1:-}"
start=$(date +%s)

say "peerkey demo: three servers with encrypted disks unlock each other at boot."
echo "Each 'machine' below is a Linux network namespace with its own network"
echo "stack, mDNS daemon (avahi) and peerkeyd, all on one virtual switch."
echo "Nothing here touches this computer's own network."

say "1. Building the network: machines h1, h2 and h3 on one switch."
cl_switch
for n in 1 2 3; do
	cl_host "$n"
	echo "   h$n: eth0 $(cl_addr "$n"), $(cl_addr6 "$n"), $(cl_ll "$n")"
done

say "2. Each machine makes its two identities: peerkey init."
echo "   - a node key: lives on the machine's encrypted disk; proves that the"
echo "     machine is up and running (only a running machine can show it);"
echo "   - a boot key (TLS + OpenPGP): lives in the unencrypted initramfs;"
echo "     used at boot to ask for, and decrypt, the disk's passphrase."
for n in 1 2 3; do
	cl_init_keys "$n" || die "h$n: peerkey init"
	echo "   h$n: node key $(cut -c1-16 "$CL_DIR/h$n/node.id")...," \
	    "boot key $(cut -c1-16 "$CL_DIR/h$n/boot.id")..."
done

say "3. Each machine has a LUKS2-encrypted disk (an image file here)."
for n in 1 2 3; do
	cl_disk "$n" || die "h$n: luksFormat"
done

say "4. Starting peerkeyd on every machine (with its own avahi-daemon)."
for n in 1 2 3; do
	cl_start "$n"
done
pk1 status | sed 's/^/   /'

say "5. Forming the cluster: h1 invites, h2 and h3 join."
echo "   'peerkey invite' on h1 prints a one-time code (h1's address and node"
echo "   key id, a secret, an expiry). 'peerkey join CODE' on the new machine"
echo "   connects to h1 pinned to that key and proves the secret; both then"
echo "   guard each other, the newcomer learns h1's members, and h1"
echo "   introduces the newcomer to them. So every node guards the other two."
echo "   (Every $CL_INTERVAL each node checks each peer with a heartbeat signed by"
echo "   its node key; a peer unseen for $CL_TIMEOUT is disabled.)"
for n in 2 3; do
	show "h1: $CL_PEERKEY -d $CL_DIR/h1 -s $CL_DIR/h1/run/control.sock invite"
	code=$(CL_SAY=: cl_pkd 1 invite 2>"$CL_DIR/invite.err") ||
	    die "h1: peerkey invite"
	echo "   ${code:0:12}..."
	sed 's/^/   /' "$CL_DIR/invite.err"
	cl_pkd "$n" join "$code" | sed "s|$CL_DIR/||g; s/^/   /"
	[ "${PIPESTATUS[0]}" = 0 ] || die "h$n: peerkey join"
done
for n in 1 2 3; do
	for m in $(cl_others "$n"); do
		wait_for 'cl_guards "$n" "$m"' 20 ||
		    die "h$n does not guard h$m"
	done
done

say "6. Enrolling each disk with its peers: peerkey enroll."
echo "   Each machine adds a random key to a free LUKS keyslot (its existing"
echo "   passphrase authorises that), encrypts it to its own OpenPGP boot key"
echo "   (so the peers keeping it cannot read it) and deposits it with every"
echo "   peer. The boot agent's configuration (boot.conf: the boot keys, and"
echo "   each peer's address and node key) is written by 'peerkey boot-config';"
echo "   join and enroll refresh it too, so here boot-config finds it current."
for n in 1 2 3; do
	cl_pkd "$n" enroll "$CL_DIR/h$n/disk.img" --key-file "$CL_DIR/h$n/typed" |
	    sed "s|$CL_DIR/||g; s/^/   /"
	[ "${PIPESTATUS[0]}" = 0 ] || die "h$n: peerkey enroll"
	cl_pkd "$n" boot-config | sed "s|$CL_DIR/||g; s/^/   /"
	[ "${PIPESTATUS[0]}" = 0 ] || die "h$n: peerkey boot-config"
done
say "   h2's boot configuration (it goes into h2's initramfs):"
grep -v '^#' "$CL_DIR/h2/boot.conf" | sed "s|$CL_DIR/||g; s/^/   /" |
    sed -E 's/([0-9a-f]{12})[0-9a-f]{52}/\1.../g'
say "   What h1 now knows about its peers:"
pk1 status | sed 's/^/   /'
wait_for 'cl_is 1 2 enabled' 20 || die "h1 does not see h2 alive"

say "7. Machine h2 reboots."
echo "   Its peerkeyd stops with it; its disk is locked again. In its"
echo "   initramfs, peerkey-boot asks its peers for the disk's passphrase with"
echo "   its boot key. h1 and h3 have seen h2 alive recently, so either will"
echo "   hand back the encrypted key, which only h2's boot key can decrypt."
cl_stop 2
cl_avahi_stop 2
show "h2: peerkey-boot -c boot.conf | cryptsetup open --test-passphrase --key-file=- disk.img"
cl_boot 2 30s | cl_check_key 2 || die "h2 could not unlock its disk"
echo "   => cryptsetup accepts the key: h2's disk is unlocked, by its peers."
say "   h1's audit log shows the release:"
pk1 events --peer h2 | tail -n 3 | sed 's/^/   /'

say "8. h2 finishes booting: its peerkeyd starts again and heartbeats."
cl_start 2
pk3 check h2 >/dev/null 2>&1 || true
wait_for 'cl_is 3 2 enabled' 20 || die "h3 does not see h2 back"
echo "   h3 sees h2: $(cl_state 3 2)"

say "9. Now h2 is stolen: unplugged and carried away."
echo "   The thief has its disk and its initramfs (the boot key), but not its"
echo "   node key, which is on the encrypted disk. Its peers stop answering"
echo "   for it once it has been silent past its timeout: minutes in real"
echo "   life, $CL_TIMEOUT (after a release: $CL_EXTENDED) in this demo."
cl_stop 2
cl_avahi_stop 2
ip -n "${CL_NS}sw" link set h2 down
echo "   ... h2 is silent; waiting for its peers to notice ..."
wait_for 'cl_is 1 2 disabled' 30 || die "h1 did not disable h2"
wait_for 'cl_is 3 2 disabled' 30 || die "h3 did not disable h2"
echo "   h1 sees h2: $(cl_state 1 2); h3 sees h2: $(cl_state 3 2)"
say "   The thief boots h2 on another network that reaches h1 and h3:"
ip -n "${CL_NS}sw" link set h2 up
wait_for 'cl__ll_ready 2' 10 || true
if cl_boot 2 5s | cl_check_key 2 2>/dev/null; then
	die "the stolen h2 got its key"
fi
echo "   => refused by every peer: the disk stays locked."
pk1 events --peer h2 --kind refused | tail -n 1 | sed 's/^/   /'

say "10. Cleaning up: stopping every daemon, deleting the namespaces."
cleanup
cl_leaks "$CL_DIR" || die "something was left behind"
say "Demo finished in $(($(date +%s) - start)) s: h2 was unlocked by its peers, and refused once stolen."
exit 0
