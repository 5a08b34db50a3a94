#!/bin/bash
# The tree and thread test programs run without a dump: set up, "go",
# PASS, and nothing left running.  Shows that the programs themselves are
# sound, so a FAIL after a restore is the restore's.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (nice values, clone3 set_tid)"
for prog in tree-basic tree-sessions thread-basic thread-signals shared-mem \
	    shared-files timers tree-100 thread-100 mem-layouts mem-lock mem-madvise \
	    mem-guard mem-memfd zombie-leaders stop-signals pty; do
	rm -f "$T/out"
	start_prog "$prog"
	vx_track_tree "$PID"
	vx_tree_snapshot "$PID" "$T/tree.$prog"
	log "$prog: $(vx_tree_summary "$T/tree.$prog")"
	go_and_check
	vx_wait_gone "$PID" 10 || fail "$prog ($PID) did not exit after its check"
	for p in $(awk '$1 == "pid" {print $2}' "$T/tree.$prog"); do
		vx_wait_gone "$p" 10 || fail "$prog: member $p still there after the check"
	done
	vx_untrack "$PID"
done
# pid-holder holds a free pid and lets it go on "go"
sleep 0 & free=$!
wait "$free"
rm -f "$T/out"
start_prog pid-holder "$free"
grep -q "^holding $free\$" "$OUT" || fail "pid-holder does not hold $free"
[ "$(cat /proc/"$free"/comm 2>/dev/null)" = pid-holder ] || fail "pid $free is not pid-holder's child"
go_and_check
vx_wait_gone "$free" 5 || fail "pid $free still held after pid-holder's check"
pass
