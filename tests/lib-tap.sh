# lib-tap.sh: the TAP driver shared by the shell test libraries of
# tests/boot, tests/interop and tests/vm (sourced, POSIX sh). The sourcing
# library sets $W (its scratch directory) and its own cleanup trap, which
# stops the PIDs spawn() collects in $PIDS.
#
#	ok "test command" "what"    one TAP line per check (eval'd)
#	diag [FILE...]              FILEs (their last 60 lines), or stdin,
#	                            as TAP comments
#	skip_all REASON             "1..0 # SKIP" the file; under CI=true a
#	                            bail-out instead: nothing may skip
#	bail REASON                 "Bail out!" and exit 1
#	finish                      the plan line; exit status = any failure
#	spawn NAME CMD...           CMD in the background, output in
#	                            $W/NAME.log, PID in $PIDS and PID_NAME
#	wait_for CMD [SECONDS]      polls CMD every 0.1 s (default 10 s)

T=0
FAILED=0
PIDS=""

ok() {
	T=$((T + 1))
	if eval "$1"; then
		echo "ok $T - $2"
	else
		echo "not ok $T - $2"
		FAILED=$((FAILED + 1))
	fi
}

diag() {
	if [ $# -eq 0 ]; then
		sed 's/^/# /'
		return 0
	fi
	for _f in "$@"; do
		echo "# --- $_f"
		sed 's/^/# /' "$_f" 2>/dev/null | tail -n 60
	done
}

skip_all() {
	if [ "${CI:-}" = true ]; then
		echo "Bail out! $* (CI=true: nothing may skip)"
		exit 1
	fi
	echo "1..0 # SKIP $*"
	exit 0
}

bail() {
	echo "Bail out! $*"
	exit 1
}

finish() {
	echo "1..$T"
	[ "$FAILED" = 0 ]
	exit $?
}

spawn() {
	_name=$1
	shift
	"$@" > "$W/$_name.log" 2>&1 &
	PIDS="$PIDS $!"
	eval "PID_$_name=$!"
}

wait_for() {
	_i=0
	_max=$(( ${2:-10} * 10 ))
	while ! eval "$1" >/dev/null 2>&1; do
		_i=$((_i + 1))
		[ $_i -ge $_max ] && return 1
		sleep 0.1
	done
	return 0
}
