#!/bin/sh
# edge-probes.sh: the same edge probes against Debian's real mandos server
# and peerkeyd, both serving one clients.conf (made by mandos-keygen,
# imported with peerkey import-mandos), side by side in one namespace:
#   - a connection that sends no protocol line,
#   - the line "1\r\n" and then no TLS handshake,
#   - the lines "2\r\n" (a version neither speaks), "0\r\n" and "1 foo\r\n"
#     (which Mandos accepts),
#   - a TLS handshake with a known, a disabled and an unknown key.
# Mandos keeps silent connections open (asserted: still open when pktool's
# 10 s deadline ends); peerkeyd closes them (within its 1 s line and 2 s
# handshake timeouts, well inside the same 10 s). peerkeyd never sends a
# secret where Mandos would not, and sends the same bytes where it does.
. "$(dirname "$0")/lib-interop.sh"
need mandos mandos-keygen certtool gpg ip
need_root

NS=pkiop$$
mk_ns "$NS"
three_clients "alpha-$$" "beta-$$" 'checker = true' no
start_peerkeyd "$W/pkd" "$NS" || { diag "$W/peerkeyd.log"; fatal "peerkeyd"; }
pk import-mandos "$W/clients.conf" > "$W/import.out" 2>&1 ||
    { diag "$W/import.out"; fatal "import-mandos failed"; }
start_mandos "$W/m" "$NS" "$W/clients.conf" ||
    { diag "$W/mandos.log"; fatal "mandos did not start"; }
ok 'true' "mandos on :$MANDOS_PORT and peerkeyd on :$PKD_PORT serve one clients.conf"

# All probes at once, each in the background (pktool line gives up after
# 10 s and then prints "open").
i=0
probes=""
for line in '' '1\r\n' '2\r\n' '0\r\n' '1 foo\r\n'; do
	i=$((i + 1))
	for port in $MANDOS_PORT $PKD_PORT; do
		probe_line "$NS" 127.0.0.1:$port "$line" > "$W/probe$i.$port" &
		probes="$probes $!"
	done
done
for p in $probes; do
	wait "$p"
done
verdict() {
	cat "$W/probe$1.$2" 2>/dev/null
}
ok '[ "$(verdict 1 $MANDOS_PORT)" = open ] && [ "$(verdict 1 $PKD_PORT)" = closed ]' \
    "no protocol line: mandos still holds the connection after 10 s; peerkeyd closed it"
ok '[ "$(verdict 2 $MANDOS_PORT)" = open ] && [ "$(verdict 2 $PKD_PORT)" = closed ]' \
    "\"1\" and no TLS handshake: mandos waits for ever; peerkeyd closed it"
ok '[ "$(verdict 3 $MANDOS_PORT)" = closed ] && [ "$(verdict 3 $PKD_PORT)" = closed ]' \
    "version \"2\": both close"
ok '[ "$(verdict 4 $MANDOS_PORT)" = open ] && [ "$(verdict 4 $PKD_PORT)" = closed ]' \
    "\"0\": mandos takes it as protocol 1 and waits; peerkeyd refuses the line"
ok '[ "$(verdict 5 $MANDOS_PORT)" = open ] && [ "$(verdict 5 $PKD_PORT)" = closed ]' \
    "\"1 foo\": mandos takes it and waits; peerkeyd refuses the line"
ok 'grep -q "line\|protocol\|timed out\|timeout" "$W/peerkeyd.log"' \
    "peerkeyd logs why it closed"

# TLS with a known, a disabled and an unknown key, against both servers.
for k in alpha beta gamma; do
	for port in $MANDOS_PORT $PKD_PORT; do
		ip netns exec "$NS" "$PKTOOL" mandos "$W/$k/tls-privkey.pem" \
		    127.0.0.1:$port > "$W/$k.$port.bin" 2> "$W/$k.$port.err"
		echo $? > "$W/$k.$port.rc"
	done
done
size() {
	wc -c < "$W/$1.$2.bin" | tr -d ' '
}
ok '[ "$(size alpha $MANDOS_PORT)" -gt 0 ] &&
    cmp -s "$W/alpha.$MANDOS_PORT.bin" "$W/alpha.$PKD_PORT.bin"' \
    "known key: both send the same OpenPGP message ($(size alpha $MANDOS_PORT) bytes)"
ok '[ "$(size beta $MANDOS_PORT)" = 0 ] && [ "$(size beta $PKD_PORT)" = 0 ] &&
    [ "$(cat "$W/beta.$PKD_PORT.rc")" = 1 ] && [ "$(cat "$W/beta.$MANDOS_PORT.rc")" = 1 ]' \
    "disabled key: handshake, then zero bytes and close from both"
ok '[ "$(size gamma $MANDOS_PORT)" = 0 ] && [ "$(size gamma $PKD_PORT)" = 0 ] &&
    [ "$(cat "$W/gamma.$PKD_PORT.rc")" = 1 ] && [ "$(cat "$W/gamma.$MANDOS_PORT.rc")" = 1 ]' \
    "unknown key: handshake, then zero bytes and close from both"
never=1
for k in alpha beta gamma; do
	if [ "$(size $k $PKD_PORT)" -gt 0 ] && [ "$(size $k $MANDOS_PORT)" = 0 ]; then
		never=0
	fi
done
ok '[ $never = 1 ]' "peerkeyd never sends a secret where mandos sends none"

# Mandos still serves after all that (its held connections are its own
# processes), and so does peerkeyd.
ok 'ip netns exec "$NS" "$PKTOOL" mandos "$W/alpha/tls-privkey.pem" \
    127.0.0.1:$PKD_PORT 2>/dev/null | cmp -s - "$W/alpha.$MANDOS_PORT.bin"' \
    "peerkeyd still serves alpha after the probes"
finish
