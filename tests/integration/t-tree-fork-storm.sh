#!/bin/bash
# Dumps race with fork, clone and exit: tests/progs/fork-storm.c forks a
# child and creates a thread every millisecond, children exit at once.
# Five dumps with --leave-running must each succeed (tasks that exit while
# the tree is seized are dropped, new ones seized), give an image that
# verifies, and leave the process running, untraced, with no child lost or
# killed (its own reaping checks every exit status).  Then a last dump and
# a restore: it carries on forking and reaping, and its checks pass.
. "$(dirname "$0")/lib.sh"
require_cr
start_prog fork-storm
guard_main_only "children and threads are born and exit every millisecond by design"
guard_allow 'status.Threads' "threads are born and exit every millisecond by design"
guard_allow 'stat.num_threads' "threads are born and exit every millisecond by design"
guard_allow 'map.*' "thread stacks are mapped and unmapped as threads come and go"
guard_allow 'vma.*' "thread stacks are mapped and unmapped as threads come and go"
guard_allow 'status.Vm*' "thread stacks are mapped and unmapped as threads come and go"
for i in 1 2 3 4 5; do
	dump "$PID" "$T/img$i" --leave-running
	"$VXCR" img verify "$T/img$i" >/dev/null 2>"$T/verify.err" ||
		fail "image $i does not verify: $(head -n 1 "$T/verify.err")"
	tracer=$(awk '/^TracerPid:/ {print $2}' "/proc/$PID/status")
	[ "$tracer" = 0 ] || fail "still traced by $tracer after dump $i"
	n=$("$VXCR" img show "$T/img$i" | grep -c ' TASK ')
	log "dump $i: $n processes"
done
dump "$PID" "$T/img"
restore_bg "$T/img"
go_and_check
wait_restore_exit 0
pass "5 dumps during the storm, restored and storming on"
