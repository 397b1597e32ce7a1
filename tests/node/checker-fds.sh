#!/bin/sh
# checker-fds.sh: a peer without a node key (a Mandos client) is checked
# by its checker command. The command gets stdin and stdout on /dev/null
# and nothing else of the daemon's: none of its sockets (listener,
# control socket, heartbeat and session connections), nor its database.
# The checker here lists the descriptors it was started with; then it
# keeps the peer enabled, as a checker that succeeds does.
_title="a checker command inherits none of the daemon's descriptors"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/node/lib.sh"

start_node a || fatal "cannot start node a"
# A second node a guards, so that a heartbeat connection may be open.
start_node b || fatal "cannot start node b"
keygen "$W/b.boot" >/dev/null
ok 'quiet pk a peer add b --boot-key "$(keyid "$W/b.boot")" \
    --node-key "$(node_keyid b)" --address "$(node_addr b)" \
    --timeout 3s --interval 300ms' "a guards node b"

# The list is made by find, exec'ed so that it holds what the command
# was started with (and the directory it reads).
cat > "$W/chk" <<EOS
#!/bin/sh
[ -s "$W/fds" ] && exit 0
exec find /proc/self/fd/ -mindepth 1 -maxdepth 1 -printf '%f %l\\n' \\
    > "$W/fds"
EOS
chmod 755 "$W/chk"
keygen "$W/m.boot" >/dev/null
ok 'quiet pk a peer add m --boot-key "$(keyid "$W/m.boot")" \
    --timeout 3s --interval 300ms --checker "$W/chk"' \
    "a Mandos-style peer checked by a command"
ok 'wait_for "[ -s \"$W/fds\" ]" 15' "the checker ran"
[ -s "$W/fds" ] && diag "$W/fds"
# Nothing but 0, 1, 2 and the directories find reads: not even what the
# daemon itself inherited from whoever started it.
ok '! grep -q "socket:" "$W/fds"' "the checker holds no socket of the daemon"
ok '! grep -Eq "\.(db|sqlite)|store" "$W/fds"' \
    "the checker holds no descriptor of the database"
# extra: descriptors above 2 but the directories find opened (its
# starting directory, the one it lists: gone once find is).
extra() {
	while read -r _fd _to; do
		case $_to in /proc/*/fd) continue ;; esac
		[ "$_fd" -gt 2 ] && [ ! -d "$_to" ] && echo "$_fd $_to"
	done < "$W/fds"
}
ok '[ -z "$(extra)" ]' "nothing but stdin, stdout and stderr"
ok 'wait_for "state_is a m enabled" 5' "the checker's success keeps m enabled"
finish
