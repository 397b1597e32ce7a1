#!/bin/sh
# run.sh SECONDS [NAME...]: a fuzzing campaign, from a build configured
# with CC=clang --enable-fuzzing (run it there, or from "make fuzz").
# Each target NAME (default: all) runs SECONDS on a scratch corpus under
# $FUZZ_WORK (default /var/tmp/peerkey-fuzz), kept between campaigns and
# seeded from the read-only tests/fuzz/NAME.in and NAME.repro, with its
# dictionary and the max_len its largest valid input needs. One line per
# target: executions, coverage (edges), features, corpus size, findings.
# A finding (crash, leak, timeout, sanitizer report) is written to
# $FUZZ_WORK/NAME-crash-*; the run then exits 1. Targets run one after
# the other (single job), so a 2-core machine keeps a core for others;
# run it under nice.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
secs=${1:?usage: run.sh SECONDS [NAME...]}
shift
[ $# -gt 0 ] || set -- line frame conf mandos-conf invite luks-token addr \
    boot-conf session control ident sblob share
# fuzz-tpmkey exists in --with-tpm builds only.
[ $# -gt 13 ] || [ ! -x ./tests/fuzz/fuzz-tpmkey ] || set -- "$@" tpmkey
work=${FUZZ_WORK:-/var/tmp/peerkey-fuzz}
mkdir -p "$work"
fz=$top_srcdir/tests/fuzz
bad=0

# What each target needs: max_len (its largest valid input, plus room
# for the mutator to go past it) and dictionary.
params() {
	case $1 in
	line)		echo 64 "" ;;
	frame)		echo 1100000 frame.dict ;;	# PK_MSG_LEN_MAX + 4
	session)	echo 1100000 frame.dict ;;
	conf|mandos-conf|boot-conf)
			echo 65536 conf.dict ;;
	invite)		echo 65536 json.dict ;;		# PK_DOC_MAX 49152
	luks-token)	echo 65536 json.dict ;;
	control)	echo 300000 json.dict ;;	# a control line: 256 KiB
	addr)		echo 4096 "" ;;
	ident)		echo 26000 "" ;;		# PK_IDENT_MAX 25301
	sblob)		echo 33000 "" ;;		# PK_BLOB_MAX + 1
	*)		echo 4096 "" ;;
	esac
}

for n in "$@"; do
	bin=./tests/fuzz/fuzz-$n
	[ -x "$bin" ] || { echo "run.sh: $bin not built" >&2; exit 2; }
	p=$(params "$n")
	maxlen=${p%% *} dict=${p#* }
	mkdir -p "$work/$n"
	seeds=$fz/$n.in
	[ ! -d "$fz/$n.repro" ] || seeds="$seeds $fz/$n.repro"
	log=$work/$n.log
	# shellcheck disable=SC2086
	if "$bin" -max_total_time="$secs" -max_len="$maxlen" \
	    ${dict:+-dict="$fz/$dict"} -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="$work/$n-" \
	    "$work/$n" $seeds >"$log" 2>&1; then
		st=ok
	else
		st=FINDING
		bad=1
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	line=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' \
	    "$log" | tail -n 1)
	cov=$(printf '%s\n' "$line" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(printf '%s\n' "$line" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(printf '%s\n' "$line" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
	printf '%-12s %s  %ss  execs %s  cov %s  ft %s  corpus %s\n' \
	    "$n" "$st" "$secs" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
	    "${corp:-?}"
	[ "$st" = ok ] || tail -n 40 "$log" | sed 's/^/    /'
done
exit $bad
