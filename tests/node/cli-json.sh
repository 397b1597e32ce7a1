#!/bin/sh
# cli-json.sh: "peerkey -j" prints one JSON object for every command,
# success and failure alike ({"ok": true, ...} / {"ok": false, "error":
# {"code", "exit", "message"}}), "ok" true exactly when the exit status is
# 0, errors the command raises itself (no daemon, bad arguments, a plain
# file as a device) included; and "COMMAND --help" exits 0. Real peerkeyd
# on loopback, a real LUKS2 image.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/tests/node/lib-cli.sh"

plan 61

trio
truncate -s 1M "$W/plain"
printf 'a blob' >"$W/blob"
K1=$(printf '%064d' 1)
K2=$(printf '%064d' 2)

# envelope RC: $W/out is one JSON object, the envelope of exit status RC.
envelope() {
	jq -e -s --argjson rc "$1" '
	    {"1": "failed", "2": "usage", "3": "no-daemon", "4": "no-peer",
	     "5": "partial", "6": "local"} as $codes |
	    length == 1 and (.[0] | type == "object" and .ok == ($rc == 0) and
	    if $rc == 0 then has("error") | not
	    else .error.exit == $rc and .error.code == $codes[$rc | tostring]
	        and (.error.message | type == "string" and length > 0) end)' \
	    "$W/out" >/dev/null 2>&1
}

# j WANT LABEL CMD...: peerkey -j on a exits WANT with its envelope.
j() {
	_want=$1 _label=$2
	shift 2
	pk a -j "$@" >"$W/out" 2>"$W/err" </dev/null && _rc=0 || _rc=$?
	if [ "$_rc" = "$_want" ] && envelope "$_rc"; then
		pass "$_label (exit $_want)"
	else
		fail "$_label (exit $_want): exit $_rc"
		sed 's/^/#   out: /' "$W/out"
		sed 's/^/#   err: /' "$W/err"
	fi
}

j 0 "status" status
"$PEERKEY" -j -s "$W/none.sock" status >"$W/out" 2>/dev/null && r=0 || r=$?
is "$r:$(envelope 3 && jq -r .error.code "$W/out")" "3:no-daemon" \
    "status, daemon down: no-daemon"
grep -q 'cannot reach peerkeyd' "$W/out" && pass "...the message says so" ||
    fail "...the message says so"
j 2 "status with an unknown option" status --extra
j 6 "status of a device that is not there (local)" status "$W/no-such.img"
j 0 "peer add" peer add d --boot-key "$K1" --node-key "$K2" \
    --address 127.0.0.1:9
j 2 "peer add without --boot-key" peer add e
j 1 "peer add of a name taken" peer add d --boot-key "$K1"
j 0 "peer set" peer set d --timeout 1h
j 4 "peer set of no such peer" peer set nosuch --timeout 1h
j 0 "peer list" peer list
is "$(jq -r '.peers | map(.name) | sort | join(" ")' "$W/out")" "b c d" \
    "peer list: the peers under \"peers\""
j 2 "peer with no such subcommand" peer frob
j 0 "peer put-blob" peer put-blob d b1 "$W/blob"
j 1 "peer put-blob of a missing file" peer put-blob d b1 "$W/missing"
for c in enable disable check approve deny; do
	j 0 "$c" "$c" d
	j 4 "$c of no such peer" "$c" nosuch
done
j 1 "accept of a peer not pending" accept d
j 0 "events" events --peer d
jq -e '.events | length > 0 and all(.at > 1000000000000)' "$W/out" \
    >/dev/null && pass "events: under \"events\", times in milliseconds" ||
    fail "events: under \"events\", times in milliseconds"
j 2 "events --limit x" events --limit x
j 0 "metrics" metrics
j 2 "monitor, which has no -j" monitor
j 2 "metrics with an argument" metrics extra
j 0 "list" list "$W/img"
j 6 "list of a plain file" list "$W/plain"
j 0 "verbose 1" verbose 1
j 2 "verbose 9" verbose 9
j 0 "init" init
pk a -j -d /proc/none init >"$W/out" 2>"$W/err" </dev/null && r=0 || r=$?
ok 'envelope 6 && [ "$r" = 6 ]' "init in a directory it cannot make (exit 6)"
j 0 "invite" invite --expires 10m --address "127.0.0.1:$PORT_a"
code=$(jq -r .code "$W/out")
ok 'jq -e ".expires > $(date +%s)000" "$W/out" >/dev/null' \
    "invite: expires in milliseconds"
j 2 "invite --expires garbage" invite --expires garbage
j 2 "join garbage" join garbage
node_start e
pk e -j join "$code" >"$W/out" 2>"$W/err" && r=0 || r=$?
ok 'envelope 0 && [ "$r" = 0 ]' "join (exit 0)"
j 0 "boot-config" boot-config --out "$W/boot.conf"
j 1 "boot-config into a missing directory" boot-config \
    --out "$W/no/such/boot.conf"
j 0 "enroll" enroll "$W/img" --peers b,c --key-file "$W/pass"
j 6 "enroll of a plain file" enroll "$W/plain" --key-file "$W/pass"
j 2 "enroll with no device" enroll --key-file "$W/pass"
node_stop c
j 5 "rotate with c down" rotate "$W/img" --peers b,c --key-file "$W/pass"
ok 'jq -e ".held_by == [\"b\"]" "$W/out" >/dev/null' \
    "...a partial result keeps its members (held_by)"
j 6 "rotate of a missing device" rotate "$W/missing" --key-file "$W/pass"
j 0 "unenroll" unenroll "$W/img"
j 6 "unenroll of a plain file" unenroll "$W/plain"
mkdir -p "$W/chk"
j 0 "import-mandos --dry-run" import-mandos --dry-run --checker-dir "$W/chk" \
    "$top_srcdir/tests/unit/mandos-keygen.conf"
j 1 "import-mandos of a missing file" import-mandos "$W/missing.conf"
j 0 "remove --yes" remove --yes d
j 4 "remove of no such peer" remove --yes nosuch
j 2 "no such command" frobnicate
j 0 "status --help" status --help
j 0 "--version" --version
# Without -j too: a subcommand's --help is help, not a usage error.
pk a enroll --help >"$W/out" 2>&1 && r=0 || r=$?
ok '[ "$r" = 0 ] && grep -q "usage: peerkey enroll" "$W/out"' \
    "enroll --help: its usage, exit 0"

finish
