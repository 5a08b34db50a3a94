#!/bin/bash
# Dump and restore tests/progs/shared-files.c: a file description shared by
# parent and child, pipes with data in flight, fd table and fs info shared
# by threads.
. "$(dirname "$0")/lib.sh"
tree_cr_cycle shared-files
