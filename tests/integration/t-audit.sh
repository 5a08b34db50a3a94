#!/bin/bash
# The audit loginuid and session id (tests/progs/audit.c).  This script
# sets its own loginuid first (it has none: no privilege needed), so the
# target, vxdump and vxrestore share one audit session.  The root keeps
# the inherited ids, a child that unset its loginuid (and its own child)
# get it unset again; before the fix both came back with vxrestore's.  A
# child that set its loginuid again has a session id of its own, which the
# kernel cannot be made to give back: the dump refuses it in one line and
# the tree keeps running.  Hostile audit ids in an image are refused.
. "$(dirname "$0")/lib.sh"
require_cr
[ -e /proc/self/loginuid ] || skip "no audit support in this kernel"
if [ "$(cat /proc/self/loginuid)" = 4294967295 ]; then
	echo 1000 >/proc/self/loginuid || skip "cannot set a loginuid"
fi
log "loginuid $(cat /proc/self/loginuid), session $(cat /proc/self/sessionid)"
start_prog audit
vx_track_tree "$PID"
dump "$PID" "$T/img"
restore_bg "$T/img"
go_and_check
wait_restore_exit 0
EDIT=$VX_BUILD/tests/fuzz/edit-image
"$EDIT" "$T/img" "$T/bad1.img" "TASK[1].sessionid=7" || fail "edit-image failed"
expect_refused_by "a session without a loginuid" "audit loginuid 4294967295 with session 7" \
	"$VXRESTORE" "$T/bad1.img"
"$EDIT" "$T/img" "$T/bad2.img" "TASK[0].loginuid=5" || fail "edit-image failed"
expect_refused_by "another loginuid in our session" \
	"audit session [0-9]+ \(loginuid 5\) cannot be restored here" "$VXRESTORE" "$T/bad2.img"
rm -f "$OUT"
start_prog audit new
vx_track_tree "$PID"
"$VXDUMP" -o "$T/img.new" "$PID" >"$T/dump.out" 2>"$T/dump.err"
st=$?
[ "$st" = 1 ] || fail "vxdump of a new audit session exited $st: $(head -n 2 "$T/dump.err")"
[ "$(wc -l <"$T/dump.err")" = 2 ] || fail "expected a refusal and a summary: $(cat "$T/dump.err")"
grep -Eq "pid [0-9]+: audit session [0-9]+ \(loginuid 1000\) cannot be restored" "$T/dump.err" ||
	fail "no audit refusal line: $(cat "$T/dump.err")"
[ ! -e "$T/img.new" ] || fail "vxdump left an image behind"
vx_alive "$PID" || fail "target gone after the refused dump"
log "refused: $(head -n 1 "$T/dump.err")"
go_and_check
pass "ids restored; a new audit session refused"
