#!/bin/sh
# control-input.sh: the control socket applies the wire's rules to every
# id, name and address it takes (finding 5 of doc/trust.md's threat
# table). A blob id the wire cannot carry ("disk 1\n\e[2J") would be kept,
# written raw to the log and the audit events, and every later UNLOCK of
# that peer would fail to encode; an address or checker with a line break
# or an escape sequence would reach the log too. Each is refused with a
# clear error and changes nothing; the peer's real blob is still
# released. Requests go through "peerkey" where it has the command, and
# as raw JSON lines (what any client of the socket may send) where the
# command itself would check first.
_title="the control socket takes only ids, names and addresses the wire can carry"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/node/lib.sh"

start_node a || fatal "cannot start node a"
blob "$W/b" "stand-in ciphertext"
add_peer a en --timeout 120s
is "$(deposit a en disk1 "$W/b")" "ack DEPOSIT" "en deposits disk1"

# ctl_raw NAME JSON: one request line to NAME's control socket; prints
# the answer's "error" (or "ok").
ctl_raw() {
	python3 -c '
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
a = json.loads(s.makefile().readline())
print("ok" if a.get("ok") else a.get("error", "?"))
' "$W/$1/run/control.sock" "$2"
}
esc=$(printf '\033')
evil=$(printf 'disk 1\n\033[2J')

unlike "$(pk a peer put-blob en "$evil" "$W/b" 2>&1; echo "exit $?")" \
    "exit 0" "put-blob with the id \"disk 1\\\\n\\\\e[2J\" is refused"
like "$(ctl_raw a '{"cmd":"blob-put","peer":"en","blob_id":"disk 1\n\u001b[2J","data":"eA=="}')" \
    "blob_id" "...also as a raw request, with an error naming blob_id"
like "$(ctl_raw a '{"cmd":"blob-put","peer":"en","blob_id":"a b","data":"eA=="}')" \
    "blob_id" "a blob id with a space is refused"
is "$(ctl_raw a '{"cmd":"blob-put","peer":"en","blob_id":"luks-ok.1","data":"eA=="}')" \
    "ok" "control: a blob id of printable ASCII is taken"
is "$(peer_field a en blobs)" 2 "...the refused ids stored nothing"
is "$(unlock a en)" "released 2" "en's UNLOCK still works"

like "$(ctl_raw a '{"cmd":"set","peer":"en","addresses":"192.0.2.1:1\n\u001b[2J"}')" \
    "addresses" "set: an address list with a line break and ESC is refused"
like "$(ctl_raw a '{"cmd":"set","peer":"en","addresses":"192.0.2.1:1;reboot"}')" \
    "addresses" "set: an address that is no host:port is refused"
is "$(ctl_raw a '{"cmd":"set","peer":"en","addresses":"192.0.2.1:4141 [2001:db8::1]:4141"}')" \
    "ok" "control: host:port and [v6]:port addresses are taken"
like "$(ctl_raw a '{"cmd":"set","peer":"en","checker":"true\n\u001b[2J"}')" \
    "checker" "set: a checker with a line break and ESC is refused"
like "$(ctl_raw a '{"cmd":"add","name":"x\u001b","boot_keyid":"'"$(printf '%064d' 7)"'"}')" \
    "name" "add: a name with ESC is refused"
like "$(ctl_raw a '{"cmd":"add","name":"y","boot_keyid":"'"$(printf '%064d' 8)"'","addresses":"\u001b[2J:1"}')" \
    "addresses" "add: an address with ESC is refused"
ok '! state_is a y enabled' "...and adds nothing"
like "$(ctl_raw a '{"cmd":"invite-add","secret_hash":"'"$(printf '%064d' 9)"'","expires":99999999999999,"self":{"name":"a\n\u001b[2J","boot_keyid":"'"$(printf '%064d' 1)"'"}}')" \
    "identity" "invite-add: an inviter identity a joiner would refuse (unsigned) is refused"
like "$(ctl_raw a '{"cmd":"label","peer":"en","labels":"zone=a\n\u001b[2J"}')" \
    'a label is KEY=VALUE' "label: a value with a line break and ESC is refused"
like "$(ctl_raw a '{"cmd":"label","peer":"en","labels":7}')" \
    'must be a string' "label: labels that are no string are refused"
is "$(peer_json a en | jq -c .labels)" '{}' "...and en has no labels"
is "$(unlock a en)" "released 2" "en's UNLOCK works after all of them"
ok '! grep -q "$esc" "$(node_log a)"' "no ESC byte reached the log"
ok '! pk a -j events | grep -q "u001b"' "...nor the audit events"
finish
