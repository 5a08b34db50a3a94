#!/bin/bash
# Runs the test suite: the layer check (tests/layers), every unit test
# binary in BUILD/tests/unit and every tests/integration/t-*.sh, each as its
# own process under the subreaper wrapper (reaps orphans, enforces a time
# limit, kills leftovers by pid).
#
# Usage: tests/run-all.sh BUILD [unit|integration]
#
# Prints one line per case (PASS/FAIL/SKIP), then "N passed, N failed"
# (", N skipped" if any).  Exit status 1 if anything failed.
# Logs: BUILD/test-logs/<case>.log.  Environment: VX_TIMEOUT (s, default 180).
# An integration case that needs longer (an exhaustive kill sweep) says so
# in a line "# vx-timeout: SECONDS" of its own; each line shows the case's
# seconds, so a case creeping up on its limit is seen before it flakes.

set -u
cd "$(dirname "$0")/.." || exit 2
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: tests/run-all.sh BUILD [unit|integration]" >&2
	exit 2
fi
BUILD=$(cd "$1" 2>/dev/null && pwd) || { echo "run-all: no build tree $1" >&2; exit 2; }
WHICH=${2:-all}
case $WHICH in all|unit|integration) ;; *) echo "run-all: unknown set '$WHICH'" >&2; exit 2 ;; esac
SUBREAPER=$BUILD/tests/progs/subreaper
TIMEOUT=${VX_TIMEOUT:-180}
LOGS=$BUILD/test-logs
mkdir -p "$LOGS"
passed=0 failed=0 skipped=0

if [ ! -x "$SUBREAPER" ]; then
	echo "run-all: $SUBREAPER missing (run make first)" >&2
	exit 2
fi

# report NAME STATUS LOG SECONDS LIMIT: prints the case's line and counts it.
report()
{
	local name=$1 st=$2 log=$3 secs=$4 limit=$5 why
	why=$(grep -E '^(PASS|FAIL|SKIP) ' "$log" | tail -n 1 | sed -E 's/^(PASS|FAIL|SKIP) [^:]*:? ?//')
	case $st in
	0)
		passed=$((passed + 1))
		printf 'PASS  %s (%d s)\n' "$name" "$secs" ;;
	77)
		skipped=$((skipped + 1))
		printf 'SKIP  %s: %s\n' "$name" "${why:-no reason given}" ;;
	*)
		failed=$((failed + 1))
		[ "$st" = 124 ] && why="timed out after ${limit} s"
		printf 'FAIL  %s: %s (exit %s, log %s)\n' "$name" "${why:-see log}" "$st" "$log" ;;
	esac
}

# run LIMIT NAME CMD...: runs one case under the subreaper with the time
# limit (seconds).
run()
{
	local limit=$1 name=$2 log=$LOGS/${2//\//_}.log st start=$SECONDS
	shift 2
	"$SUBREAPER" -t "$limit" "$@" </dev/null >"$log" 2>&1
	st=$?
	grep -q '^subreaper: killing leftover' "$log" && [ "$st" = 0 ] && {
		echo "FAIL $name: left processes running" >>"$log"
		st=1
	}
	report "$name" "$st" "$log" $((SECONDS - start)) "$limit"
}

# limit_of FILE: the case's own "# vx-timeout: N" if it has one (never
# below VX_TIMEOUT), else VX_TIMEOUT.
limit_of()
{
	local n
	n=$(sed -n 's/^# vx-timeout: \([0-9][0-9]*\)$/\1/p' "$1" | head -n 1)
	if [ -n "$n" ] && [ "$n" -gt "$TIMEOUT" ]; then
		echo "$n"
	else
		echo "$TIMEOUT"
	fi
}

if [ "$WHICH" != integration ]; then
	# which module may include and call which (tests/layers/layers.txt)
	run "$TIMEOUT" layers/check bash tests/layers/check.sh "$BUILD"
	for t in "$BUILD"/tests/unit/*; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		run "$TIMEOUT" "unit/${t##*/}" "$t"
	done
fi

if [ "$WHICH" != unit ]; then
	export VX_BUILD=$BUILD
	for t in tests/integration/t-*.sh; do
		[ -f "$t" ] || continue
		name=${t##*/}
		run "$(limit_of "$t")" "integration/${name%.sh}" bash "$t"
	done
fi

summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
[ "$failed" -eq 0 ]
