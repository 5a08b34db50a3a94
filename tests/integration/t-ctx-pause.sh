#!/bin/bash
# vxcr ctx flags SCHED_PAUSE: the context's cgroup is frozen (a counter
# written by its shell loop stops moving, stat counts the threads on hold,
# flags shows SCHED_PAUSE) and thawed again by --clear (the counter moves).
. "$(dirname "$0")/ctx-lib.sh"
count() { wc -l <"$T/loop.out" 2>/dev/null || echo 0; }
"$VXCR" ctx create "$XID" -- sh -c "while :; do echo tick >>$T/loop.out; sleep 0.05; done" \
	>/dev/null 2>"$T/create.err" || fail "ctx create: $(cat "$T/create.err")"
vx_wait_line "$T/loop.out" tick 10 || fail "loop does not run"
"$VXCR" ctx flags "$XID" --set SCHED_PAUSE >"$T/flags.out" 2>"$T/flags.err" ||
	fail "flags --set SCHED_PAUSE: $(cat "$T/flags.err")"
grep -qw SCHED_PAUSE "$T/flags.out" || fail "flags shows '$(cat "$T/flags.out")'"
c1=$(count); sleep 0.6; c2=$(count)
[ "$c1" = "$c2" ] || fail "counter moved while paused ($c1 -> $c2)"
"$VXCR" ctx stat "$XID" | grep -Eq '^nr_onhold: [1-9]' || fail "stat shows no task on hold"
"$VXCR" ctx flags "$XID" --clear SCHED_PAUSE >"$T/flags.out" || fail "flags --clear failed"
grep -qw SCHED_PAUSE "$T/flags.out" && fail "SCHED_PAUSE still set after --clear"
sleep 0.6
[ "$(count)" -gt "$c2" ] || fail "counter did not resume after thaw"
"$VXCR" ctx kill "$XID" || fail "kill failed"
"$VXCR" ctx wait "$XID" >/dev/null
pass "paused at $c2, resumed to $(count)"
