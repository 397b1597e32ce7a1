#!/bin/sh
# test-tpm.sh: runs test-tpm (tpm.c) against two software TPMs (swtpm,
# tests/lib-swtpm.sh), one the machine's and one another machine's, and a
# TCP listener that never answers and one that stops answering after
# the TCTI has started (hung TPMs). Everything it starts is
# stopped by PID on exit. Speaks TAP (the C program's).
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
prog=$top_builddir/tests/unit/test-tpm

bail() {
	echo "Bail out! $*"
	exit 1
}

missing=
for cmd in swtpm tpm2_pcrextend certtool python3; do
	command -v "$cmd" >/dev/null 2>&1 || missing="$missing $cmd"
done
if [ -n "$missing" ]; then
	# In CI nothing may skip.
	[ "${CI:-}" = true ] && bail "needs$missing"
	echo "1..0 # SKIP needs$missing"
	exit 0
fi
[ -x "$prog" ] || bail "$prog not built"

. "$top_srcdir/tests/lib-swtpm.sh"

dir=$(mktemp -d "${TMPDIR:-/tmp}/pktpm.XXXXXX") || bail "mktemp failed"
silent=""
cleanup() {
	swtpm_stop "$dir/tpm-a"
	swtpm_stop "$dir/tpm-b"
	if [ -n "$silent" ]; then
		kill "$silent" 2>/dev/null
		wait "$silent" 2>/dev/null
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

swtpm_start "$dir/tpm-a" || bail "swtpm did not start"
tcti_a=$SWTPM_TCTI
swtpm_start "$dir/tpm-b" || bail "the second swtpm did not start"
tcti_b=$SWTPM_TCTI
# Two hung TPMs: the swtpm TCTI connects to a data port P and a control
# port P + 1. "silent" answers on neither; "mute" passes its control
# channel to tpm-a (so the TCTI starts) but never answers a command.
python3 -c '
import select, socket, sys, threading
def pair():
    while True:
        a = socket.socket()
        a.bind(("127.0.0.1", 0))
        b = socket.socket()
        try:
            b.bind(("127.0.0.1", a.getsockname()[1] + 1))
            a.listen(8)
            b.listen(8)
            return a, b
        except OSError:
            a.close()
            b.close()
def pipe(x, y):
    while True:
        d = x.recv(4096)
        if not d:
            break
        y.sendall(d)
silent = pair()
mute = pair()
print(silent[0].getsockname()[1], mute[0].getsockname()[1], flush=True)
conns = []
while True:
    for s in select.select(list(silent) + list(mute), [], [])[0]:
        c, _ = s.accept()
        conns.append(c)
        if s is mute[1]:
            u = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
            conns.append(u)
            threading.Thread(target=pipe, args=(c, u), daemon=True).start()
            threading.Thread(target=pipe, args=(u, c), daemon=True).start()
' "$((${tcti_a##*port=} + 1))" > "$dir/hung.ports" &
silent=$!
i=0
while [ ! -s "$dir/hung.ports" ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
read -r silent_port mute_port < "$dir/hung.ports"

PK_TEST_TCTI=$tcti_a PK_TEST_TCTI_OTHER=$tcti_b \
    PK_TEST_SILENT_PORT=$silent_port PK_TEST_MUTE_PORT=$mute_port "$prog"
