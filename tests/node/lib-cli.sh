# lib-cli.sh: the peerkey command's tests' own helpers (tests/node/cli-*.sh),
# on the shell test driver tests/lib-tap.sh (plan, pass, fail, is, ok,
# finish, spawn, stop, wait_for ...). Sourced by a test after "set -eu".
# Gives:
#   node_start NAME       "peerkey init" in $W/NAME, then a real peerkeyd
#                         on 127.0.0.1 (any port) with that node key; sets
#                         PORT_NAME, NODE_NAME, BOOT_NAME (key ids)
#   node_stop NAME        stops that peerkeyd (by its PID)
#   pk NAME ARGS...       peerkey with NAME's config dir and control socket
#   link A B              A guards B (peer add on A, with B's keys)
#   luks_image FILE PASS  a small LUKS2 image (fast PBKDF2)
#   peer_blobs A B        how many blobs A holds for B
#   trio                  a, b and c started, a and b, a and c guarding
#                         each other; $W/pass opens the LUKS2 image $W/img
# The driver stops every daemon by PID at exit and removes $W.
# Tools: cryptsetup, jq, gpg; missing ones skip unless CI=true.

: "${top_builddir:=$(cd "$(dirname "$0")/../../build" 2>/dev/null && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/node/lib-base.sh"
# pktool is the test's client, not the code under test: its own leaks at
# exit (identities it never frees) must not fail an ASan run.
pktool() {
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" "$PKTOOL" "$@"
}

need cryptsetup jq gpg
for f in "$PEERKEY" "$PEERKEYD"; do
	[ -x "$f" ] || fatal "$f is not built"
done

pk() {
	_n=$1; shift
	"$PEERKEY" -d "$W/$_n" -s "$W/$_n/run/control.sock" "$@"
}

node_start() {
	_n=$1
	_d=$W/$_n
	mkdir -p "$_d/state" "$_d/run"
	# Its maintenance keys on a memory filesystem (luks-maint.c).
	mem_dir "$_d/maint" || fatal "cannot mount a tmpfs on $_d/maint"
	"$PEERKEY" -d "$_d" init >/dev/null
	if [ ! -f "$_d/peerkeyd.conf" ]; then
		cat >"$_d/peerkeyd.conf" <<CONF
[node]
name = $_n
key = $_d/node.key
state-directory = $_d/state
runtime-directory = $_d/run
listen = 127.0.0.1
port = ${2:-0}
log-level = debug
[liveness]
interval = 1s
timeout = 1h
# status and check show every peer checked, blobs held or not
guard = all
[announce]
enable = no
CONF
	fi
	spawn "$_n/peerkeyd" "$PEERKEYD" -d -f "$_d/peerkeyd.conf"
	echo $! >"$_d/pid"
	wait_for '"$PEERKEY" -s "$_d/run/control.sock" status' 20
	eval "PORT_$_n=\$(pk $_n -j status | jq -r .self.port)"
	# A restart keeps the port, so the peers' addresses stay right.
	eval "sed -i \"s/^port = 0\$/port = \$PORT_$_n/\" \"$_d/peerkeyd.conf\""
	eval "NODE_$_n=\$(pk $_n -j init | jq -r .node_keyid)"
	eval "BOOT_$_n=\$(pk $_n -j init | jq -r .boot_keyid)"
}

node_stop() {
	stop "$(cat "$W/$1/pid")" || :
}

link() {
	eval "_port=\$PORT_$2 _node=\$NODE_$2 _boot=\$BOOT_$2"
	pk "$1" peer add "$2" --node-key "$_node" --boot-key "$_boot" \
	    --address "127.0.0.1:$_port" --interval 1s --timeout 1h
}

luks_image() {
	rm -f "$1"
	truncate -s 20M "$1"
	printf %s "$2" | cryptsetup luksFormat --type luks2 --batch-mode \
	    --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file=- "$1"
}

peer_blobs() {
	pk "$1" -j status | jq -r ".peers[] | select(.name == \"$2\") | .blobs"
}

# The key NAME's peer A releases to NAME's boot key (blob BLOBID, else the
# first), decrypted with NAME's boot OpenPGP key, into FILE. Returns 1 if
# there is none.
fetch_key() {
	_n=$1 _a=$2 _out=$3 _id=${4:-}
	eval "_port=\$PORT_$_a"
	pktool unlock "$W/$_n/boot/tls.key" "127.0.0.1:$_port" \
	    >"$W/unlock.out" 2>/dev/null || return 1
	sed 1d "$W/unlock.out" | grep "^$_id" | head -n 1 | cut -d' ' -f2 |
	    base64 -d >"$W/blob.gpg"
	[ -s "$W/blob.gpg" ] || return 1
	_g=$(mktemp -d "$W/gnupg.XXXXXX")
	gpg --homedir "$_g" --batch --quiet --import "$W/$_n/boot/pgp.key" \
	    2>/dev/null
	gpg --homedir "$_g" --batch --quiet --decrypt "$W/blob.gpg" \
	    >"$_out" 2>/dev/null
	_r=$?
	gpgconf --homedir "$_g" --kill all 2>/dev/null || true
	rm -rf "$_g"
	return $_r
}

# Does the key in FILE open IMG?
opens() {
	cryptsetup open --test-passphrase --key-file="$1" "$2" 2>/dev/null
}

# luksDump of IMG without the lines that change on every read.
dump() {
	cryptsetup luksDump "$1" 2>&1
}

# Active keyslots of IMG, as "0 1".
slots() {
	cryptsetup luksDump --dump-json-metadata "$1" 2>/dev/null |
	    jq -r '.keyslots | keys | join(" ")'
}

# The blob id in IMG's peerkey token.
blob_id() {
	cryptsetup luksDump --dump-json-metadata "$1" 2>/dev/null |
	    jq -r '[.tokens[] | select(.type == "peerkey")][0]["blob-id"]'
}

# peerkey tokens of IMG.
ntokens() {
	cryptsetup luksDump --dump-json-metadata "$1" 2>/dev/null |
	    jq -r '[.tokens[] | select(.type == "peerkey")] | length'
}

# Every active keyslot but 0 is named by a peerkey token ("keyslot", or
# the maintenance key's "maintenance-keyslot").
slots_journalled() {
	cryptsetup luksDump --dump-json-metadata "$1" 2>/dev/null | jq -e '
	    ([.tokens[] | select(.type == "peerkey") | .keyslot,
	    ."maintenance-keyslot" // empty | tostring])
	    as $t | [.keyslots | keys[] | select(. != "0")] - $t | length == 0'
}

# Keyslot 0, IMG's peerkey tokens' keyslots and the maintenance key's, as
# slots prints them.
token_slots() {
	cryptsetup luksDump --dump-json-metadata "$1" 2>/dev/null | jq -r '
	    [0, (.tokens[] | select(.type == "peerkey") | .keyslot,
	    ."maintenance-keyslot" // empty)] | unique | map(tostring) |
	    sort | join(" ")'
}

trio() {
	node_start a
	node_start b
	node_start c
	link a b; link b a; link a c; link c a
	printf 'correct horse' >"$W/pass"
	luks_image "$W/img" 'correct horse'
}
