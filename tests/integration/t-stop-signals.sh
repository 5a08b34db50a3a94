#!/bin/bash
# Children stopped by SIGTSTP, SIGTTIN (3 threads), SIGTTOU and SIGSTOP
# (tests/progs/stop-signals.c) come back stopped by the same signal: the
# parent's waitid(WSTOPPED) reports it, and they count again after SIGCONT.
# Hostile edits of task_entry.stop_signal are refused in one line, and so
# is a process stopped by SIGTSTP whose mask now blocks SIGTSTP (it could
# not be stopped by it again).
. "$(dirname "$0")/lib.sh"
require_cr
EDIT=$VX_BUILD/tests/fuzz/edit-image
[ -x "$EDIT" ] || fail "$EDIT not built"
start_prog stop-signals
vx_tree_snapshot "$PID" "$T/tree.before"
vx_track_tree "$PID"
dump "$PID" "$T/img"
vx_tree_gone "$T/tree.before"
"$VXCR" img show "$T/img" 2>/dev/null | grep -q "stop_signal=20" ||
	fail "no stop_signal 20 (SIGTSTP) in the image"
restore_bg "$T/img"
vx_tree_expect "$T/tree.before" "$PID"
go_and_check
wait_restore_exit 0
# TASK[1] is T (stopped by SIGTSTP), CORE[1] its only thread
"$EDIT" "$T/img" "$T/bad-sig.img" "TASK[1].stop_signal=99" || fail "edit-image failed"
expect_refused_by "stop signal 99" "stop signal 99" "$VXRESTORE" "$T/bad-sig.img"
"$EDIT" "$T/img" "$T/alive.img" "TASK[0].stop_signal=20" || fail "edit-image failed"
expect_refused_by "stop signal of a running task" "stop signal 20 \(state 1\)" \
	"$VXRESTORE" "$T/alive.img"
"$EDIT" "$T/img" "$T/blocked.img" "CORE[1].blocked=0x80000" || fail "edit-image failed"
expect_refused_by "SIGTSTP blocked" "stopped by SIGTSTP, which it now blocks" \
	"$VXRESTORE" "$T/blocked.img"
pass "$(vx_tree_summary "$T/tree.before"), 3 hostile images refused"
