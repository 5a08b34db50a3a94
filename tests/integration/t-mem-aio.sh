#!/bin/bash
# AIO contexts (tests/progs/mem-aio.c, io_setup) are refused at dump with
# one line naming the ring's area; the target keeps running and its
# context still works.
. "$(dirname "$0")/lib.sh"
require_cr
start_prog mem-aio
vx_track "$PID"
expect_dump_refused "an AIO ring" "\[aio\]: AIO rings \(io_setup\) are not supported"
go_and_check
pass
