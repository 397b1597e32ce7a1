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
cleanup() {
	swtpm_stop "$dir/hung"
	swtpm_stop "$dir/tpm-a"
	swtpm_stop "$dir/tpm-b"
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

swtpm_start "$dir/tpm-a" || bail "swtpm did not start"
tcti_a=$SWTPM_TCTI
swtpm_start "$dir/tpm-b" || bail "the second swtpm did not start"
tcti_b=$SWTPM_TCTI
swtpm_hung_start "$dir/hung" "$tcti_a" || bail "the hung TPMs did not start"

PK_TEST_TCTI=$tcti_a PK_TEST_TCTI_OTHER=$tcti_b \
    PK_TEST_SILENT_PORT=$SWTPM_SILENT_PORT PK_TEST_MUTE_PORT=$SWTPM_MUTE_PORT \
    "$prog"
