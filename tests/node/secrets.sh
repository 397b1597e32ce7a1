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

[ "$(id -u)" = 0 ] || fatal "needs root (to run the daemon as nobody)"
command -v gpg >/dev/null 2>&1 || fatal "needs gpg"
command -v setpriv >/dev/null 2>&1 || fatal "needs setpriv (util-linux)"

CANARY="canary-$$-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"

# A real OpenPGP message of the canary, to a throw-away key.
export GNUPGHOME=$W/gnupg
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key \
    "peerkey test <test@example.invalid>" future-default default never \
    2>/dev/null || fatal "gpg key generation"
printf '%s' "$CANARY" | gpg --batch --quiet --trust-model always \
    --encrypt -r test@example.invalid -o "$W/canary.pgp" ||
    fatal "gpg encrypt"
is "$(gpg --batch --quiet --decrypt "$W/canary.pgp" 2>/dev/null)" \
    "$CANARY" "the blob is an OpenPGP message of the canary"
HEX=$(od -An -tx1 -v "$W/canary.pgp" | tr -d ' \n')
B64=$(base64 -w0 "$W/canary.pgp")

# The daemon runs as nobody: its directory and key belong to nobody.
mkdir -p "$W/a"
keygen "$W/a/node.key" >/dev/null
chown -R nobody:nogroup "$W/a"
NODE_WRAP="setpriv --reuid=nobody --regid=nogroup --clear-groups"
start_node a || fatal "cannot start node a as nobody"
PID=$(node_pid a)
A=$(node_addr a)
is "$(stat -c %U "/proc/$PID/cmdline" \
    2>/dev/null; awk '/^Uid:/ { print $2 }' "/proc/$PID/status")" \
    "$(printf 'root\n65534')" "the daemon runs as nobody"

add_peer a p --timeout 120s
is "$(deposit a p disk1 "$W/canary.pgp")" "ack DEPOSIT" \
    "the canary's ciphertext is deposited"
pktool unlock "$W/p.boot" "$A" | sed -n 2p | cut -d' ' -f2 |
    base64 -d > "$W/released.pgp"
ok 'cmp -s "$W/released.pgp" "$W/canary.pgp"' \
    "the native release is the ciphertext, byte for byte"
is "$(gpg --batch --quiet --decrypt "$W/released.pgp" 2>/dev/null)" \
    "$CANARY" "...which only the boot side can decrypt"
pktool mandos "$W/p.boot" "$A" > "$W/mandos.pgp" 2>/dev/null
signed p disk1 "$W/canary.pgp" >"$W/canary.sblob"
ok 'cmp -s "$W/mandos.pgp" "$W/canary.sblob"' \
    "the Mandos release is the signed blob deposited, byte for byte"
pktool notice "$W/p.node" "$A" 60 "planned" >/dev/null
pk a verbose 2
pktool unlock "$W/p.boot" "$A" >/dev/null
pk a verbose 1

# leaks WHERE TEXT: neither the canary nor the ciphertext is in TEXT.
leaks() {
	unlike "$2" "$CANARY" "$1: no canary"
	unlike "$2" \
	    "$(printf '%s' "$HEX" | cut -c 41-104)|$(printf '%s' "$B64" | cut -c 41-96)" \
	    "$1: no ciphertext (hex or base64)"
}
leaks "the log" "$(cat "$(node_log a)")"
leaks "the audit events" "$(pk a -j events)"
leaks "the status" "$(pk a -j status)"
leaks "argv" "$(tr '\0' ' ' < "/proc/$PID/cmdline")"
leaks "the environment" "$(tr '\0' '\n' < "/proc/$PID/environ")"
DB=$W/a/state/peerkey.db
dump=$(sqlite3 "$DB" .dump)
like "$dump" "$(printf '%s' "$HEX" | cut -c 41-104)" \
    "the database holds the ciphertext (control)"
unlike "$dump" "$CANARY" "the database dump has no canary"
# Everything but the blob rows: no ciphertext either.
unlike "$(printf '%s\n' "$dump" | grep -v '^INSERT INTO blobs')" \
    "$(printf '%s' "$HEX" | cut -c 41-104)" \
    "the database outside the blobs has no ciphertext"
unlike "$(cat "$W"/a/state/* | tr -c '[:print:]' '\n')" "$CANARY" \
    "the raw database files have no canary"

# --- not dumpable -----------------------------------------------------------------
# A dumpable process of the same uid, as the control of each check.
spawn ctl setpriv --reuid=nobody --regid=nogroup --clear-groups sleep 60
ctl=$!
# setpriv changes ids and then execs sleep: wait for the sleep.
for _i in $(seq 100); do
	[ "$(cat "/proc/$ctl/comm" 2>/dev/null)" = sleep ] && break
	sleep 0.05
done
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
}
is "$(stat -c %U "/proc/$ctl/fd")" nobody \
    "control: a dumpable process of nobody owns its /proc entries"
ok 'quiet as_nobody cat "/proc/$ctl/environ"' \
    "control: nobody can read its own dumpable process's environ"
is "$(stat -c %U:%G "/proc/$PID/fd")" root:root \
    "the daemon's /proc entries belong to root (PR_SET_DUMPABLE 0)"
ok 'sh -c "! setpriv --reuid=nobody --regid=nogroup --clear-groups \
    cat /proc/$PID/environ >/dev/null 2>&1"' \
    "nobody cannot read the daemon's environ, though it is nobody's"
ok 'sh -c "! setpriv --reuid=nobody --regid=nogroup --clear-groups \
    head -c 1 /proc/$PID/mem >/dev/null 2>&1"' \
    "nobody cannot read the daemon's memory"
like "$(grep '^Max core file size' "/proc/$PID/limits")" "size +0 +0 " \
    "no core files (RLIMIT_CORE 0)"
stop $ctl

ok 'stop_node a' "a stops cleanly"
leaks "the log, to the end" "$(cat "$(node_log a)")"
finish
