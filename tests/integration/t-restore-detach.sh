#!/bin/bash
# `vxrestore -d --pidfile F`: prints the restored pid (the original one),
# writes it to F and returns while the process runs on.
. "$(dirname "$0")/lib.sh"
require_cr
start_prog counter
dump "$PID" "$T/img"
timeout 60 "$VXRESTORE" -d --pidfile "$T/pidfile" "$T/img" >"$T/restore.out" 2>"$T/restore.err" ||
	fail "vxrestore -d exited $?: $(head -n 3 "$T/restore.err")"
printed=$(tr -d '[:space:]' <"$T/restore.out")
[ "$printed" = "$PID" ] || fail "vxrestore -d printed '$printed', expected $PID"
[ "$(tr -d '[:space:]' <"$T/pidfile")" = "$PID" ] || fail "pidfile holds '$(cat "$T/pidfile")'"
vx_alive "$PID" || fail "restored $PID not running after vxrestore -d returned"
expect_counting "after restore -d"
go_and_check
vx_wait_gone "$PID" 10 || fail "$PID did not exit after its check"
pass
