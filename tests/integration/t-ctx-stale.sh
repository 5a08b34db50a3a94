#!/bin/bash
# Stale context records: a context whose init and supervisor are killed by
# pid (so nobody removes its record) is not listed, its record and cgroup
# are removed by the next vxcr that looks, and its xid can be created again.
# A record naming a live pid with another start time (pid reuse) is stale too.
. "$(dirname "$0")/ctx-lib.sh"
"$VXCR" ctx create "$XID" -- sleep 600 >/dev/null 2>"$T/create.err" ||
	fail "ctx create: $(cat "$T/create.err")"
REC=$VXCR_RUNDIR/$XID.ctx
INIT=$(sed -n 's/^init=//p' "$REC") SUPER=$(sed -n 's/^super=//p' "$REC")
CG=$(sed -n 's/^cgroup=//p' "$REC")
[ -d "$CG" ] || fail "cgroup $CG missing"
kill -9 "$SUPER" "$INIT"
vx_wait_gone "$INIT" 5 || fail "init $INIT did not die"
vx_wait_gone "$SUPER" 5 || fail "supervisor $SUPER did not die"
[ -f "$REC" ] || fail "record vanished by itself: the test needs it stale"
"$VXCR" ctx list >"$T/list.out" || fail "ctx list failed"
grep -q "^$XID " "$T/list.out" && fail "stale context listed"
[ -e "$REC" ] && fail "stale record not removed by ctx list"
[ -d "$CG" ] && fail "cgroup $CG of the stale context not removed"
"$VXCR" ctx info "$XID" 2>/dev/null && fail "info of a stale context succeeded"
# pid reuse: a record pointing at a live process with another start time
printf 'xid=%s\ninit=%s\ninit_start=1\nsuper=%s\nsuper_start=1\nflags=0x0\nbcaps=0x0\nccaps=0x0\ncgroup=%s\n' \
	"$XID" $$ $$ "$CG" >"$REC"
"$VXCR" ctx info "$XID" 2>"$T/info.err" && fail "record with a reused pid accepted"
[ -e "$REC" ] && fail "record with a reused pid not removed"
vx_alive $$ || fail "we died"
"$VXCR" ctx create "$XID" -- sleep 600 >/dev/null 2>"$T/create.err" ||
	fail "re-create of $XID: $(cat "$T/create.err")"
"$VXCR" ctx kill "$XID" && "$VXCR" ctx wait "$XID" >/dev/null
pass "stale records cleaned"
