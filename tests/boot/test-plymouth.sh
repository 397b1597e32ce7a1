#!/bin/sh
# test-plymouth.sh: the prompt through plymouth, with a stand-in for
# plymouth's client (--plymouth=PATH): a script that answers --ping while
# $W/ply/up exists, logs display-message's text, and, for
# ask-for-password, logs its PID and prompt and writes to its stdout what
# is written into the FIFO $W/ply/answer (the real one writes the typed
# passphrase, no newline, and exits 0). The real plymouthd is in
# tests/vm/test-plymouth.sh.
. "$(dirname "$0")/lib-boot.sh"
need certtool gpg mandos dbus-daemon
need_root

boot_keys "$W/k"
stop_gpg_agents "$W/k/gpg"
PD=$(free_port)
P=$W/ply
NL='
'
mkdir -p "$P"
mkfifo "$P/answer" "$W/fifo"
cat > "$P/plymouth" <<EOS
#!/bin/sh
log=$P/log
case "\$1" in
--ping)
	echo "ping" >> "\$log"
	[ -e "$P/up" ]
	exit
	;;
display-message)
	echo "message \${2#--text=}" >> "\$log"
	;;
quit|show-splash)
	echo "\$1" >> "\$log"
	;;
ask-for-password)
	echo "ask \$\$ \${2#--prompt=}" >> "\$log"
	[ ! -e "$P/fail" ] || exit 1
	trap 'echo "ask \$\$ terminated" >> "\$log"; kill \$c; exit 1' TERM
	cat "$P/answer" &
	c=\$!
	wait \$c
	echo "ask \$\$ answered" >> "\$log"
	;;
*)
	exit 1
	;;
esac
EOS
chmod 755 "$P/plymouth"

# A peer that is down, the console prompt on a FIFO (prompt-device).
boot_conf "$W/p.conf" "$W/k" "mdns = no" "prompt = yes" \
    "prompt-device = $W/fifo" "give-up = 20s" "retry-min = 200ms" \
    "retry-max = 400ms"
printf '[peer h1]\naddress = 127.0.0.1:%s\nnode-key = %s\n' "$PD" \
    "$BOOT_KEYID" >> "$W/p.conf"

# typed N WHEN FILE TEXT ARG...: the agent with ARGs (stdout $W/oN,
# stderr $W/eN.log); once WHEN (a condition) holds, TEXT goes into FILE
# (a FIFO: plymouth's answer or the console). Sets rc.
typed() {
	_n=$1
	_when=$2
	_file=$3
	_text=$4
	shift 4
	spawn -o "$W/o$_n" "e$_n" "$AGENT" -c "$W/p.conf" "$@"
	_apid=$!
	wait_for "$_when" 10
	printf '%s' "$_text" > "$_file"
	wait $_apid
	rc=$?
}

# 1. plymouthd runs: the prompt goes through it; what it answers wins.
touch "$P/up"
typed 1 'grep -q "^ask " "$P/log"' "$P/answer" 'typed at plymouth' \
    --plymouth="$P/plymouth"
ok '[ $rc = 0 ] && [ "$(cat "$W/o1")" = "typed at plymouth" ] &&
    [ "$(wc -c < "$W/o1")" = 17 ]' \
    "the passphrase typed at plymouth's prompt wins, exactly its bytes"
ok 'grep -q "^ask [0-9]* Please unlock disk (peerkey)$" "$P/log"' \
    "ask-for-password gets the prompt without our trailing \": \" (plymouth adds its own)"
ok 'grep -q "^peerkey-boot: plymouth runs: the prompt goes through plymouth ($P/plymouth)$" "$W/e1.log" &&
    grep -q "^peerkey-boot: passphrase typed at the plymouth prompt$" "$W/e1.log"' \
    "the progress lines say the prompt went through plymouth"
ok 'grep -q "^message peerkey-boot: asking 1 peer$" "$P/log" &&
    grep -q "^message peerkey-boot: h1: unreachable" "$P/log" &&
    grep -q "^peerkey-boot: h1: unreachable" "$W/e1.log"' \
    "progress lines go to plymouth (display-message) and to stderr"
ok '! grep -q "Please unlock disk" "$W/e1.log"' \
    "no console prompt beside plymouth's"

