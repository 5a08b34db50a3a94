#!/bin/bash
# vxdump --leave-running keeps the target running; restoring the image while
# it runs fails with a message naming the pid and does not disturb it; after
# the original is killed the image restores, resuming from the dump's counter.
. "$(dirname "$0")/lib.sh"
require_cr
start_prog counter
expect_counting "before dump"
c_before=$(last_count)
dump "$PID" "$T/img" --leave-running
expect_counting "after a --leave-running dump"

timeout 60 "$VXRESTORE" "$T/img" >"$T/taken.out" 2>"$T/taken.err"
st=$?
[ "$st" = 1 ] || fail "restore over running pid $PID exited $st, expected 1"
grep -qw "$PID" "$T/taken.err" || fail "message does not name pid $PID: $(cat "$T/taken.err")"
log "refused: $(cat "$T/taken.err")"
vx_alive "$PID" && [ "$(vx_starttime "$PID")" = "$ORIG_START" ] ||
	fail "original $PID gone after the refused restore"
expect_counting "original after the refused restore"

kill -9 "$PID"
vx_wait_gone "$PID" 10 || fail "original $PID not gone after SIGKILL"
c_killed=$(last_count)
mv "$OUT" "$T/out.original"
restore_bg "$T/img"
vx_wait_line "$OUT" '^count' 10 || fail "restored counter prints nothing"
expect_counting "after restore"
first=$(grep -E '^count [0-9]+$' "$OUT" | head -n 1 | awk '{print $2}')
log "counts: $c_before before dump, $c_killed when killed, $first first after restore"
[ "$first" -gt "$c_before" ] || fail "restored counter started at $first, dump was after $c_before"
go_and_check
wait_restore_exit 0
pass
