# lib-tap.sh: the one driver of peerkey's shell tests, after OpenSSH's
# regress/test-exec.sh: every helper means the same thing in every suite
# (tests/node, tests/boot, tests/interop, tests/cluster, tests/vm,
# tests/unit/test-announce.sh) and in bench/run.sh. Sourced (POSIX sh or
# bash) before anything else: it makes the test's work directory $W and
# sets the exit trap. A suite library adds only what is its own (nodes,
# clusters, VM boots) and uses these helpers for the rest.
#
# TAP. A check's description always comes last.
#	plan N                 the plan, first (else finish prints it last)
#	ok COND DESC           "ok" when the shell condition COND holds: COND
#	                       is eval'd (it sees the caller's variables, not
#	                       its positional parameters)
#	is GOT WANT DESC       "ok" when the strings are equal; else both shown
#	like GOT ERE DESC      "ok" when GOT matches the grep -E pattern ERE
#	unlike GOT ERE DESC    "ok" when it does not
#	pass DESC / fail DESC  an "ok" / a "not ok" line, nothing evaluated
#	diag [FILE...]         the FILEs (their last 60 lines), or stdin, as
#	                       "# " comments
#	skip REASON            the whole file is skipped: "1..0 # SKIP REASON",
#	                       exit 0 (automake's TAP driver counts exit 77 as
#	                       an error); under CI=true a bail-out instead,
#	                       since there nothing may skip
#	need CMD...            skip unless every CMD is installed
#	need_root              skip unless running as root
#	fatal REASON           "Bail out! REASON", exit 1: the file cannot
#	                       go on
#	finish                 the plan (unless given), then exit: 0 when every
#	                       check passed and the plan was kept, else 1
#	FAILED                 how many checks failed so far
#
# Processes. Only what spawn started is ever signalled, by its PID, and
# only while it is still this shell's child.
#	spawn [-o OUT] NAME CMD...
#	                       CMD in the background (stdin /dev/null), its
#	                       output appended to $W/NAME.log (NAME may name a
#	                       subdirectory: "h1/peerkeyd"); with -o, stdout
#	                       to the file OUT instead. CMD must be a program,
#	                       not a shell function, so that the PID is the
#	                       program's: it is in $! and in PID_NAME (NAME's
#	                       "/", "." and "-" as "_")
#	stop PID [SIG]         SIG (default TERM) to PID and its children,
#	                       then waits for it (KILL after 30 s); a child
#	                       that outlives it gets KILL; returns its exit
#	                       status
#	stop_all               stop every spawned process still running (and
#	                       the children they had, as stop does)
#	kill_now SIG PID...    SIG to every PID that is still ours, all at
#	                       once (a power cut), then reaps them
#	reap PID               a spawned PID that has ended on its own:
#	                       waits for it and forgets it; its exit status
#	wait_for COND [SECS]   polls COND (eval'd, output discarded) every
#	                       0.1 s; false when it does not hold within SECS
#	                       (default 10). For hangs, never a pass/fail
#	                       bound on time.
#	free_port              a TCP port free on 127.0.0.1 (nothing listens)
#
# Work directory and exit.
#	W                      the test's own directory, made at source time
#	                       as $TMPDIR/$TAP_PREFIX.XXXXXX (TAP_PREFIX
#	                       defaults to pk-<script name>), mode 755
#	TAP_LOGS               file patterns whose last lines are shown when
#	                       the test fails (expanded at exit)
#	NETNS                  network namespaces of the test's own, deleted
#	                       at exit
#	at_exit CMD            CMD (eval'd) runs at exit, the last added
#	                       first, before the spawned processes are stopped
#	mem_dir DIR            DIR (made) is a tmpfs of its own, mode 700,
#	                       unmounted at exit: a memory filesystem, the
#	                       one kind besides dm-crypt's where peerkey
#	                       keeps a disk's maintenance key (none on an
#	                       unencrypted disk, as $TMPDIR's is here)
#	cleanup                does the exit's work now (once): the logs if
#	                       failing, the at_exit commands, stop_all, the
#	                       namespaces, and removes $W unless KEEP=1
#
# Environment: CI=true turns skips into failures; KEEP=1 keeps $W.

_tap_n=0
FAILED=0
_tap_plan=
_tap_pids=
_tap_exit_cmds=
_tap_done=
TAP_LOGS=${TAP_LOGS:-}
NETNS=${NETNS:-}

plan() {
	_tap_plan=$1
	echo "1..$1"
}

pass() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $*"
}

fail() {
	_tap_n=$((_tap_n + 1))
	FAILED=$((FAILED + 1))
	echo "not ok $_tap_n - $*"
}

