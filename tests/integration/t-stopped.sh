#!/bin/bash
# A process stopped by SIGSTOP when dumped comes back stopped (job-control
# stop, not traced), and carries on counting from where it was after
# SIGCONT; its own checks pass afterwards.
. "$(dirname "$0")/lib.sh"
require_cr
start_prog counter
expect_counting "before stop"
kill -STOP "$PID"
sleep 0.2
grep -q '^State:[[:space:]]*T' "/proc/$PID/status" || fail "target did not stop"
stopped_at=$(last_count)
dump "$PID" "$T/img"
# restore_bg waits for a running process; this one must come back stopped
"$VXRESTORE" "$T/img" >"$T/restore.out" 2>"$T/restore.err" &
RPID=$!
vx_track "$RPID"
for ((i = 0; i < 200; i++)); do
	[ "$(vx_starttime "$PID")" != "$ORIG_START" ] &&
		grep -q '^State:[[:space:]]*T (stopped)' "/proc/$PID/status" 2>/dev/null &&
		grep -q '^TracerPid:[[:space:]]*0$' "/proc/$PID/status" && break
	kill -0 "$RPID" 2>/dev/null || fail "vxrestore exited: $(head -n 3 "$T/restore.err")"
	sleep 0.05
done
grep -q '^State:[[:space:]]*T (stopped)' "/proc/$PID/status" ||
	fail "restored $PID is not stopped: $(grep State "/proc/$PID/status")"
grep -q '^TracerPid:[[:space:]]*0$' "/proc/$PID/status" || fail "restored $PID is still traced"
vx_guard_check	# now, while it is stopped as dumped (SIGCONT follows)
sleep 0.5
[ "$(last_count)" = "$stopped_at" ] || fail "restored $PID counted while stopped"
kill -CONT "$PID"
expect_counting "after SIGCONT"
log "stopped at $stopped_at, counting again from $(last_count) after SIGCONT"
go_and_check
wait_restore_exit 0
pass
