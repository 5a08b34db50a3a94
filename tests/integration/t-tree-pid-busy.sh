#!/bin/bash
# vxrestore of a tree whose pids are not all free fails cleanly: with one
# grandchild's pid held by another process (tests/progs/pid-holder, clone3
# set_tid), vxrestore exits 1 with a one-line error, leaves no process of
# the tree behind (the held pid still belongs to the holder), and does not
# change the image.  Restoring the same image twice fails the same way
# for the second restore while the first tree runs on unharmed.  Once the
# pid is free, the image restores and passes.
. "$(dirname "$0")/lib.sh"
require_cr
start_prog tree-basic
ROOT=$PID ROOT_OUT=$OUT ROOT_START=$ORIG_START ROOT_COMM=$ORIG_COMM
vx_tree_snapshot "$ROOT" "$T/tree.before"
vx_track_tree "$ROOT"
victim=$(vx_tree_pids "$ROOT" | tail -n 1)	# a grandchild (preorder, last)
[ "$victim" != "$ROOT" ] || fail "no descendant in the tree"
dump "$ROOT" "$T/img"
vx_tree_gone "$T/tree.before"
sum=$(sha256sum <"$T/img")

# the tree's pids other than the held one must not exist after a failure
expect_tree_absent()
{
	local p
	sleep 0.3
	for p in $(awk '$1 == "pid" {print $2}' "$T/tree.before"); do
		[ "$p" = "${1:-}" ] && continue
		vx_alive "$p" && fail "pid $p of the tree exists after the failed restore ($2)"
	done
	return 0
}

# 1. one pid of the tree busy
( "$PROGS/pid-holder" "$T/holder.out" "$victim" </dev/null >/dev/null 2>"$T/holder.err" &
  echo $! >"$T/holder.pid" )
HOLDER=$(cat "$T/holder.pid")
vx_track "$HOLDER"
vx_wait_line "$T/holder.out" '^ready$' 10 || fail "pid-holder could not take pid $victim: $(cat "$T/holder.err" "$T/holder.out" 2>/dev/null)"
timeout 60 "$VXRESTORE" "$T/img" >"$T/busy.out" 2>"$T/busy.err"
st=$?
[ "$st" = 1 ] || fail "vxrestore with pid $victim busy exited $st, expected 1"
[ "$(wc -l <"$T/busy.err")" = 1 ] ||
	fail "vxrestore with pid $victim busy: expected a one-line message, got: $(head -n 5 "$T/busy.err")"
log "pid $victim busy: $(cat "$T/busy.err")"
expect_tree_absent "$victim" "pid $victim busy"
[ "$(cat /proc/"$victim"/comm 2>/dev/null)" = pid-holder ] || fail "held pid $victim no longer the holder's"
[ "$(sha256sum <"$T/img")" = "$sum" ] || fail "image changed by the failed restore"
kill -USR1 "$HOLDER"
vx_wait_line "$T/holder.out" '^(PASS|FAIL)' 10 || fail "pid-holder did not finish"
grep -q '^PASS' "$T/holder.out" || fail "pid-holder: $(grep FAIL "$T/holder.out")"
vx_wait_gone "$victim" 5 || fail "pid $victim still held"

# 2. restore twice: the second one finds the whole tree busy
PID=$ROOT OUT=$ROOT_OUT ORIG_START=$ROOT_START ORIG_COMM=$ROOT_COMM
restore_bg "$T/img"
vx_tree_expect "$T/tree.before" "$ROOT"
starts=$(for p in $(awk '$1 == "pid" {print $2}' "$T/tree.before"); do vx_starttime "$p"; done)
timeout 60 "$VXRESTORE" "$T/img" >"$T/twice.out" 2>"$T/twice.err"
st=$?
[ "$st" = 1 ] || fail "second vxrestore of the same image exited $st, expected 1"
[ "$(wc -l <"$T/twice.err")" = 1 ] ||
	fail "second vxrestore: expected a one-line message, got: $(head -n 5 "$T/twice.err")"
log "restored twice: $(cat "$T/twice.err")"
now=$(for p in $(awk '$1 == "pid" {print $2}' "$T/tree.before"); do vx_starttime "$p"; done)
[ "$now" = "$starts" ] || fail "the first restored tree was disturbed by the second vxrestore"
[ "$(sha256sum <"$T/img")" = "$sum" ] || fail "image changed by the second restore"
go_and_check
wait_restore_exit 0
pass
