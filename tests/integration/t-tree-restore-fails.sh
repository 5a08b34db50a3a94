#!/bin/bash
# A tree restore that fails, or whose vxrestore is killed, leaves nothing
# behind.  tests/progs/tree-basic.c (7 processes) is dumped once, then:
# - VXCR_TEST_FAIL=tree: the engine fails once every process exists; the
#   restorer must kill and reap all of them, exit 1 with one line;
# - vxrestore SIGKILLed while paused after the root's pages (children not
#   made yet), after the whole tree is built, and before the registers
#   (creds): every process dies with it (PTRACE_O_EXITKILL, PDEATHSIG);
# each time the image stays unchanged, no pid of the tree is left (dead and
# reaped), and a last normal restore passes the members' own checks.
. "$(dirname "$0")/lib.sh"
require_cr
start_prog tree-basic
vx_tree_snapshot "$PID" "$T/tree.before"
vx_track_tree "$PID"
dump "$PID" "$T/img"
vx_tree_gone "$T/tree.before"
sum=$(sha256sum <"$T/img")
pids=$(awk '$1 == "pid" {print $2}' "$T/tree.before")

all_gone()
{
	local p
	for p in $pids; do
		vx_wait_gone "$p" 3 || fail "pid $p left behind after $1 ($(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -c1))"
	done
	[ "$(sha256sum <"$T/img")" = "$sum" ] || fail "image changed by $1"
}

VXCR_TEST_FAIL=tree "$VXRESTORE" "$T/img" >"$T/fail.out" 2>"$T/fail.err"
st=$?
[ "$st" = 1 ] || fail "failing restore exited $st, expected 1"
[ "$(wc -l <"$T/fail.err")" = 1 ] || fail "not one line: $(cat "$T/fail.err")"
all_gone "a failed restore"
log "failed restore: $(cat "$T/fail.err")"

for stage in pages tree creds; do
	VXCR_TEST_PAUSE=$stage VXCR_LOG=2 "$VXRESTORE" "$T/img" >"$T/paused.out" 2>"$T/paused.err" &
	rpid=$!
	vx_track "$rpid"
	for ((i = 0; i < 200; i++)); do
		grep -q "pausing at $stage" "$T/paused.err" && break
		kill -0 "$rpid" 2>/dev/null || fail "vxrestore did not pause at $stage: $(head -n 2 "$T/paused.err")"
		sleep 0.05
	done
	grep -q "pausing at $stage" "$T/paused.err" || fail "no pause at $stage within 10 s"
	kill -9 "$rpid"
	wait "$rpid" 2>/dev/null
	vx_untrack "$rpid"
	all_gone "vxrestore killed at $stage"
	log "vxrestore killed at $stage: nothing left"
done

restore_bg "$T/img"
vx_tree_expect "$T/tree.before" "$PID"
expect_counting "after restore"
go_and_check
wait_restore_exit 0
pass "failed and killed tree restores left nothing; the image restores"
