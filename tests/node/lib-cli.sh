# lib-cli.sh: helpers for the peerkey command's tests (tests/node/cli-*.sh).
#
# Sourced by a test after "set -eu". Gives:
#   ok COND-STATUS TEXT / pass TEXT / fail TEXT / plan N / done_testing
#   node_start NAME       "peerkey init" in $T/NAME, then a real peerkeyd
#                         on 127.0.0.1 (any port) with that node key; sets
#                         PORT_NAME, NODE_NAME, BOOT_NAME (key ids)
#   node_stop NAME        stops that peerkeyd (by its PID)
#   pk NAME ARGS...       peerkey with NAME's config dir and control socket
#   link A B              A guards B (peer add on A, with B's keys)
#   luks_image FILE PASS  a small LUKS2 image (fast PBKDF2)
#   peer_blobs A B        how many blobs A holds for B
# Every daemon started is stopped by PID in the EXIT trap, and $T removed.
# Tools: cryptsetup, jq, gpg; missing ones skip (77) unless CI=true.

: "${top_builddir:=$(cd "$(dirname "$0")/../../build" 2>/dev/null && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
PEERKEY=$top_builddir/src/cli/peerkey
PEERKEYD=$top_builddir/src/node/peerkeyd
PKTOOL=$top_builddir/tests/tools/pktool
# pktool is the test's client, not the code under test: its own leaks at
# exit (identities it never frees) must not fail an ASan run.
pktool() {
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" "$PKTOOL" "$@"
}

for tool in cryptsetup jq gpg; do
	if ! command -v $tool >/dev/null 2>&1; then
		if [ "${CI:-}" = true ]; then
			echo "Bail out! $tool is missing (CI=true: no skip)"
			exit 1
		fi
		echo "1..0 # SKIP $tool is missing"
		exit 77
	fi
done
for f in "$PEERKEY" "$PEERKEYD"; do
	if [ ! -x "$f" ]; then
		echo "Bail out! $f is not built"
		exit 1
	fi
done

T=$(mktemp -d "${TMPDIR:-/tmp}/pk-cli.XXXXXX")
PIDS=""
NTEST=0
NFAIL=0

cleanup() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null || true
	done
	for p in $PIDS; do
		wait "$p" 2>/dev/null || true
	done
	if [ "$NFAIL" -ne 0 ] || [ -n "${KEEP:-}" ]; then
		for l in "$T"/*/log; do
			[ -f "$l" ] || continue
			echo "# --- $l (tail)"
			tail -n 15 "$l" | sed 's/^/# /'
		done
	fi
	rm -rf "$T"
}
trap cleanup EXIT

plan() { echo "1..$1"; }
pass() { NTEST=$((NTEST + 1)); echo "ok $NTEST - $1"; }
fail() { NTEST=$((NTEST + 1)); NFAIL=$((NFAIL + 1)); echo "not ok $NTEST - $1"; }
# ok STATUS TEXT: passes when STATUS is 0.
ok() { if [ "$1" -eq 0 ]; then pass "$2"; else fail "$2"; fi; }
# is GOT WANT TEXT
is() {
	if [ "$1" = "$2" ]; then pass "$3"; else
		fail "$3"; echo "#   got: '$1'"; echo "#  want: '$2'"; fi
}
done_testing() { [ "$NFAIL" -eq 0 ]; }

pk() {
	_n=$1; shift
	"$PEERKEY" -d "$T/$_n" -s "$T/$_n/run/control.sock" "$@"
}

# Polls a command for up to 20 s.
wait_for() {
	_i=0
	while ! "$@" >/dev/null 2>&1; do
		_i=$((_i + 1))
		if [ $_i -gt 200 ]; then return 1; fi
		sleep 0.1
	done
}

node_start() {
	_n=$1
	_d=$T/$_n
	mkdir -p "$_d/state" "$_d/run"
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
[announce]
enable = no
CONF
	fi
	"$PEERKEYD" -d -f "$_d/peerkeyd.conf" >>"$_d/log" 2>&1 &
	echo $! >"$_d/pid"
	PIDS="$PIDS $!"
	wait_for "$PEERKEY" -s "$_d/run/control.sock" status
	eval "PORT_$_n=\$(pk $_n -j status | jq -r .self.port)"
	# A restart keeps the port, so the peers' addresses stay right.
	eval "sed -i \"s/^port = 0\$/port = \$PORT_$_n/\" \"$_d/peerkeyd.conf\""
	eval "NODE_$_n=\$(pk $_n -j init | jq -r .node_keyid)"
	eval "BOOT_$_n=\$(pk $_n -j init | jq -r .boot_keyid)"
}

node_stop() {
	_p=$(cat "$T/$1/pid")
	kill "$_p" 2>/dev/null || true
	wait "$_p" 2>/dev/null || true
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
	pktool unlock "$T/$_n/boot/tls.key" "127.0.0.1:$_port" \
	    >"$T/unlock.out" 2>/dev/null || return 1
	sed 1d "$T/unlock.out" | grep "^$_id" | head -n 1 | cut -d' ' -f2 |
	    base64 -d >"$T/blob.gpg"
	[ -s "$T/blob.gpg" ] || return 1
	_g=$(mktemp -d "$T/gnupg.XXXXXX")
	gpg --homedir "$_g" --batch --quiet --import "$T/$_n/boot/pgp.key" \
	    2>/dev/null
	gpg --homedir "$_g" --batch --quiet --decrypt "$T/blob.gpg" \
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

# Every active keyslot but 0 is named by a peerkey token ("keyslot").
slots_journalled() {
	cryptsetup luksDump --dump-json-metadata "$1" 2>/dev/null | jq -e '
	    ([.tokens[] | select(.type == "peerkey") | .keyslot | tostring])
	    as $t | [.keyslots | keys[] | select(. != "0")] - $t | length == 0'
}
