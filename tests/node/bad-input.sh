#!/bin/sh
# bad-input.sh: malformed input closes that one connection with a log line
# and the daemon goes on serving: a frame over max-frame gets ERROR and a
# close; garbage protocol lines are closed at once (not at the line
# timeout); TLS 1.2, a client without a key, and Mandos when disabled are
# refused.
_title="oversized frames, garbage lines, TLS 1.2 and keyless clients refused"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/node/lib.sh"

# A long line timeout: "closed" within pktool's 10s means closed at once.
start_node a limits.max-frame=4k limits.line-timeout=30s ||
    fatal "cannot start node a"
A=$(node_addr a)
add_peers_with_blob a en=120s

serving() {
	is "$(unlock a en)" "released 1" "$1: the daemon still serves"
}

# --- frames ----------------------------------------------------------------
# u32 length, version 1, type 3 (HEARTBEAT): length 65536 > 4k.
like "$(pktool raw "$W/en.node" "$A" 000100000103)" "^error 4 " \
    "a frame over max-frame gets ERROR too-large"
ok 'log_has a "bad frame: .*"' "...with a log line"
serving "oversized frame"
like "$(pktool raw "$W/en.node" "$A" fffffff00103)" "^error 4 " \
    "a length near 4 GiB gets ERROR too-large"
head -c 5000 /dev/zero | tr '\0' x > "$W/big"
like "$(deposit a en big "$W/big")" "^error 4 " \
    "a DEPOSIT over max-frame gets ERROR too-large"
is "$(peer_field a en blobs)" 1 "...and stores nothing"
like "$(pktool raw "$W/en.node" "$A" 0000000201ff)" "^error 1 " \
    "an unknown message type gets ERROR protocol"
like "$(pktool raw "$W/en.node" "$A" 000000020903)" "^error 2 " \
    "an unknown version gets ERROR version"
like "$(pktool raw "$W/en.node" "$A" 0000000001)" "^error 1 " \
    "a frame shorter than its header gets ERROR protocol"
like "$(pktool raw "$W/en.node" "$A" 00000003010301)" "^error 1 " \
    "a HEARTBEAT with a truncated body gets ERROR protocol"
like "$(pktool raw "$W/en.node" "$A" 0000000a0104000000000000000000)" \
    "^error 1 " "a reply type sent as a request gets ERROR protocol"
serving "bad frames"

# --- pre-TLS lines -------------------------------------------------------------
for l in 'GET / HTTP/1.0\r\n\r\n' 'peerkey 2\r\n' 'peerkey 1 \r\n' \
    'peer\0key 1\r\n' '2\r\n' '\r\n' \
    'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' \
    '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03'; do
	is "$(pktool line "$A" "$l")" closed \
	    "garbage line '$l' is closed at once"
done
ok 'log_has a "bad protocol line"' "...each with a log line"
serving "garbage lines"

# --- TLS profiles ------------------------------------------------------------
P13="NORMAL:-VERS-ALL:+VERS-TLS1.3:+CTYPE-CLI-RAWPK:+CTYPE-SRV-RAWPK"
P12="NORMAL:-VERS-ALL:+VERS-TLS1.2:+CTYPE-CLI-RAWPK:+CTYPE-SRV-RAWPK"
like "$(pktool tls "$W/en.node" "$A" "$P13")" "^served \(TLS1.3\)" \
    "control: a TLS 1.3 client with a peer's node key is served"
like "$(pktool tls "$W/en.node" "$A" "$P12")" "^refused: " \
    "a TLS 1.2 client with a peer's node key is refused"
like "$(pktool tls - "$A" "$P13")" "^refused: " \
    "a TLS 1.3 client without a key is refused"
like "$(pktool tls - "$A" "$P12")" "^refused: " \
    "a TLS 1.2 client without a key is refused"
like "$(pktool tls - "$A" "NORMAL:-VERS-ALL:+VERS-TLS1.3")" "^refused: " \
    "an X.509-only client is refused"
ok 'log_has a "TLS handshake \\(handshake: .*(cipher suites|Certificate is required)"' \
    "...each with a log line saying why"
serving "bad TLS clients"

# --- Mandos protocol 1 off -------------------------------------------------------
n0=$(grep -c 'reload: done' "$(node_log a)")
set_conf a mandos.enable=no
kill -HUP "$(node_pid a)"
reloaded() {
	[ "$(grep -c 'reload: done' "$(node_log a)")" -gt "$n0" ]
}
ok 'wait_for "reloaded" 20' "SIGHUP: Mandos off"
pktool mandos "$W/en.boot" "$A" > "$W/m.out" 2>/dev/null
is "$?:$(wc -c < "$W/m.out")" "3:0" \
    "with Mandos off a Mandos client gets no TLS at all"
ok 'log_has a "Mandos protocol 1 is disabled"' "...with a log line"
serving "Mandos off"

ok 'stop_node a' "a stops cleanly"
finish
