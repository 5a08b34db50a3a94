#!/bin/bash
# Dump and restore tests/progs/thread-basic.c (8 threads with per-thread state,
# waiters in cond_wait/futex/nanosleep/read): same tids, its own checks pass.
. "$(dirname "$0")/lib.sh"
tree_cr_cycle thread-basic
