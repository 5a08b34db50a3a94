#!/bin/bash
# vxcr ctx flags SCHED_PAUSE: the context's cgroup is frozen (a counter
# written by its shell loop stops moving, stat counts the threads on hold,
# flags shows SCHED_PAUSE) and thawed again by --clear (the counter moves).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
export VXCR_RUNDIR=$T/run
XID=$(( 2000 + $$ % 30000 ))

# Kills every context of our run directory by pid (init, supervisor) and
# removes its cgroup, whatever happened to the case.
ctx_cleanup()
{
	local f p
	for f in "$VXCR_RUNDIR"/*.ctx; do
		[ -f "$f" ] || continue
		for p in $(sed -n 's/^\(init\|super\)=//p' "$f"); do
			kill -9 "$p" 2>/dev/null
		done
		p=$(sed -n 's/^cgroup=//p' "$f")
		[ -n "$p" ] && [ -d "$p" ] && { echo 1 >"$p/cgroup.kill"; sleep 0.2; rmdir "$p"; } 2>/dev/null
	done
	vx_cleanup
}
trap ctx_cleanup EXIT
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
