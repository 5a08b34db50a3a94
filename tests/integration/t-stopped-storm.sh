#!/bin/bash
# Stop signals that arrive while vxdump holds the tree: a multithreaded
# target (tests/progs/thread-basic.c) is stopped, continued and stopped
# again (SIGSTOP, SIGTSTP, SIGCONT, with a handled SIGWINCH in between)
# all through a series of --leave-running dumps, in frame mode and through
# the scratch mapping (VXCR_TEST_SKIP=inject-frame).  Every dump must
# succeed (before: "unexpected stop (signal 19) during an injected system
# call", "cannot map the scratch area: Interrupted system call") and the
# target must come out unharmed: after the storm it is continued, dumped,
# restored, and its own checks pass.
. "$(dirname "$0")/lib.sh"
require_cr
start_prog thread-basic
vx_track_tree "$PID"
storm()
{
	while :; do
		kill -STOP "$PID"; kill -CONT "$PID"; kill -TSTP "$PID"
		kill -WINCH "$PID"; kill -CONT "$PID"
	done 2>/dev/null
}
n=0
for mode in frame scratch; do
	skip_env=""
	[ $mode = scratch ] && skip_env=inject-frame
	storm &
	SPID=$!
	vx_track "$SPID"
	for ((i = 0; i < 8; i++)); do
		VXCR_TEST_SKIP=$skip_env "$VXDUMP" --leave-running -o "$T/img.$mode" "$PID" \
			>"$T/dump.out" 2>"$T/dump.err" ||
			fail "$mode dump $i during the storm: $(head -n 2 "$T/dump.err")"
		n=$((n + 1))
	done
	kill "$SPID"
	wait "$SPID" 2>/dev/null
	vx_untrack "$SPID"
	kill -CONT "$PID"
	vx_alive "$PID" || fail "target died in the $mode storm"
done
# the target is unharmed: continued, it passes its own checks after a cycle
sleep 0.2
grep -q '^State:[[:space:]]*[RS]' "/proc/$PID/status" || fail "target not running after SIGCONT"
dump "$PID" "$T/img"
restore_bg "$T/img"
go_and_check
wait_restore_exit 0
pass "$n dumps during stop/continue storms"
