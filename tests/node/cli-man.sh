#!/bin/sh
# cli-man.sh: the manual pages say what the programs do: peerkey(8) names
# every command "peerkey --help" lists and no other, every option of each
# command's usage ("peerkey COMMAND --help"), every exit status of
# peerkey.h, and, with peerkeyd(8), every event kind the daemon records;
# every page has an EXIT STATUS section and groff warns about none
# (lintian's groff-message).
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/tests/node/lib-cli.sh"

DOC=$top_builddir/doc
PAGES="peerkey.8 peerkeyd.8 peerkey-boot.8 peerkey.conf.5"
plan 10

# text PAGE: the page as man shows it, wide (no line is broken).
text() {
	MANWIDTH=4000 man -l "$DOC/$1" 2>/dev/null
}

w=""
for p in $PAGES; do
	[ -f "$DOC/$p" ] || fatal "$DOC/$p is not built"
	for width in 80 120 200; do
		[ -z "$(MANWIDTH=$width man --warnings -l "$DOC/$p" 2>&1 \
		    >/dev/null)" ] || w="$w $p@$width"
	done
done
is "$w" "" "groff warns about no page (80, 120 and 200 columns)"
m=""
for p in $PAGES; do
	text "$p" | grep -q '^EXIT STATUS' || m="$m $p"
done
is "$m" "" "every page has EXIT STATUS"

# The commands: --help's list, and the tags of COMMANDS in peerkey(8).
"$PEERKEY" --help | sed -n 's/^  \([a-z-]*\) .*/\1/p' | sort >"$W/help"
text peerkey.8 | sed -n '/^COMMANDS/,/^[A-Z]/p' |
    sed -n 's/^       \([a-z]\)/\1/p' | tr ',' ' ' |
    awk '{ for (i = 1; i <= NF; i++) { if ($i !~ /^[a-z][a-z-]*$/) break;
	print $i } }' | grep -v '^\(add\|name\|device\|this\|code\)$' |
    sort -u >"$W/man"
is "$(comm -23 "$W/help" "$W/man" | tr '\n' ' ')" "" \
    "every command of peerkey --help is in peerkey(8), COMMANDS"
is "$(comm -13 "$W/help" "$W/man" | tr '\n' ' ')" "" \
    "...and peerkey(8) has no command that --help lacks"
test -s "$W/help" && [ "$(wc -l <"$W/help")" -ge 20 ] &&
    pass "--help lists the commands ($(wc -l <"$W/help"))" ||
    fail "--help lists the commands"

# Every option of every command's usage, in peerkey(8).
text peerkey.8 >"$W/page"
o=""
for c in $(cat "$W/help"); do
	for opt in $("$PEERKEY" "$c" --help | sed -n 's/^usage: //p;
	    s/^       peer /peer /p' | grep -o -- '--[a-z][a-z-]*' | sort -u); do
		grep -q -- "$opt\\b" "$W/page" || o="$o $c:$opt"
	done
done
is "$o" "" "every option of every command's usage is in peerkey(8)"
for opt in -j --json -d --dir -s; do
	text peerkey.8 | sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' |
	    grep -q -- "$opt\\b" || o="$o $opt"
done
is "$o" "" "the global options are in the SYNOPSIS"

# Exit statuses: peerkey.h's EXIT_* values, each an entry of EXIT STATUS.
e=""
for n in $(sed -n 's/^#define EXIT_[A-Z]*[[:space:]]*\([0-9]*\).*/\1/p' \
    "$top_srcdir/src/cli/peerkey.h"); do
	text peerkey.8 | sed -n '/^EXIT STATUS/,/^ENVIRONMENT/p' |
	    grep -q "^       $n  " || e="$e $n"
done
is "$e" "" "every exit status of peerkey.h is in peerkey(8), EXIT STATUS"

# Event kinds: STORE_EVENT_KINDS (what "events --kind" takes).
kinds=$(sed -n '/^#define STORE_EVENT_KINDS/,/[^\\]$/p' \
    "$top_srcdir/src/node/store.h" | grep -o '"[^"]*"' | tr -d '"')
k=""
for kind in $kinds; do
	text peerkey.8 | grep -q -- "\\b$kind\\b" || k="$k peerkey.8:$kind"
	text peerkeyd.8 | grep -q -- "\\b$kind\\b" || k="$k peerkeyd.8:$kind"
done
is "$k" "" "every event kind is in peerkey(8) and peerkeyd(8)"
ok '[ "$(echo $kinds | wc -w)" -ge 18 ]' "the kinds were read ($(echo $kinds | wc -w))"

finish
