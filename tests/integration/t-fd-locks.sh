#!/bin/bash
# File locks (tests/progs/locks.c): POSIX locks of two processes (one set
# SEEK_END-relative), OFD locks, flock (shared and exclusive) and leases
# (read and write) are held again after restore, checked by the program
# from a process that does not own them.  Then the refusals, each with one
# line at dump time and the target left running, still holding its lock:
# a flock held only through a shared mapping, and a flock on a
# description that a process outside the tree holds too.
. "$(dirname "$0")/lib.sh"
require_cr

# refused DESC: vxdump of $PID must fail with one line matching $1.
refused()
{
	"$VXDUMP" -o "$T/refused.img" "$PID" >"$T/dump.out" 2>"$T/dump.err" &&
		fail "vxdump accepted $2"
	grep -q "$1" "$T/dump.err" || fail "no refusal for $2: $(head -n 3 "$T/dump.err")"
	vx_alive "$PID" || fail "target $PID died after a refused dump ($2)"
	[ "$(grep -c . "$T/dump.err")" -le 2 ] || fail "refusal is not one line: $(cat "$T/dump.err")"
	log "refused $2: $(head -n 1 "$T/dump.err")"
}

mkdir "$T/locks" "$T/mapped" "$T/outside"
start_prog locks "$T/locks"
log "held: $(grep -c . /proc/locks) lines in /proc/locks"
dump "$PID" "$T/img"
sum=$(md5sum <"$T/img")
"$VXCR" img show "$T/img" | grep -c ' LOCK ' >"$T/nlocks"
[ "$(cat "$T/nlocks")" = 11 ] || fail "$(cat "$T/nlocks") LOCK records, want 11"
restore_bg "$T/img"
go_and_check
wait_restore_exit 0
[ "$(md5sum <"$T/img")" = "$sum" ] || fail "vxrestore modified the image"

# a flock held through a mapping only: no fd shows it
rm -f "$T/out"
start_prog locks "$T/mapped" mapped
refused "held through no fd of the dump" "a flock held by a mapping"
go_and_check
vx_wait_gone "$PID" 10 || fail "locks (mapped) did not exit"

# a flock on a description this shell holds too (fd 9, inherited)
rm -f "$T/out"
exec 9>"$T/outside/f"
flock -x 9 || fail "flock(1) failed"
start_cmd "$T/out" sleep 1000
sleep 0.2
refused "outside the dumped tree" "a flock shared with pid $$"
kill "$PID"
vx_wait_gone "$PID" 10
exec 9>&-
pass "11 locks restored, 2 refusals"
