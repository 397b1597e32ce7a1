#!/bin/sh
# tamper.sh: a byte-flipping relay (OpenSSH's regress/integrity.sh idea)
# between a client and a real peerkeyd, on native UNLOCK and HEARTBEAT
# sessions. A clean session is recorded first; then, for each direction
# and every offset class of what was recorded (the pre-TLS line's first
# and last byte; each TLS record's content type, length, first and last
# body byte), one session with that byte flipped (XOR 0x55). Each must
# end with nothing accepted (no release, no heartbeat reply taken), the
# connection closed by one side (not left to the relay's 10 s), and one
# line from the side that sees the flip: the daemon for what the client
# sent (each session comes from its own loopback address, so no line is
# folded into another's count), the client for what came back (the
# daemon then logs at most its own one line, a release say). The
# server's close_notify after the answer is flipped too: nothing to
# accept there, but the connection must still close. The daemon keeps
# serving.
_title="byte-flipping relay on native unlock and heartbeat sessions"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/node/lib.sh"

start_node a node.log-level=info events.repeat-interval=1s limits.idle-timeout=1s \
    limits.handshake-timeout=2s limits.unknown-timeout=1s ||
    fatal "cannot start node a"
A=$(node_addr a)
blob "$W/blob" "stand-in ciphertext"
add_peer a en --timeout 1h >/dev/null
deposit a en disk1 "$W/blob" >/dev/null
AKEY=$(node_keyid a)
RP=$(free_port)

# session KIND: the client's command for KIND (unlock, heartbeat) through
# the relay, its first line on stdout, its complaints in $W/client.err.
session() {
	case $1 in
	unlock) pktool unlock "$W/en.boot" "127.0.0.1:$RP" ;;
	heartbeat) pktool heartbeat "$W/en.node" "127.0.0.1:$RP" "$AKEY" ;;
	esac 2>"$W/client.err" | head -n 1
}

# relayed KIND SOURCE REC [DIR OFFSET]: one session through the relay,
# from SOURCE; the client's answer in $got, the relay's in $rel.
relayed() {
	_k=$1 _s=$2 _r=$3
	shift 3
	rm -f "$W/relay.out"	# not the last session's "listening"
	PKTOOL_SOURCE=$_s pktool relay "127.0.0.1:$RP" "$A" "$_r" "$@" \
	    > "$W/relay.out" 2>&1 &
	_rp=$!
	wait_for "grep -q listening '$W/relay.out'" 10
	got=$(session "$_k")
	wait $_rp
	rel=$(tail -n 1 "$W/relay.out")
}

# offsets FILE SKIP: "OFFSET CLASS" lines for FILE's bytes: SKIP bytes
# of pre-TLS line (its first and last), then each TLS record's type,
# length (high byte), first and last body byte.
offsets() {
	od -An -v -tu1 -w1 "$1" | awk -v skip="$2" '
	{ b[n++] = $1 }
	END {
		if (skip > 0) { print 0, "line-first"; print skip - 1, "line-last" }
		i = skip; r = 0
		while (i + 5 <= n) {
			len = b[i + 3] * 256 + b[i + 4]
			# The last record, 19 bytes: an encrypted close_notify
			# after the answer (the client has what it asked for).
			t = (i + 5 + len == n && len == 19) ? "-close" : ""
			print i, "record" r "-type" t
			print i + 3, "record" r "-length" t
			if (len > 0) {
				print i + 5, "record" r "-first" t
				print i + 4 + len, "record" r "-last" t
			}
			i += 5 + len; r++
		}
	}'
}

last=1
for kind in unlock heartbeat; do
	relayed $kind 127.0.0.1 "$W/$kind"
	case $kind in
	unlock) want="released 1" ;;
	heartbeat) want=heartbeat-reply ;;
	esac
	is "$got" "$want" "a clean $kind through the relay is served"
	[ "$got" = "$want" ] || diag "$W/relay.out" "$W/client.err"
	for dir in c2s s2c; do
		skip=0
		[ $dir = s2c ] || skip=11	# "peerkey 1\r\n"
		offsets "$W/$kind.$dir" $skip > "$W/$kind.$dir.off"
		n=$(wc -l < "$W/$kind.$dir.off")
		ok '[ "$n" -ge 8 ]' "$kind $dir: $n offsets to flip"
		bad=""
		while read -r off class; do
			last=$((last + 1))
			src=127.0.$((last / 250)).$((last % 250 + 2))
			l0=$(wc -l < "$(node_log a)")
			# At most 5 new sources a second: beyond 8 in one
			# repeat-interval (1 s here) their lines would be
			# counted together under "others".
			sleep 0.2
			relayed $kind "$src" "$W/flip" $dir "$off"
			# The daemon's line may come a moment after the close.
			if [ $dir = c2s ]; then
				wait_for "grep -q '$src:' '$(node_log a)'" 10
			else
				sleep 0.3
			fi
			lines=$(grep -c "$src:" "$(node_log a)")
			said=$(wc -l < "$W/client.err")
			case $rel in
			*timeout*) bad="$bad $class(left open)" ;;
			esac
			case $class in
			*-close) continue ;;	# after the answer
			esac
			case $got in
			"$want") bad="$bad $class(accepted)" ;;
			esac
			# Who sees the flip says so, once: the daemon what
			# came to it, the client what came back (the daemon
			# then says at most what it did).
			if [ $dir = c2s ]; then
				[ "$lines" = 1 ] || {
					bad="$bad $class($lines daemon lines)"
					echo "$class from $src: relay: $rel;" \
					    "client: $(cat "$W/client.err")" \
					    >> "$W/bad.log"
				}
			elif [ "$said" != 1 ] || [ "$lines" -gt 1 ]; then
				bad="$bad $class($said client, $lines daemon lines)"
			fi
		done < "$W/$kind.$dir.off"
		is "${bad:-none}" none \
		    "$kind $dir: every flipped byte refused, one log line, closed"
		[ -z "$bad" ] || diag "$W/bad.log"
		rm -f "$W/bad.log"
	done
done
is "$(unlock a en)" "released 1" "the daemon still serves a real unlock"
kill -0 "$(node_pid a)"
ok '[ $? = 0 ]' "and is still running"
ok 'stop_node a' "it stops cleanly"
finish
