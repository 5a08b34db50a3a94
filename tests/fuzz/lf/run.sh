#!/bin/bash
# make fuzz: runs each libFuzzer harness (tests/fuzz/lf/, NOTES "Fuzzing")
# for SECONDS: first the committed regression inputs (tests/fuzz/regress/),
# then 3/4 of the time in repair mode and 1/4 in raw mode, on a corpus kept
# in FUZZ_BUILD/corpus/NAME and the seed images of make-seeds.sh.  Prints
# one line per run with executions, corpus size and peak memory, and a
# total.  Exit 1 if a harness crashed (the input is kept as
# FUZZ_BUILD/artifacts/NAME-crash-..., reproduce with
# `FUZZ_BUILD/fuzz/fuzz-NAME FILE`) or the seeds cannot be made.
#
# Usage: tests/fuzz/lf/run.sh BUILD FUZZ_BUILD SECONDS
set -u
cd "$(dirname "$0")/../../.." || exit 2
[ $# = 3 ] || { echo "usage: run.sh BUILD FUZZ_BUILD SECONDS" >&2; exit 2; }
BUILD=$1 FB=$2 TIME=$3
SEEDS=$FB/seeds
LOGS=$FB/logs
# under the tests' subreaper: fds 0-2 only, and whatever a failed dump
# leaves of a program's tree is killed and reaped when the script ends
"$BUILD/tests/progs/subreaper" -t 300 tests/fuzz/lf/make-seeds.sh "$BUILD" "$SEEDS" || exit 1
mkdir -p "$LOGS" "$FB/artifacts"
failed=0 total=0

# stat NAME LOG: the value of libFuzzer's final stat NAME in LOG (0 if none).
stat()
{
	sed -n "s/^stat::$1: *//p" "$2" | tail -n 1 | grep . || echo 0
}

# fuzz NAME MODE SECONDS: one libFuzzer run; counts and reports it.
fuzz()
{
	local name=$1 mode=$2 secs=$3 log=$LOGS/$1-$2.log st execs
	mkdir -p "$FB/corpus/$name"
	VXCR_FUZZ_MODE=$mode "$FB/fuzz/fuzz-$name" -max_total_time="$secs" -timeout=25 \
		-rss_limit_mb=2560 -max_len=262144 -print_final_stats=1 \
		-artifact_prefix="$FB/artifacts/$name-" "$FB/corpus/$name" "$SEEDS" \
		>"$log" 2>&1
	st=$?
	execs=$(stat number_of_executed_units "$log")
	total=$((total + execs))
	printf 'fuzz: %-8s %-6s %4ss %9s execs, corpus %5s, peak %4s MB%s\n' "$name" "$mode" \
		"$secs" "$execs" "$(ls "$FB/corpus/$name" | wc -l)" \
		"$(stat peak_rss_mb "$log")" "$([ $st = 0 ] || echo ", FAILED (exit $st)")"
	if [ $st != 0 ]; then
		failed=1
		grep -E '^(==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written|.*runtime error)' \
			"$log" | head -n 8
		echo "  log: $log"
	fi
}

for name in reader img-text plan; do
	bin=$FB/fuzz/fuzz-$name
	regress=(tests/fuzz/regress/*)
	if [ -e "${regress[0]}" ]; then
		if ! "$bin" "${regress[@]}" >"$LOGS/$name-regress.log" 2>&1; then
			echo "fuzz: $name: a regression input fails again (log $LOGS/$name-regress.log)"
			failed=1
		fi
	fi
	fuzz "$name" repair $((TIME * 3 / 4))
	fuzz "$name" raw $((TIME - TIME * 3 / 4))
done
echo "fuzz: $total executions in total$([ $failed = 0 ] && echo ", no crash" || echo ", FAILED")"
exit $failed
