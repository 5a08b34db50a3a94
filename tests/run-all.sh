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

# report NAME STATUS LOG: prints the case's line and counts it.
report()
{
	local name=$1 st=$2 log=$3 why
	why=$(grep -E '^(PASS|FAIL|SKIP) ' "$log" | tail -n 1 | sed -E 's/^(PASS|FAIL|SKIP) [^:]*:? ?//')
	case $st in
	0)
		passed=$((passed + 1))
		printf 'PASS  %s\n' "$name" ;;
	77)
		skipped=$((skipped + 1))
		printf 'SKIP  %s: %s\n' "$name" "${why:-no reason given}" ;;
	*)
		failed=$((failed + 1))
		[ "$st" = 124 ] && why="timed out after ${TIMEOUT} s"
		printf 'FAIL  %s: %s (exit %s, log %s)\n' "$name" "${why:-see log}" "$st" "$log" ;;
	esac
}

# run NAME CMD...: runs one case under the subreaper with the time limit.
run()
{
	local name=$1 log=$LOGS/${1//\//_}.log st
	shift
	"$SUBREAPER" -t "$TIMEOUT" "$@" </dev/null >"$log" 2>&1
	st=$?
	grep -q '^subreaper: killing leftover' "$log" && [ "$st" = 0 ] && {
		echo "FAIL $name: left processes running" >>"$log"
		st=1
	}
	report "$name" "$st" "$log"
}

if [ "$WHICH" != integration ]; then
	# which module may include and call which (tests/layers/layers.txt)
	run layers/check bash tests/layers/check.sh "$BUILD"
	for t in "$BUILD"/tests/unit/*; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		run "unit/${t##*/}" "$t"
	done
fi

if [ "$WHICH" != unit ]; then
	export VX_BUILD=$BUILD
	for t in tests/integration/t-*.sh; do
		[ -f "$t" ] || continue
		name=${t##*/}
		run "integration/${name%.sh}" bash "$t"
	done
fi

summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
[ "$failed" -eq 0 ]
