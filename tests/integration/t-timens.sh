#!/bin/bash
# A tree in a time namespace of its own (tests/progs/timens under
# unshare -T with offsets the test sets): dumped, restored 2 s later, its
# CLOCK_MONOTONIC and CLOCK_BOOTTIME go on from where they were (no read
# ever went back, no step as large as the wait) and keep the offsets (the
# clocks stay above them), in a new time namespace made by the restore;
# once more, restored again from its second image.  A child in another
# time namespace than the root is refused at dump; hostile clocks in the
# LIMITS record are refused in one line.  A VIRT_UPTIME context running
# the same program: dumped, restored 2 s later, its clocks (CONTEXT
# record) do not jump either.
. "$(dirname "$0")/ctx-lib.sh"
require_cr
[ -e /proc/self/ns/time ] || skip "no time namespaces (CONFIG_TIME_NS)"
EDIT=$VX_BUILD/tests/fuzz/edit-image
[ -x "$EDIT" ] || fail "$EDIT not built"

MONO=100000 BOOT=250000
OUT=$T/out
( exec unshare -T --monotonic $MONO --boottime $BOOT "$PROGS/timens" "$OUT" 1500 $MONO \
	</dev/null >"$T/prog.out" 2>"$T/prog.err" & echo $! >"$T/prog.pid" )
PID=$(cat "$T/prog.pid")
vx_track "$PID"
vx_wait_line "$OUT" '^ready$' 20 || fail "timens did not get ready: $(cat "$T/prog.err")"
sleep 0.3
vx_remember
[ "$(readlink /proc/$PID/ns/time)" != "$(readlink /proc/self/ns/time)" ] ||
	fail "the program is not in a time namespace of its own"
log "before: $(grep clocks "$OUT" | head -n 1), offsets $(tr '\n' ' ' </proc/$PID/timens_offsets)"

dump "$PID" "$T/img"
"$VXCR" img show "$T/img" >"$T/show" 2>&1 || fail "vxcr img show failed"
grep -q LIMITS "$T/show" || fail "no LIMITS record in the image"
sum=$(sha256sum <"$T/img")
sleep 2
guard_allow 'timens_offsets.*' "the offsets are made so the clocks go on from the dump's values: they differ by the time the tree was not running"
t0=$(date +%s%N)
restore_bg "$T/img"
log "restored in $(( ($(date +%s%N) - t0) / 1000000 )) ms (wall, with the wait for it)"
[ "$(readlink /proc/$PID/ns/time)" != "$(readlink /proc/self/ns/time)" ] ||
	fail "the restored program is in our time namespace"
log "after: offsets $(tr '\n' ' ' </proc/$PID/timens_offsets)"
[ "$(sha256sum <"$T/img")" = "$sum" ] || fail "the restore changed the image"

# once more from the restored one (its namespace is the restore's now)
sleep 0.5
dump "$PID" "$T/img2"
wait "$RPID" 2>/dev/null
vx_untrack "$RPID"
sleep 1
restore_bg "$T/img2"
go_and_check
log "$(grep 'largest step' "$OUT")"
wait_restore_exit 0

# hostile clocks
for e in "LIMITS[0].monotonic_ns=-1" "LIMITS[0].boottime_ns=-5" \
	"LIMITS[0].monotonic_ns=9223372036854775807"; do
	"$EDIT" "$T/img" "$T/bad.img" "$e" || fail "edit-image $e failed"
	expect_refused_by "$e" "LIMITS: the time namespace's clocks" "$VXRESTORE" "$T/bad.img"
done

# a child in another time namespace than the root: refused at dump
OUT=$T/out2
( exec bash -c 'unshare -T --monotonic 5 sleep 1000 & echo ready >"$1"; wait' sh "$OUT" \
	</dev/null >/dev/null 2>&1 & echo $! >"$T/prog.pid" )
PID=$(cat "$T/prog.pid")
vx_track "$PID"
vx_wait_line "$OUT" '^ready$' 20 || fail "the shell did not get ready"
sleep 0.3
vx_track_tree "$PID"
vx_remember
expect_dump_refused "a child in another time namespace" "in another time namespace than the root"

# a VIRT_UPTIME context: its clocks go on across a checkpoint and a wait
OUT=$T/out3
"$VXCR" ctx create "$XID" --flags VIRT_UPTIME -- "$PROGS/timens" "$OUT" 1500 0 </dev/null \
	>"$T/ctx.out" 2>&1 || fail "ctx create: $(cat "$T/ctx.out")"
vx_wait_line "$OUT" '^ready$' 20 || fail "timens in the context did not get ready"
sleep 0.3
"$VXDUMP" --ctx "$XID" -o "$T/ctx.img" >"$T/dump.out" 2>"$T/dump.err" ||
	fail "vxdump --ctx: $(head -n 3 "$T/dump.err")"
sleep 2
"$VXRESTORE" "$T/ctx.img" >"$T/restore.out" 2>"$T/restore.err" ||
	fail "vxrestore of the context: $(head -n 3 "$T/restore.err")"
CG=$(sed -n 's/^cgroup=//p' "$VXCR_RUNDIR/$XID.ctx")
PID=$(for p in $(cat "$CG/cgroup.procs"); do [ "$(cat /proc/$p/comm)" = timens ] && echo "$p"; done)
[ -n "$PID" ] || fail "no timens in the restored context"
vx_track "$PID"
for ((i = 0; i < 100; i++)); do
	(( i % 20 == 0 )) && kill -USR1 "$PID" 2>/dev/null
	grep -Eq '^(PASS|FAIL)' "$OUT" && break
	sleep 0.1
done
grep -q '^PASS' "$OUT" || fail "in the context: $(grep -E '^(FAIL|clocks)' "$OUT" | tail -n 2)"
log "context: $(grep 'largest step' "$OUT")"
pass
