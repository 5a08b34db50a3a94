#!/bin/bash
# madvise state (tests/progs/mem-madvise.c): VmFlags of areas advised
# RANDOM, SEQUENTIAL, DONTDUMP, DONTFORK, WIPEONFORK, HUGEPAGE, NOHUGEPAGE,
# MERGEABLE and of a sealed area (mseal) compared before and after, in a
# parent and a child that undid inherited advice.
. "$(dirname "$0")/lib.sh"
tree_cr_cycle mem-madvise