ok() {
	if eval "$1"; then
		pass "$2"
	else
		fail "$2"
	fi
}

is() {
	if [ "$1" = "$2" ]; then
		pass "$3"
	else
		fail "$3"
		printf "#   got:  '%s'\n#   want: '%s'\n" "$1" "$2"
	fi
}

like() {
	_tap_like yes "$@"
}

unlike() {
	_tap_like no "$@"
}

# _tap_like yes|no GOT ERE DESC: "ok" when whether GOT matches ERE is
# the first word.
_tap_like() {
	_tap_m=no
	! printf '%s\n' "$2" | grep -Eq -- "$3" || _tap_m=yes
	if [ "$_tap_m" = "$1" ]; then
		pass "$4"
		return 0
	fi
	fail "$4"
	_tap_w="want"
	[ "$1" = yes ] || _tap_w="must not match"
	printf "#   got:  '%s'\n#   %s: /%s/\n" "$2" "$_tap_w" "$3"
}

diag() {
	if [ $# -eq 0 ]; then
		sed 's/^/# /'
		return 0
	fi
	for _tap_f in "$@"; do
		echo "# --- $_tap_f"
		# awk ends the last line too (a console or a monitor log may
		# not): what follows, the plan, must start its own line.
		awk '{ print "# " $0 }' "$_tap_f" 2>/dev/null | tail -n 60
	done
}

fatal() {
	echo "Bail out! $*"
	exit 1
}

skip() {
	[ "${CI:-}" != true ] || fatal "$* (CI=true: nothing may skip)"
	echo "1..0 # SKIP $*"
	exit 0
}

need() {
	for _tap_c in "$@"; do
		command -v "$_tap_c" >/dev/null 2>&1 ||
		    skip "$_tap_c not installed"
	done
}

need_root() {
	[ "$(id -u)" = 0 ] || skip "needs root"
}

finish() {
	[ -n "$_tap_plan" ] || echo "1..$_tap_n"
	[ "$FAILED" = 0 ] && [ "${_tap_plan:-$_tap_n}" = "$_tap_n" ]
	exit $?
}

spawn() {
	_tap_out=
	if [ "$1" = -o ]; then
		_tap_out=$2
		shift 2
	fi
	_tap_name=$1
	shift
	mkdir -p "$(dirname "$W/$_tap_name")"
	if [ -n "$_tap_out" ]; then
		"$@" < /dev/null > "$_tap_out" 2>> "$W/$_tap_name.log" &
	else
		"$@" < /dev/null >> "$W/$_tap_name.log" 2>&1 &
	fi
	_tap_pids="$! $_tap_pids"
	eval "PID_$(printf '%s' "$_tap_name" | tr '/.-' '___')=$!"
}

# _tap_ours PID: PID was spawned and is still this shell's child (so no
# recycled PID is ever signalled).
_tap_ours() {
	case " $_tap_pids " in
	*" $1 "*) ;;
	*) return 1 ;;
	esac
	[ "$(sed 's/^.*) [A-Za-z] \([0-9]*\) .*/\1/' "/proc/$1/stat" \
	    2>/dev/null)" = $$ ]
}

# _tap_alive PID: PID runs (a zombie does not).
_tap_alive() {
	case $(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' \
	    "/proc/$1/status" 2>/dev/null) in
	Z|X|"") return 1 ;;
	esac
	return 0
}

_tap_forget() {
	_tap_left=
	for _tap_p in $_tap_pids; do
		[ "$_tap_p" = "$1" ] || _tap_left="$_tap_left $_tap_p"
	done
	_tap_pids=$_tap_left
}

kill_now() {
	_tap_sig=$1
	shift
	for _tap_p; do
		! _tap_ours "$_tap_p" || kill -"$_tap_sig" "$_tap_p" 2>/dev/null ||
		    :
	done
	for _tap_p; do
		reap "$_tap_p" || :
	done
}

reap() {
	_tap_st=0
	wait "$1" 2>/dev/null || _tap_st=$?
	_tap_forget "$1"
	return $_tap_st
}

# _tap_start PID: PID's start time (clock ticks since boot), or nothing.
_tap_start() {
	sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20
}

# _tap_kids PID: PID's children now, each as CHILD:STARTTIME, so that
# _tap_kill_kids can end those that outlive their parent (a Mandos
# server's child ignores SIGTERM and survives it) without signalling a
# recycled PID.
_tap_kids() {
	for _tap_k in $(pgrep -P "$1" 2>/dev/null); do
		echo "$_tap_k:$(_tap_start "$_tap_k")"
	done
}

_tap_kill_kids() {
	for _tap_k; do
		[ "$(_tap_start "${_tap_k%%:*}")" != "${_tap_k#*:}" ] ||
		    kill -KILL "${_tap_k%%:*}" 2>/dev/null || :
	done
}

