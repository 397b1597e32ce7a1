#!/bin/sh
# join-large.sh: joining a large cluster (issue 19). The JOIN_REPLY lists
# every member, so it grows with the cluster: with 110 members (as
# "peerkey init" makes them, about 1.5 KiB each: some 165 KiB, over the
# 48 KiB of one identity document that capped it before, from about the
# 35th machine) a machine joins and guards them all. A reply over
# PK_JOIN_REPLY_MAX (1 MiB) is refused with a clear error before anything
# changes: the joiner is not added at the inviter and the invitation is
# not used. The members are signed identities (pktool ident-forge, each
# with its own node key) added to the inviter as "peerkey join" adds them.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/tests/node/lib-cli.sh"

plan 9

node_start a
node_start j
node_start k

# ctl_add_all NAME FILE: every base64 identity in FILE (one a line) added
# to NAME's peers over one control connection; prints how many were ok.
ctl_add_all() {
	python3 -c '
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
f = s.makefile("rw")
ok = 0
for line in open(sys.argv[2]):
    f.write(json.dumps({"cmd": "add", "identity": line.strip()}) + "\n")
    f.flush()
    a = json.loads(f.readline())
    if a.get("ok"):
        ok += 1
    else:
        print(a.get("error"), file=sys.stderr)
print(ok)
' "$W/$1/run/control.sock" "$2"
}

# forge FIRST LAST PGP: identities of members mFIRST..mLAST, each signed by
# its own node key, with the armored boot key in file PGP, one a line.
forge() {
	_i=$1
	while [ "$_i" -le "$2" ]; do
		pktool keygen "$W/m$_i.key" >/dev/null
		pktool ident-forge "$W/m$_i.key" - "m$_i" \
		    "$(head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n')" \
		    127.0.0.1:9 1 "$3"
		_i=$((_i + 1))
	done
}

# npeers NAME: how many peers NAME guards.
npeers() {
	pk "$1" -j status | jq '.peers | length'
}

# 110 members with a real boot key each (j's, as "peerkey init" made it).
forge 1 110 "$W/j/boot/pgp.pub" >"$W/ids"
is "$(ctl_add_all a "$W/ids")" 110 "a has 110 members with signed identities"

code=$(pk a invite --address "127.0.0.1:$PORT_a" 2>/dev/null)
pk j join "$code" >"$W/out" 2>&1 && r=0 || r=$?
[ "$r" = 0 ] || diag "$W/out"
is "$r" 0 "j joins a's 110-member cluster"
is "$(npeers j)" 111 "j guards a and its 110 members"
is "$(pk a -j status | jq '[.peers[] | select(.name == "j")] | length')" 1 \
    "a guards j"

# 40 more members with the largest boot key text an identity carries:
# the reply would be over 1 MiB.
awk 'BEGIN { for (i = 0; i < 375; i++) { s = ""; for (j = 0; j < 64; j++)
    s = s "A"; print s } }' >"$W/big.asc"
forge 111 150 "$W/big.asc" >"$W/big-ids"
is "$(ctl_add_all a "$W/big-ids")" 40 "a has 40 more members with large keys"
before=$(npeers a)
code=$(pk a invite --address "127.0.0.1:$PORT_a" 2>/dev/null)
pk k join "$code" >"$W/out" 2>&1 && r=0 || r=$?
is "$r" 1 "k's join of a reply over the limit fails"
like "$(cat "$W/out")" "too large to join through one reply .*nothing was changed" \
    "...saying why, not that it timed out"
is "$(npeers a)" "$before" "a did not add k"
is "$(sqlite3 "$W/a/state/peerkey.db" 'SELECT count(*) FROM invites')" 1 \
    "...and the invitation was not used"

finish
