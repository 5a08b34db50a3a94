#!/bin/bash
# Dump and restore tests/progs/thread-signals.c: signals pending per thread and
# per thread group arrive in the right thread with their values.
. "$(dirname "$0")/lib.sh"
tree_cr_cycle thread-signals
