#!/bin/bash
# memfds whose size is not a multiple of the page size (tests/progs/
# memfd-size.c): the image must restore (it was refused, "pages beyond its
# 5000 bytes", after the dump had killed the target) with the same sizes
# and file positions.  A --leave-running dump leaves the target's file
# positions where they were (it moved them to the end of the data).
. "$(dirname "$0")/lib.sh"
require_cr
start_prog memfd-size
dump "$PID" "$T/img.lr" --leave-running
go_and_check
vx_wait_gone "$PID" 10 || fail "memfd-size $PID did not exit after its check"
vx_untrack "$PID"
rm -f "$OUT"
cr_cycle memfd-size
