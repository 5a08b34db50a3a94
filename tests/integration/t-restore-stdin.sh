#!/bin/bash
# `cat IMAGE | vxrestore -`: restore reads the image from a pipe on stdin.
. "$(dirname "$0")/lib.sh"
require_cr
start_prog memory
dump "$PID" "$T/img"
( cat "$T/img" | "$VXRESTORE" - >"$T/restore.out" 2>"$T/restore.err" ) &
RPID=$!
vx_track "$RPID"
wait_restored
go_and_check
wait_restore_exit 0
pass
