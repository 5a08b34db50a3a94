#!/bin/bash
# Dump and restore tests/progs/tree-100.c: a root with 100 children, same pids
# and parents after restore, every child checks itself.
. "$(dirname "$0")/lib.sh"
tree_cr_cycle tree-100
