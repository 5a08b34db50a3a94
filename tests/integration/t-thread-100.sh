#!/bin/bash
# Dump and restore tests/progs/thread-100.c: one process with 100 threads,
# same tids after restore, every thread checks itself.
. "$(dirname "$0")/lib.sh"
tree_cr_cycle thread-100
