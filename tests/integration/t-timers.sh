#!/bin/bash
# Dump and restore tests/progs/timers.c: itimers and POSIX timers (ids,
# intervals, remaining times, values, SIGEV_THREAD_ID, overruns accumulating
# again after restore; the si_overrun of a signal queued at dump time cannot
# be read or set from userspace, see check_overruns() in timers.c).
. "$(dirname "$0")/lib.sh"
tree_cr_cycle timers
