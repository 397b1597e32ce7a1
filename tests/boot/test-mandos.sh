#!/bin/sh
# test-mandos.sh: peerkey-boot in Mandos mode against Debian's real mandos
# server on loopback: the passphrase it prints opens a LUKS2 image; it
# works with the clock at 1970; a server that does not know our key gives
# nothing and the agent gives up on time; peers that are down, drop SYNs
# or accept and stay silent do not delay the one that answers.
. "$(dirname "$0")/lib-boot.sh"
need mandos certtool gpg cryptsetup faketime python3 nft ip dbus-daemon
need_root

boot_keys "$W/k"
printf 'correct horse battery staple' > "$W/pass"
seal "$W/k" "$W/pass" "$W/blob"
stop_gpg_agents "$W/k/gpg"
P1=$(free_port)
start_mandos "$W/m1" "$P1" "$W/blob" "$BOOT_KEYID" "$BOOT_FPR"
rc=$?
ok '[ $rc = 0 ]' "real mandos server started on port $P1"

boot_conf "$W/boot.conf" "$W/k" "mdns = no" "prompt = no" "give-up = 30s"
printf '[mandos m1]\naddress = 127.0.0.1:%s\n' "$P1" >> "$W/boot.conf"

"$AGENT" -n -c "$W/boot.conf" 2> "$W/n.err"
rc=$?
ok '[ $rc = 0 ] && grep -q "configuration OK (1 address, boot key $BOOT_KEYID)" "$W/n.err"' \
    "-n checks the configuration and names the boot key id"

"$AGENT" -c "$W/boot.conf" > "$W/out" 2> "$W/err"
rc=$?
ok '[ $rc = 0 ] && cmp -s "$W/out" "$W/pass"' \
    "mandos server: passphrase on stdout, exactly, exit 0"
ok 'grep -q "^peerkey-boot: m1: passphrase received" "$W/err" &&
    ! grep -q "correct horse" "$W/err"' \
    "progress on stderr names the peer and never the passphrase"
[ $rc = 0 ] || diag "$W/err"

# The printed passphrase opens a real LUKS2 image.
truncate -s 20M "$W/disk.img"
cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 \
    --pbkdf-force-iterations 1000 --key-file "$W/pass" "$W/disk.img"
"$AGENT" -c "$W/boot.conf" 2>/dev/null |
    cryptsetup open --test-passphrase --key-file=- "$W/disk.img"
rc=$?
ok '[ $rc = 0 ]' "the agent's output opens the LUKS2 image (cryptsetup --test-passphrase)"
printf 'wrong' | cryptsetup open --test-passphrase --key-file=- \
    "$W/disk.img" 2>/dev/null
rc=$?
ok '[ $rc != 0 ]' "and a wrong passphrase does not (the check can fail)"

# The clock reads 1970: the keys were made "in the future".
FAKETIME_DONT_FAKE_MONOTONIC=1 faketime '1970-01-02 00:00:00' \
    "$AGENT" -c "$W/boot.conf" > "$W/out70" 2> "$W/err70"
rc=$?
ok '[ $rc = 0 ] && cmp -s "$W/out70" "$W/pass"' \
    "works with the clock at 1970 (faketime)"
[ $rc = 0 ] || diag "$W/err70"

# A Mandos server that does not know our key sends nothing.
boot_keys "$W/other"
P2=$(free_port)
start_mandos "$W/m2" "$P2" "$W/blob" "$(cat "$W/other/keyid")" \
    "$(cat "$W/other/fpr")"
stop_gpg_agents "$W/other/gpg"
boot_conf "$W/b2.conf" "$W/k" "mdns = no" "prompt = no" "give-up = 3s" \
    "retry-min = 500ms"
printf '[mandos m2]\naddress = 127.0.0.1:%s\n' "$P2" >> "$W/b2.conf"
timed timeout 20 "$AGENT" -c "$W/b2.conf" > "$W/out2" 2> "$W/err2"
ok '[ $rc = 1 ] && [ ! -s "$W/out2" ]' \
    "unknown to the server: nothing on stdout, exit 1 (gave up)"
ok 'grep -q "m2: refused (Mandos sends nothing" "$W/err2" &&
    grep -q "giving up after 3 s" "$W/err2"' \
    "says the server refused, then that it gives up"
ok '[ $rc != 124 ]' \
    "gives up by itself, no hang (3 s asked, took ${el} ms; killed at 20 s)"

# First wins: one down, one dropping SYNs, one silent, one good.
start_slow
slow_conf "$W/b3.conf" "$W/k" mandos
printf '[mandos good]\naddress = 127.0.0.1:%s\n' "$P1" >> "$W/b3.conf"
timed timeout 25 "$AGENT" -c "$W/b3.conf" > "$W/out3" 2> "$W/err3"
ok '[ $rc = 0 ] && cmp -s "$W/out3" "$W/pass"' \
    "first wins among a down, a SYN-dropping, a silent and a good server"
ok '[ $rc != 124 ]' \
    "the slow ones are not waited for: done before their 30 s timeouts (${el} ms)"
ok 'grep -q "down: unreachable (Connection refused)" "$W/err3"' \
    "the down peer is reported"
[ $rc = 0 ] || diag "$W/err3"

# Timeouts of the slow ones, when nobody answers.
boot_conf "$W/b4.conf" "$W/k" "mdns = no" "prompt = no" "give-up = 4s" \
    "connect-timeout = 1s" "exchange-timeout = 1s" "retry-min = 5s"
cat >> "$W/b4.conf" <<EOC
[mandos dropper]
address = $DROP_ADDR:4141
[mandos silent]
address = 127.0.0.1:$PS
EOC
"$AGENT" -c "$W/b4.conf" > "$W/out4" 2> "$W/err4"
rc=$?
ok '[ $rc = 1 ] &&
    grep -q "dropper: no answer to connect ($DROP_ADDR port 4141)" "$W/err4" &&
    grep -q "silent: connected (127.0.0.1 port $PS) but silent" "$W/err4"' \
    "a SYN-dropper and a silent peer are cut by their timeouts and named"
[ $rc = 1 ] && grep -q "dropper: no answer" "$W/err4" &&
    grep -q "silent: connected" "$W/err4" || diag "$W/err4"

# No process left behind: no gpg-agent of ours, no agent.
ok '! pgrep -f "$W/peerkey-boot" >/dev/null && ! pgrep -f "gpg-agent.*$W" >/dev/null' \
    "no gpg-agent or agent process left behind"
ok '[ -z "$(ls -d "$W"/peerkey-boot.* 2>/dev/null)" ]' \
    "the private work directory is removed"

finish
