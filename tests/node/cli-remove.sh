#!/bin/sh
# cli-remove.sh: peerkey remove says what it removes (the peer and its
# blobs, by id), asks on a terminal (a pseudo-terminal here), refuses to
# go on unasked when standard input is not a terminal, removes without
# asking with --yes, and tells the operator what to run on the removed
# machine, which is not told.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/tests/node/lib-cli.sh"

plan 22

node_start a
node_start b
link a b; link b a
printf 'correct horse' >"$W/pass"
luks_image "$W/img" 'correct horse'
pk b enroll "$W/img" --peers a --key-file "$W/pass" >/dev/null 2>&1
blob=luks-$(cryptsetup luksUUID "$W/img")
is "$(peer_blobs a b)" 1 "b deposited its disk's blob with a"
pk a boot-config >/dev/null

# on_tty ANSWER OUT CMD...: CMD on a new pseudo-terminal (stdin, stdout
# and stderr), ANSWER and Enter typed once it asks "[y/N]"; what it
# printed in OUT; its exit status.
on_tty() {
	python3 - "$@" <<'PY'
import os, pty, select, sys, time
answer, out, cmd = sys.argv[1].encode(), sys.argv[2], sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
	os.execvp(cmd[0], cmd)
seen, typed, end = b"", False, time.monotonic() + 20
while time.monotonic() < end:
	r, _, _ = select.select([fd], [], [], 0.2)
	if r:
		try:
			data = os.read(fd, 4096)
		except OSError:
			break
		if not data:
			break
		seen += data
	if not typed and b"[y/N] " in seen:
		os.write(fd, answer + b"\r")
		typed = True
_, status = os.waitpid(pid, 0)
open(out, "wb").write(seen)
sys.exit(os.waitstatus_to_exitcode(status))
PY
}

# --- not a terminal, no --yes: refused, nothing removed -----------------------
pk a remove b </dev/null >"$W/out" 2>"$W/err" && r=0 || r=$?
is "$r" 2 "stdin not a terminal: exit 2"
grep -q "^peer b: this node stops guarding it and deletes the 1 blob it deposited here:" "$W/out" &&
    grep -qx "  $blob" "$W/out" &&
    pass "says what would go: the peer and its blob, by id" ||
    fail "says what would go: the peer and its blob, by id"
grep -q 'not a terminal; nothing removed ("peerkey remove --yes b"' "$W/err" &&
    pass "says why nothing was removed, and names --yes" ||
    fail "says why nothing was removed, and names --yes"
is "$(peer_blobs a b)" 1 "b and its blob are still there"

# --- a terminal: asked; "n" keeps it ------------------------------------------
on_tty n "$W/tty" "$PEERKEY" -d "$W/a" -s "$W/a/run/control.sock" remove b \
    && r=0 || r=$?
is "$r" 1 "answered n: exit 1"
grep -q "Remove peer b and its 1 blob? \[y/N\]" "$W/tty" &&
    pass "asks on the terminal, naming the peer and the count" ||
    fail "asks on the terminal, naming the peer and the count"
grep -q "b not removed" "$W/tty" && pass "says b was not removed" ||
    fail "says b was not removed"
is "$(peer_blobs a b)" 1 "answered n: b and its blob are still there"

# --- "y": removed, and the steps for b --------------------------------------------
on_tty y "$W/tty" "$PEERKEY" -d "$W/a" -s "$W/a/run/control.sock" remove b \
    && r=0 || r=$?
is "$r" 0 "answered y: exit 0"
grep -q "removed peer b and 1 blob:" "$W/tty" && grep -q "  $blob" "$W/tty" &&
    pass "says what it removed, by id" || fail "says what it removed, by id"
is "$(pk a -j status | jq '[.peers[] | select(.name == "b")] | length')" 0 \
    "a no longer guards b"
grep -q '^\[peer b\]' "$W/a/boot.conf" && fail "a's boot.conf drops b" ||
    pass "a's boot.conf drops b"
grep -q "b is not told. If it stays in service, run there:" "$W/tty" &&
    grep -q "peerkey remove a " "$W/tty" && grep -q "peerkey rotate DEVICE" "$W/tty" &&
    pass "tells the operator what to run on b (remove a, rotate)" ||
    fail "tells the operator what to run on b (remove a, rotate)"
pk a -j events --kind removed >"$W/ev"
jq -e --arg b "$blob" '[.events[] | select(.peer == "b") | .detail |
    contains("with 1 blob: " + $b)] | any' "$W/ev" >/dev/null &&
    pass "the audit event names the removed blob" ||
    fail "the audit event names the removed blob"

# --- --yes: no question; -j says the same ------------------------------------------
link a b
pk b rotate "$W/img" --peers a --key-file "$W/pass" >/dev/null 2>&1 || true
is "$(peer_blobs a b)" 1 "b is back on a, its blob deposited again"
pk a -j remove --yes b </dev/null >"$W/out" 2>"$W/err" && r=0 || r=$?
is "$r" 0 "--yes, stdin not a terminal: removed (exit 0)"
is "$(jq -r '.removed + " " + (.blobs | join(","))' "$W/out")" "b $blob" \
    "-j: the peer and its blobs"
is "$(jq -r '.on_removed_peer[0]' "$W/out")" "peerkey remove a" \
    "-j: the step on b"
is "$(pk a -j status | jq '[.peers[] | select(.name == "b")] | length')" 0 \
    "--yes: a no longer guards b"

# --- no such peer ------------------------------------------------------------------
pk a remove --yes nosuch </dev/null >"$W/out" 2>&1 && r=0 || r=$?
is "$r" 4 "no such peer: exit 4"
grep -q "no peer named" "$W/out" && pass "says so" || fail "says so"

finish
