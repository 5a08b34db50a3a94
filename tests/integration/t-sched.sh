#!/bin/bash
# Dump and restore tests/progs/sched: SCHED_BATCH (priority 0) and nice 5
# come back.  The script also reads both from /proc before the dump and
# after the restore, so a failure names what the kernel reports.
. "$(dirname "$0")/lib.sh"

# "policy nice" of $PID from /proc/PID/stat (fields 41 and 19).
sched_of()
{
	sed 's/.*) //' "/proc/$PID/stat" 2>/dev/null | awk '{print $39, $17}'
}

require_cr
start_prog sched
before=$(sched_of)
[ "$before" = "3 5" ] || fail "setup: policy/nice $before, expected 3 5 (SCHED_BATCH, nice 5)"
dump "$PID" "$T/img"
sum=$(md5sum <"$T/img")
restore_bg "$T/img"
after=$(sched_of)
log "policy/nice before dump: $before, after restore: $after"
[ "$after" = "$before" ] || fail "policy/nice after restore: $after, expected $before"
go_and_check
wait_restore_exit 0
[ "$(md5sum <"$T/img")" = "$sum" ] || fail "vxrestore modified the image"
pass
