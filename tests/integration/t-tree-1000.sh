#!/bin/bash
# Dump and restore tests/progs/tree-1000.c: a tree of 1000 processes four
# levels deep (fan-out 10); the same pids, parents, sessions and states
# after restore, and every member checks its pid, parent, page and token.
. "$(dirname "$0")/lib.sh"
tree_cr_cycle tree-1000
