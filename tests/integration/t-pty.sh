#!/bin/bash
# Pseudo-terminal pairs of the tree (tests/progs/pty.c): restored as new
# pairs (never /dev/pts/N by path) with termios of both sides, window
# size, packet mode, lock and exclusive mode; a session leader gets its pty
# back as controlling terminal with the same foreground group (^C written
# to the master reaches that group).  First a --leave-running dump whose
# image is edited into hostile ones (each refused in one line), the
# original then passing its own checks; then the states the dump refuses
# (a master without its slave, unread bytes either way); then the cycle.
. "$(dirname "$0")/lib.sh"
require_cr

start_prog pty
vx_track_tree "$PID"
dump "$PID" "$T/img.lr" --leave-running
"$VXCR" img show "$T/img.lr" >"$T/show" 2>&1 || fail "vxcr img show failed: $(head -n 3 "$T/show")"
[ "$(grep -c 'FILE_PTMX' "$T/show")" -eq 2 ] || fail "image does not show 2 pty masters"
[ "$(grep -c 'FILE_PTS' "$T/show")" -eq 2 ] || fail "image does not show 2 pty slaves"

# rec_index TYPE PYEXPR: index among TYPE records of the first whose payload p matches
rec_index()
{
	"$VXCR" img json "$T/img.lr" | python3 -c '
import json, sys
recs = [r for r in json.load(sys.stdin)["records"] if r["type"] == sys.argv[1]]
print(next(i for i, r in enumerate(recs) if eval(sys.argv[2], {"p": r["payload"]})))' "$1" "$2"
}
hostile() { refused_edit "$T/img.lr" "$@"; }
m=$(rec_index FILE 'p.get("kind") == "FILE_PTMX"') || fail "no pty master record"
s=$(rec_index FILE 'p.get("kind") == "FILE_PTS"') || fail "no pty slave record"
n=$(rec_index FILE 'p.get("kind") == "FILE_CHR"') || fail "no device record"
c=$(rec_index TASK 'p.get("ctty") == 2 and p.get("sid") == p.get("pid")') ||
	fail "no session leader with a pty ctty"
hostile "a line discipline" "line discipline 1" "FILE[$m].tty.line=1"
hostile "a window size out of range" "window size out of range" "FILE[$m].tty.ws_row=70000"
hostile "a slave naming no master" "is not a pty master of the image" "FILE[$s].tty.pty_id=$((n + 1))"
hostile "a pty slave without its entry" "has no tty entry" "FILE[$n].kind=23"
hostile "a terminal reopened by path" "never reopened by path" "FILE[$n].kind=4"
hostile "a bad ctty value" "bad controlling terminal" "TASK[$c].ctty=7"
hostile "a ctty naming no pair" "not a pty pair" "TASK[$c].ctty_pty_id=$((n + 1))"
hostile "a foreground group of nobody" "not a group of its session" "TASK[$c].tty_fg_pgrp=1"
go_and_check
vx_wait_gone "$PID" 10 || fail "pty $PID did not exit after its check"
vx_untrack "$PID"
rm -f "$OUT"

for mode in masteronly unread-out unread-in; do
	start_prog pty "$mode"
	case $mode in
	masteronly) pat="no process of the tree holds its slave" ;;
	unread-out) pat="bytes the slave wrote are not read yet" ;;
	unread-in) pat="bytes typed into the pty are not read yet" ;;
	esac
	expect_dump_refused "pty $mode" "$pat"
	kill -9 "$PID"
	vx_wait_gone "$PID" 10 || fail "pty $mode did not die"
	vx_untrack "$PID"
	rm -f "$OUT"
done

# A new pair may get another number than the old one had: its links,
# inode and index then differ, and so does the ctty number (not its pair)
for fd in 3 4 5 6 20; do
	guard_allow "fd.$fd" "a pty pair is made anew: /dev/pts/N may be another number"
	guard_allow "fdinfo.$fd.ino" "a pty pair is made anew: the slave's devpts inode follows N"
	guard_allow "fdinfo.$fd.tty-index" "a pty pair is made anew: another index"
done
guard_allow 'stat.tty_nr' "a pty pair is made anew: the slave may be another number"
tree_cr_cycle pty
