#!/bin/bash
# Dump and restore tests/progs/timers.c: itimers and POSIX timers (ids,
# intervals, remaining times, values, SIGEV_THREAD_ID, overruns).
. "$(dirname "$0")/lib.sh"
tree_cr_cycle timers
