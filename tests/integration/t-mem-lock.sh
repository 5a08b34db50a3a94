#!/bin/bash
# Locked memory (tests/progs/mem-lock.c): mlock of half an area,
# mlock2(MLOCK_ONFAULT), mlockall(MCL_FUTURE|MCL_ONFAULT) in the parent;
# mlockall(MCL_CURRENT|MCL_FUTURE) in a child that then became uid 1; a
# child that locked as root and is now uid 1 over RLIMIT_MEMLOCK 0.  VmFlags,
# VmLck and the lock of an area mapped after the restore come back as they
# were.  Then the one case the dump refuses: mlockall(MCL_FUTURE) in a
# process with no room under RLIMIT_MEMLOCK (MCL_ONFAULT cannot be told).
. "$(dirname "$0")/lib.sh"
require_cr
start_prog mem-lock over
vx_track_tree "$PID"
expect_dump_refused "mlockall(MCL_FUTURE) over RLIMIT_MEMLOCK" "mlockall\(MCL_FUTURE\).*not supported"
go_and_check
vx_wait_gone "$PID" 10 || fail "mem-lock $PID did not exit after its check"
vx_untrack "$PID"
rm -f "$OUT"
tree_cr_cycle mem-lock
