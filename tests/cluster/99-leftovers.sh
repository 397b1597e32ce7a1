#!/bin/bash
# 99-leftovers.sh: the end of the cluster suite. Runs after every other
# cluster test (Makefile.am makes its log depend on theirs) and checks that
# the suite left nothing behind on this machine: no network namespace of a
# cluster test whose shell has exited (lib.sh names them pk<PID>sw and
# pk<PID>h<N>), and no process whose command line names a cluster
# directory (pkcluster.XXXXXX, removed by the test's cleanup) that is gone.
# A cluster test still running elsewhere (another build tree) has a live
# shell and an existing directory, and is left alone. Each scenario's
# cl_done checks its own leftovers too; this also catches a scenario that
# bailed out, or was killed, before it got there.
set -u
. "$(dirname "$0")/../lib-tap.sh"

# stale_namespaces: cluster namespaces whose test shell has exited.
stale_namespaces() {
	local ns pid
	for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
		pid=$(echo "$ns" | sed -n 's/^pk\([0-9][0-9]*\)\(sw\|h[0-9][0-9]*\)$/\1/p')
		[ -n "$pid" ] || continue
		kill -0 "$pid" 2>/dev/null && continue
		echo "$ns"
	done
}

# stale_processes: processes naming a cluster directory that is gone.
stale_processes() {
	local f c dir
	for f in /proc/[0-9]*/cmdline; do
		[ "${f%/cmdline}" = "/proc/$$" ] && continue
		c=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
		for dir in $(echo "$c" |
		    grep -o '/[^ ]*/pkcluster\.[A-Za-z0-9]\{6\}' | sort -u); do
			[ -d "$dir" ] || echo "${f%/cmdline}: $c"
		done
	done
}

left=$(stale_namespaces)
[ -z "$left" ] || echo "# left behind:" $left
ok '[ -z "$left" ]' "the suite left no network namespace behind"
left=$(stale_processes)
[ -z "$left" ] || echo "$left" | sed 's/^/# left behind: /'
ok '[ -z "$left" ]' "the suite left no process behind"
finish
