#!/bin/bash
# Dump and restore tests/progs/share-variants.c: a thread with an fd table
# of its own (unshare(CLONE_FILES)), a thread with fs info of its own
# (unshare(CLONE_FS)), a child sharing our fd table (clone(CLONE_FILES)) and
# one sharing our cwd/root/umask (clone(CLONE_FS)).
. "$(dirname "$0")/lib.sh"
tree_cr_cycle share-variants
