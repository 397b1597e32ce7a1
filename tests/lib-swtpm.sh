# lib-swtpm.sh: software TPMs 2.0 (Debian's swtpm) for tests (sourced,
# sh or bash, after the driver tests/lib-tap.sh: every process here is
# spawned, so the driver stops it at exit; needs swtpm, python3, and
# tpm2-tools for swtpm_pcr_extend).
#
#	swtpm_start DIR [NS]      a TPM whose state lives in DIR (made if
#	                          missing: a fresh TPM; kept: the same TPM
#	                          rebooted, PCRs reset) on two free TCP ports
#	                          of 127.0.0.1 (in network namespace NS, if
#	                          given); sets SWTPM_TCTI ("swtpm:host=
#	                          127.0.0.1,port=P", the TCTI string peerkey
#	                          takes), SWTPM_PORT, SWTPM_PID (also in
#	                          DIR/swtpm.pid); its log is DIR/swtpm.log
#	swtpm_start_qemu DIR SOCK the same TPM state for qemu: the control
#	                          channel on the unix socket SOCK
#	                          (-chardev socket,path=SOCK -tpmdev emulator)
#	swtpm_stop DIR            stops what was started for DIR (its PID)
#	swtpm_hung_start DIR TCTI two hung TPMs in one process (swtpm_stop
#	                          DIR stops it): SWTPM_SILENT_PORT answers on
#	                          neither of its ports, SWTPM_MUTE_PORT passes
#	                          its control channel to the TPM at TCTI (so
#	                          the TCTI starts) and never answers a command
#	swtpm_pcr_extend TCTI PCR [NS]
#	                          extends PCR of the SHA-256 bank (as a boot
#	                          step that measured something else would)
#
# A TPM for the TCP ports starts already initialised (--flags
# not-need-init,startup-clear), as firmware would leave it; qemu
# initialises its own. The state directory is the TPM's identity: a key
# made by one cannot be loaded by another.

# swtpm__free_ports [NS]: a port P with P and P + 1 free on 127.0.0.1.
swtpm__free_ports() {
	${1:+ip netns exec "$1"} python3 -c '
import socket
for _ in range(100):
    a = socket.socket()
    a.bind(("127.0.0.1", 0))
    p = a.getsockname()[1]
    b = socket.socket()
    try:
        b.bind(("127.0.0.1", p + 1))
    except OSError:
        continue
    print(p)
    break
'
}

# swtpm__settled PID PORT [NS]: PID has exited, or its PORT answers.
swtpm__settled() {
	_tap_alive "$1" || return 0
	${3:+ip netns exec "$3"} python3 -c '
import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()
' "$2" 2>/dev/null
}

swtpm_start() {
	_sw_dir=$1
	_sw_ns=${2:-}
	mkdir -p "$_sw_dir" || return 1
	chmod 700 "$_sw_dir"
	_sw_try=0
	while [ $_sw_try -lt 5 ]; do
		_sw_try=$((_sw_try + 1))
		SWTPM_PORT=$(swtpm__free_ports "$_sw_ns")
		[ -n "$SWTPM_PORT" ] || return 1
		spawn "swtpm-$(basename "$_sw_dir")" \
		    ${_sw_ns:+ip netns exec "$_sw_ns"} swtpm socket --tpm2 \
		    --tpmstate "dir=$_sw_dir" \
		    --server "type=tcp,port=$SWTPM_PORT,bindaddr=127.0.0.1" \
		    --ctrl "type=tcp,port=$((SWTPM_PORT + 1)),bindaddr=127.0.0.1" \
		    --flags not-need-init,startup-clear \
		    --log "file=$_sw_dir/swtpm.log"
		SWTPM_PID=$!
		echo "$SWTPM_PID" >"$_sw_dir/swtpm.pid"
		SWTPM_TCTI="swtpm:host=127.0.0.1,port=$SWTPM_PORT"
		# Ready when its port answers; gone if the port was taken.
		wait_for "swtpm__settled $SWTPM_PID $SWTPM_PORT $_sw_ns" 10
		_tap_alive "$SWTPM_PID" && return 0
		swtpm_stop "$_sw_dir"
	done
	return 1
}

swtpm_start_qemu() {
	mkdir -p "$1" || return 1
	chmod 700 "$1"
	rm -f "$2"
	spawn "swtpm-$(basename "$1")" swtpm socket --tpm2 \
	    --tpmstate "dir=$1" --ctrl "type=unixio,path=$2" \
	    --flags startup-clear --log "file=$1/swtpm.log"
	SWTPM_PID=$!
	echo "$SWTPM_PID" >"$1/swtpm.pid"
	wait_for "[ -S '$2' ]" 10
}

swtpm_stop() {
	_sw_pid=$(cat "$1/swtpm.pid" 2>/dev/null) || return 0
	rm -f "$1/swtpm.pid"
	[ -z "$_sw_pid" ] || stop "$_sw_pid" >/dev/null 2>&1
	return 0
}

swtpm_pcr_extend() {
	${3:+ip netns exec "$3"} tpm2_pcrextend -T "$1" \
	    "$2:sha256=$(printf 'peerkey test: PCR %s changed' "$2" |
	    sha256sum | cut -c1-64)"
}

# The swtpm TCTI connects to a data port P and a control port P + 1.
swtpm_hung_start() {
	mkdir -p "$1" || return 1
	rm -f "$1/ports"
	spawn -o "$1/ports" "hung-$(basename "$1")" python3 -c '
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
' "$((${2##*port=} + 1))"
	echo $! >"$1/swtpm.pid"
	wait_for "[ -s '$1/ports' ]" 10 || return 1
	read -r SWTPM_SILENT_PORT SWTPM_MUTE_PORT <"$1/ports"
}
