#!/bin/bash
# Dump and restore tests/progs/tree-1000.c: a tree of 1000 processes four
# levels deep (fan-out 10); the same pids, parents, sessions and states
# after restore, and every member checks its pid, parent, page and token.
# Under a soft RLIMIT_NOFILE of 512 (1024 is usual): vxdump holds a pidfd per
# process and must lift its own soft limit (lib/dump/tree.c, want_fds).
. "$(dirname "$0")/lib.sh"
ulimit -Sn 512 || skip "cannot set a soft RLIMIT_NOFILE of 512"
tree_cr_cycle tree-1000