stop() {
	_tap_pid=$1
	_tap_sig=${2:-TERM}
	if ! _tap_ours "$_tap_pid"; then
		_tap_forget "$_tap_pid"
		echo "# stop: $_tap_pid is not a process this test spawned" >&2
		return 1
	fi
	_tap_kl=$(_tap_kids "$_tap_pid")
	pkill -"$_tap_sig" -P "$_tap_pid" 2>/dev/null || :
	kill -"$_tap_sig" "$_tap_pid" 2>/dev/null || :
	_tap_i=0
	while _tap_alive "$_tap_pid" && [ $_tap_i -lt 300 ]; do
		sleep 0.1
		_tap_i=$((_tap_i + 1))
	done
	if _tap_alive "$_tap_pid"; then
		pkill -KILL -P "$_tap_pid" 2>/dev/null || :
		kill -KILL "$_tap_pid" 2>/dev/null || :
	fi
	_tap_st=0
	wait "$_tap_pid" 2>/dev/null || _tap_st=$?
	# shellcheck disable=SC2086
	_tap_kill_kids $_tap_kl
	_tap_forget "$_tap_pid"
	return $_tap_st
}

stop_all() {
	_tap_run=
	for _tap_p in $_tap_pids; do
		! _tap_ours "$_tap_p" || _tap_run="$_tap_run $_tap_p"
	done
	# TERM to all (newest first: servers before their bus), KILL to
	# what is left after 5 s.
	_tap_kl=
	for _tap_p in $_tap_run; do
		_tap_kl="$_tap_kl $(_tap_kids "$_tap_p")"
	done
	for _tap_p in $_tap_run; do
		pkill -TERM -P "$_tap_p" 2>/dev/null || :
		kill -TERM "$_tap_p" 2>/dev/null || :
	done
	_tap_i=0
	while [ $_tap_i -lt 50 ]; do
		_tap_left=
		for _tap_p in $_tap_run; do
			! _tap_alive "$_tap_p" || _tap_left="$_tap_left $_tap_p"
		done
		[ -n "$_tap_left" ] || break
		sleep 0.1
		_tap_i=$((_tap_i + 1))
	done
	for _tap_p in $_tap_run; do
		pkill -KILL -P "$_tap_p" 2>/dev/null || :
		kill -KILL "$_tap_p" 2>/dev/null || :
		wait "$_tap_p" 2>/dev/null || :
	done
	# shellcheck disable=SC2086
	_tap_kill_kids $_tap_kl
	_tap_pids=
	return 0
}

wait_for() {
	_tap_i=0
	_tap_max=$((${2:-10} * 10))
	while ! eval "$1" >/dev/null 2>&1; do
		_tap_i=$((_tap_i + 1))
		[ $_tap_i -lt $_tap_max ] || return 1
		sleep 0.1
	done
	return 0
}

free_port() {
	python3 -c 'import socket; s = socket.socket()
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

at_exit() {
	_tap_exit_cmds="$1
$_tap_exit_cmds"
}

mem_dir() {
	mkdir -p "$1" || return 1
	! mountpoint -q "$1" || return 0
	mount -t tmpfs -o size=1m,mode=700 peerkey-test "$1" || return 1
	at_exit "umount -l '$1' 2>/dev/null"
}

# cleanup [RC]: the exit's work; RC, the exit status, says whether the
# test is failing (with FAILED).
cleanup() {
	[ -z "$_tap_done" ] || return 0
	_tap_done=1
	_tap_e=$-
	set +e
	if [ "$FAILED" != 0 ] || [ "${1:-0}" != 0 ]; then
		for _tap_f in $TAP_LOGS; do
			[ ! -s "$_tap_f" ] || diag "$_tap_f"
		done
	fi
	while IFS= read -r _tap_c; do
		[ -z "$_tap_c" ] || eval "$_tap_c"
	done <<EOF
$_tap_exit_cmds
EOF
	stop_all
	for _tap_ns in $NETNS; do
		ip netns del "$_tap_ns" 2>/dev/null
	done
	if [ "${KEEP:-0}" = 1 ]; then
		echo "# kept $W"
	else
		rm -rf "$W"
	fi
	case $_tap_e in *e*) set -e ;; esac
	return 0
}

W=$(mktemp -d \
    "${TMPDIR:-/tmp}/${TAP_PREFIX:-pk-$(basename "$0" .sh)}.XXXXXX") ||
    fatal "mktemp failed"
chmod 755 "$W"
trap 'cleanup $?' EXIT
trap 'exit 1' HUP INT TERM PIPE
