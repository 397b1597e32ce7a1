#!/bin/sh
# secrets.sh: secret hygiene. A real OpenPGP message of a canary
# passphrase is deposited and released; the canary (and the ciphertext
# itself) never appears in the log, the database outside the ciphertext,
# the daemon's argv or environment. The daemon, run as uid nobody, is not
# dumpable: its /proc entries belong to root and the same uid cannot read
# its environment, where a dumpable process of that uid can; no core
# files.
_title="a canary passphrase never leaks; the daemon is not dumpable"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/node/lib.sh"

[ "$(id -u)" = 0 ] || bail "needs root (to run the daemon as nobody)"
command -v gpg >/dev/null 2>&1 || bail "needs gpg"
command -v setpriv >/dev/null 2>&1 || bail "needs setpriv (util-linux)"

CANARY="canary-$$-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"

# A real OpenPGP message of the canary, to a throw-away key.
export GNUPGHOME=$TEST_DIR/gnupg
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key \
    "peerkey test <test@example.invalid>" future-default default never \
    2>/dev/null || bail "gpg key generation"
printf '%s' "$CANARY" | gpg --batch --quiet --trust-model always \
    --encrypt -r test@example.invalid -o "$TEST_DIR/canary.pgp" ||
    bail "gpg encrypt"
is "the blob is an OpenPGP message of the canary" \
    "$(gpg --batch --quiet --decrypt "$TEST_DIR/canary.pgp" 2>/dev/null)" \
    "$CANARY"
HEX=$(od -An -tx1 -v "$TEST_DIR/canary.pgp" | tr -d ' \n')
B64=$(base64 -w0 "$TEST_DIR/canary.pgp")

# The daemon runs as nobody: its directory and key belong to nobody.
mkdir -p "$TEST_DIR/a"
keygen "$TEST_DIR/a/node.key" >/dev/null
chown -R nobody:nogroup "$TEST_DIR/a"
NODE_WRAP="setpriv --reuid=nobody --regid=nogroup --clear-groups"
start_node a || bail "cannot start node a as nobody"
PID=$(node_pid a)
A=$(node_addr a)
is "the daemon runs as nobody" "$(stat -c %U "/proc/$PID/cmdline" \
    2>/dev/null; awk '/^Uid:/ { print $2 }' "/proc/$PID/status")" \
    "$(printf 'root\n65534')"

add_peer a p --timeout 120s
is "the canary's ciphertext is deposited" \
    "$(deposit a p disk1 "$TEST_DIR/canary.pgp")" "ack DEPOSIT"
pktool unlock "$TEST_DIR/p.boot" "$A" | sed -n 2p | cut -d' ' -f2 |
    base64 -d > "$TEST_DIR/released.pgp"
check "the native release is the ciphertext, byte for byte" \
    cmp -s "$TEST_DIR/released.pgp" "$TEST_DIR/canary.pgp"
is "...which only the boot side can decrypt" \
    "$(gpg --batch --quiet --decrypt "$TEST_DIR/released.pgp" 2>/dev/null)" \
    "$CANARY"
pktool mandos "$TEST_DIR/p.boot" "$A" > "$TEST_DIR/mandos.pgp" 2>/dev/null
check "the Mandos release is the ciphertext, byte for byte" \
    cmp -s "$TEST_DIR/mandos.pgp" "$TEST_DIR/canary.pgp"
pktool notice "$TEST_DIR/p.node" "$A" 60 "planned" >/dev/null
pk a verbose 2
pktool unlock "$TEST_DIR/p.boot" "$A" >/dev/null
pk a verbose 1

# leaks WHERE TEXT: neither the canary nor the ciphertext is in TEXT.
leaks() {
	unlike "$1: no canary" "$2" "$CANARY"
	unlike "$1: no ciphertext (hex or base64)" "$2" \
	    "$(printf '%s' "$HEX" | cut -c 41-104)|$(printf '%s' "$B64" | cut -c 41-96)"
}
leaks "the log" "$(cat "$(node_log a)")"
leaks "the audit events" "$(pk a -j events)"
leaks "the status" "$(pk a -j status)"
leaks "argv" "$(tr '\0' ' ' < "/proc/$PID/cmdline")"
leaks "the environment" "$(tr '\0' '\n' < "/proc/$PID/environ")"
DB=$TEST_DIR/a/state/peerkey.db
dump=$(sqlite3 "$DB" .dump)
like "the database holds the ciphertext (control)" "$dump" \
    "$(printf '%s' "$HEX" | cut -c 41-104)"
unlike "the database dump has no canary" "$dump" "$CANARY"
# Everything but the blob rows: no ciphertext either.
unlike "the database outside the blobs has no ciphertext" \
    "$(printf '%s\n' "$dump" | grep -v '^INSERT INTO blobs')" \
    "$(printf '%s' "$HEX" | cut -c 41-104)"
unlike "the raw database files have no canary" \
    "$(cat "$TEST_DIR"/a/state/* | tr -c '[:print:]' '\n')" "$CANARY"

# --- not dumpable -----------------------------------------------------------------
# A dumpable process of the same uid, as the control of each check.
setpriv --reuid=nobody --regid=nogroup --clear-groups sleep 60 &
ctl=$!
track $ctl
# setpriv changes ids and then execs sleep: wait for the sleep.
for _i in $(seq 100); do
	[ "$(cat "/proc/$ctl/comm" 2>/dev/null)" = sleep ] && break
	sleep 0.05
done
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
}
is "control: a dumpable process of nobody owns its /proc entries" \
    "$(stat -c %U "/proc/$ctl/fd")" nobody
check "control: nobody can read its own dumpable process's environ" \
    quiet as_nobody cat "/proc/$ctl/environ"
is "the daemon's /proc entries belong to root (PR_SET_DUMPABLE 0)" \
    "$(stat -c %U:%G "/proc/$PID/fd")" root:root
check "nobody cannot read the daemon's environ, though it is nobody's" \
    sh -c "! setpriv --reuid=nobody --regid=nogroup --clear-groups \
    cat /proc/$PID/environ >/dev/null 2>&1"
check "nobody cannot read the daemon's memory" \
    sh -c "! setpriv --reuid=nobody --regid=nogroup --clear-groups \
    head -c 1 /proc/$PID/mem >/dev/null 2>&1"
like "no core files (RLIMIT_CORE 0)" \
    "$(grep '^Max core file size' "/proc/$PID/limits")" \
    "size +0 +0 "
kill $ctl

check "a stops cleanly" stop_node a
leaks "the log, to the end" "$(cat "$(node_log a)")"
done_testing
