#!/bin/sh
# test-tpm.sh: runs test-tpm (tpm.c) against two software TPMs (swtpm,
# tests/lib-swtpm.sh), one the machine's and one another machine's, and a
# TCP listener that never answers and one that stops answering after
# the TCTI has started (hung TPMs). Everything it starts is spawned and
# stopped by PID at exit (tests/lib-tap.sh). The TAP comes from the C
# program.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
prog=$top_builddir/tests/unit/test-tpm

. "$top_srcdir/tests/lib-tap.sh"
need swtpm tpm2_pcrextend certtool python3
[ -x "$prog" ] || fatal "$prog not built"
. "$top_srcdir/tests/lib-swtpm.sh"

swtpm_start "$W/tpm-a" || fatal "swtpm did not start"
tcti_a=$SWTPM_TCTI
swtpm_start "$W/tpm-b" || fatal "the second swtpm did not start"
tcti_b=$SWTPM_TCTI
swtpm_hung_start "$W/hung" "$tcti_a" || fatal "the hung TPMs did not start"

PK_TEST_TCTI=$tcti_a PK_TEST_TCTI_OTHER=$tcti_b \
    PK_TEST_SILENT_PORT=$SWTPM_SILENT_PORT PK_TEST_MUTE_PORT=$SWTPM_MUTE_PORT \
    "$prog"
