#!/bin/bash
# Every test program run without a dump: set up, "go", PASS.  Shows that the
# programs themselves are sound, so a FAIL after a restore is the restore's.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (creds)"
for prog in memory counter signals fds rlimits creds identity vector \
	    restart-nanosleep restart-read restart-pause sched vector512 mem-aio mem-vdso \
	    sigtrap membarrier; do
	if [ "$prog" = vector ] && ! grep -qw avx /proc/cpuinfo; then
		continue
	fi
	if [ "$prog" = vector512 ] && ! "$PROGS/vector512" "$T/probe" --probe; then
		continue
	fi
	rm -f "$T/out"
	start_prog "$prog"
	[ "$prog" = counter ] && expect_counting "native"
	go_and_check
	vx_wait_gone "$PID" 10 || fail "$prog ($PID) did not exit after its check"
	vx_untrack "$PID"
done
pass
