#!/bin/bash
# File leases (tests/progs/lease.c): a read and a write lease, each with
# its F_SETSIG signal, come back with their type, and breaking them after
# the restore sends the signal with si_fd naming the lease's fd.  A lease
# being broken (a breaker waits in open) is refused at dump, one line,
# the target left running.
. "$(dirname "$0")/lib.sh"
require_cr
start_prog lease breaking
vx_track_tree "$PID"
expect_dump_refused "a lease being broken" "a lease being broken cannot be restored"
go_and_check
rm -f "$OUT" "$T/r" "$T/w"
cr_cycle lease
