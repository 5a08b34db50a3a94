#!/bin/bash
# `vxdump PID | vxrestore -`: the image streams through a pipe; the target
# is killed only once the image is complete and comes back with its pid.
. "$(dirname "$0")/lib.sh"
require_cr
start_prog counter
expect_counting "before dump"
vx_remember
vx_guard_snap "$PID"	# dump() is not used: the image goes through a pipe
( "$VXDUMP" "$PID" 2>"$T/dump.err" | "$VXRESTORE" - >"$T/restore.out" 2>"$T/restore.err" ) &
RPID=$!
vx_track "$RPID"
wait_restored
expect_counting "after restore"
go_and_check
wait_restore_exit 0
pass