# 2. A peer's passphrase ends plymouth's prompt: the child is killed by
# its PID and reaped.
printf 'from the peer' > "$W/pass"
seal "$W/k" "$W/pass" "$W/blob"
P1=$(free_port)
start_mandos "$W/m1" "$P1" "$W/blob" "$BOOT_KEYID" "$BOOT_FPR"
boot_conf "$W/m.conf" "$W/k" "mdns = no" "prompt = yes" \
    "prompt-device = $W/fifo" "give-up = 20s"
printf '[mandos m1]\naddress = 127.0.0.1:%s\n' "$P1" >> "$W/m.conf"
: > "$P/log"
# Then the agent would restart plymouthd (it cannot withdraw a request;
# tests/vm/test-plymouth.sh has the real one): here, in a mount namespace
# with its own /run/plymouth, the pid file names a process that is not
# plymouthd, which must be left alone.
cat > "$W/m.sh" <<EOS
#!/bin/sh
mkdir -p /run/plymouth
mount -t tmpfs tmpfs /run/plymouth || exit 9
sleep 60 &
echo \$! > /run/plymouth/pid
"$AGENT" -c "$W/m.conf" --plymouth="$P/plymouth" > "$W/o2" 2> "$W/e2"
echo \$? > "$W/rc2"
kill -0 \$! && echo alive > "$W/sleep2"
kill \$!
EOS
chmod +x "$W/m.sh"
unshare --mount --propagation private "$W/m.sh"
pid=$(sed -n 's/^ask \([0-9]*\) .*/\1/p' "$P/log" | head -n 1)
ok '[ "$(cat "$W/rc2")" = 0 ] && [ "$(cat "$W/o2")" = "from the peer" ]' \
    "the peer's passphrase wins over plymouth's prompt"
ok '[ -n "$pid" ] && grep -q "^ask $pid terminated$" "$P/log" &&
    ! kill -0 "$pid" 2>/dev/null' \
    "the ask-for-password child was ended by its PID and is gone"
ok '! grep -q "^quit" "$P/log" && [ "$(cat "$W/sleep2")" = alive ] &&
    grep -q "^peerkey-boot: plymouth.s prompt may still show: plymouthd could not be restarted$" "$W/e2"' \
    "a pid file naming no plymouthd: nothing quit or restarted, and it says so"

# 3. No plymouthd: the console prompt, as without plymouth.
rm -f "$P/up"
: > "$P/log"
typed 3 'grep -q "asking 1 peer" "$W/e3.log"' "$W/fifo" \
    "typed at the console$NL" --plymouth="$P/plymouth"
ok '[ $rc = 0 ] && [ "$(cat "$W/o3")" = "typed at the console" ] &&
    grep -q "^ping$" "$P/log" && ! grep -q "^ask" "$P/log" &&
    ! grep -q "^message" "$P/log" &&
    grep -q "^peerkey-boot: passphrase typed at the console prompt$" "$W/e3.log"' \
    "plymouth --ping fails: the console prompt, nothing sent to plymouth"

# 4. -P names the device: no plymouth even when it runs; so does
# --plymouth=none.
touch "$P/up"
: > "$P/log"
typed 4 'grep -q "asking 1 peer" "$W/e4.log"' "$W/fifo" "typed on -P$NL" \
    --plymouth="$P/plymouth" -P "$W/fifo"
rc4=$rc
typed 5 'grep -q "asking 1 peer" "$W/e5.log"' "$W/fifo" \
    "typed with none$NL" --plymouth=none
rc5=$rc
ok '[ $rc4 = 0 ] && [ "$(cat "$W/o4")" = "typed on -P" ] &&
    [ $rc5 = 0 ] && [ "$(cat "$W/o5")" = "typed with none" ] &&
    [ ! -s "$P/log" ]' \
    "-P DEVICE and --plymouth=none: the console prompt, plymouth not asked"

# 5. ask-for-password fails (plymouthd went away): the console prompt
# takes over, on the prompt device.
touch "$P/fail"
: > "$P/log"
typed 6 'grep -q "console prompt on" "$W/e6.log"' "$W/fifo" \
    "typed after plymouth$NL" --plymouth="$P/plymouth"
ok '[ $rc = 0 ] && [ "$(cat "$W/o6")" = "typed after plymouth" ] &&
    grep -q "^peerkey-boot: the plymouth prompt ended (status 1); console prompt on $W/fifo$" "$W/e6.log"' \
    "ask-for-password fails: the console prompt takes over, and says so"
rm -f "$P/fail"

finish
