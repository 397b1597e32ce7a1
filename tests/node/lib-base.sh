# tests/node/lib-base.sh: what the daemon's and the command's test
# libraries (lib.sh, lib-cli.sh) both start with: the shell test driver
# tests/lib-tap.sh, the programs under test from the build tree
# (PEERKEYD, PEERKEY, PKTOOL), the nodes' logs shown when a check fails
# (TAP_LOGS) and a PEERKEY_DIR of the test's own. Sourced with
# top_srcdir and top_builddir set.

. "$top_srcdir/tests/lib-tap.sh"
# A peerkey run without -d must not reach the host's configuration
# directory: its default is this test's own.
PEERKEY_DIR=$W/etc-peerkey
export PEERKEY_DIR
TAP_LOGS="$W/*/peerkeyd.log"
PEERKEYD=$top_builddir/src/node/peerkeyd
PEERKEY=$top_builddir/src/cli/peerkey
PKTOOL=$top_builddir/tests/tools/pktool
