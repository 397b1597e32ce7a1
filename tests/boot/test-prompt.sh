#!/bin/sh
# test-prompt.sh: what happens without a network answer. The console
# prompt wins when a person types (through a FIFO, and through a real pty
# in tmux with echo off); with no peer at all the agent gives up on time
# and says so; a signal ends it cleanly; in ask-password mode it answers
# systemd's real systemd-ask-password through the password agent protocol.
. "$(dirname "$0")/lib-boot.sh"
need certtool gpg tmux systemd-ask-password unshare mandos dbus-daemon
need_root

boot_keys "$W/k"
stop_gpg_agents "$W/k/gpg"
PD=$(free_port)

# No peers, no mDNS, no prompt: nothing to wait for.
boot_conf "$W/none.conf" "$W/k" "mdns = no" "prompt = no"
"$AGENT" -c "$W/none.conf" > "$W/o0" 2> "$W/e0"
rc=$?
ok '[ $rc = 1 ] && [ ! -s "$W/o0" ] && grep -q "nothing to wait for" "$W/e0"' \
    "no peer, no mDNS, no prompt: exit 1 at once, with a reason"

# One peer that is down, a 2 s give-up.
boot_conf "$W/down.conf" "$W/k" "mdns = no" "prompt = no" "give-up = 2s" \
    "retry-min = 200ms" "retry-max = 400ms"
printf '[peer h1]\naddress = 127.0.0.1:%s\nnode-key = %s\n' "$PD" \
    "$BOOT_KEYID" >> "$W/down.conf"
timed timeout 20 "$AGENT" -c "$W/down.conf" > "$W/o1" 2> "$W/e1"
ok '[ $rc = 1 ] && [ $el -ge 1900 ]' \
    "peer down: gives up by itself, not before the give-up time (2 s, took ${el} ms)"
ok 'grep -q "^peerkey-boot: asking 1 peer$" "$W/e1" &&
    grep -q "^peerkey-boot: h1: unreachable (Connection refused)$" "$W/e1" &&
    [ "$(grep -c "h1: unreachable" "$W/e1")" = 1 ]' \
    "says what it asks and why it waits, once per change, not once per retry"
"$AGENT" -g 1s -c "$W/down.conf" > /dev/null 2> "$W/e1g"
ok 'grep -q "giving up after 1 s" "$W/e1g"' "-g overrides give-up"

# The console prompt through a FIFO: the typed line wins over the network.
mkfifo "$W/fifo"
boot_conf "$W/p.conf" "$W/k" "mdns = no" "prompt = yes" \
    "prompt-device = $W/fifo" "give-up = 20s"
printf '[peer h1]\naddress = 127.0.0.1:%s\nnode-key = %s\n' "$PD" \
    "$BOOT_KEYID" >> "$W/p.conf"
spawn -o "$W/o2" e2 "$AGENT" -c "$W/p.conf"
apid=$!
sleep 0.5
printf 'typed by hand\n' > "$W/fifo"
wait $apid
rc=$?
ok '[ $rc = 0 ] && [ "$(cat "$W/o2")" = "typed by hand" ] &&
    [ "$(wc -c < "$W/o2")" = 13 ]' \
    "a line typed at the prompt wins: stdout has it without the newline"

# The same through a real terminal (tmux pty), echo off.
cat > "$W/run-pty.sh" <<EOS
#!/bin/sh
"$AGENT" -c "$W/p.conf" -P "\$(tty)" > "$W/o3" 2> "$W/e3"
echo \$? > "$W/rc3"
EOS
chmod +x "$W/run-pty.sh"
sock=$W/tmux.sock
tmux -S "$sock" new-session -d -x 100 -y 20 "$W/run-pty.sh; sleep 30"
wait_for "tmux -S '$sock' capture-pane -p | grep -q 'Please unlock disk'" 10
tmux -S "$sock" send-keys 'secret at the tty' Enter
wait_for "[ -s '$W/rc3' ]" 10
screen=$(tmux -S "$sock" capture-pane -p)
tmux -S "$sock" kill-server 2>/dev/null
ok '[ "$(cat "$W/rc3" 2>/dev/null)" = 0 ] &&
    [ "$(cat "$W/o3")" = "secret at the tty" ]' \
    "typed at a real terminal (tmux): the passphrase wins"
ok 'echo "$screen" | grep -q "Please unlock disk" &&
    ! echo "$screen" | grep -q "secret at the tty"' \
    "the prompt is shown and the typed passphrase is not echoed"

# A signal ends the wait cleanly (exit 4), terminal restored.
spawn -o /dev/null e4 "$AGENT" -c "$W/down.conf" -g 0
apid=$!
sleep 0.5
stop $apid
rc=$?
ok '[ $rc = 4 ]' "SIGTERM: exit 4 (cancelled)"

# ask-password mode against systemd's own systemd-ask-password, in a
# mount namespace with a private /run/systemd/ask-password.
printf 'asked by systemd' > "$W/pass"
seal "$W/k" "$W/pass" "$W/blob"
P1=$(free_port)
start_mandos "$W/m1" "$P1" "$W/blob" "$BOOT_KEYID" "$BOOT_FPR"
boot_conf "$W/a.conf" "$W/k" "mdns = no" "give-up = 20s"
printf '[mandos m1]\naddress = 127.0.0.1:%s\n' "$P1" >> "$W/a.conf"
cat > "$W/ask.sh" <<EOS
#!/bin/sh
mkdir -p /run/systemd/ask-password
mount -t tmpfs tmpfs /run/systemd/ask-password || exit 9
systemd-ask-password --no-tty --timeout=20 -n \
    --id=cryptsetup:/dev/disk/by-uuid/1234 \
    "Please enter passphrase for disk root (luks-1234):" > "$W/asked" &
ask=\$!
"$AGENT" -a -c "$W/a.conf" 2> "$W/e5"
echo \$? > "$W/rc5"
wait \$ask
echo \$? > "$W/rcask"
EOS
chmod +x "$W/ask.sh"
unshare --mount --propagation private "$W/ask.sh"
ok '[ "$(cat "$W/rc5")" = 0 ] && [ "$(cat "$W/rcask")" = 0 ] &&
    [ "$(cat "$W/asked")" = "asked by systemd" ]' \
    "ask-password mode: systemd-ask-password receives the passphrase"
ok 'grep -q "answering cryptsetup:/dev/disk/by-uuid/1234 with blob luks-1234" "$W/e5"' \
    "the request's luks-UUID names the blob (reported)"

finish
