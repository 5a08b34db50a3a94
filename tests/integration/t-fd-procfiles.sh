#!/bin/bash
# fds on /proc files of the tree (one description shared by parent and
# child) and on namespace files
# (tests/progs/procfiles.c): reopened against the restored tasks and the
# namespaces the tree runs in, offsets kept.  Refused at dump, one line
# each, target untouched: a /proc file of a process outside the tree, a
# namespace the tree is not in.  Refused at restore: crafted images that
# name a /proc file of a task not in the image (/proc/1/environ), or a
# host process's /proc file as a plain file or through "..".  Refused at
# dump too: a /proc file seen through another /proc mount.  Also restored
# with --pidns.
. "$(dirname "$0")/lib.sh"
require_cr
guard_allow 'fdinfo.*.ino' "a /proc file of a restored task is a new procfs inode (procfs numbers its inodes per process instance); the program checks what it reads"
EDIT=$VX_BUILD/tests/fuzz/edit-image
[ -x "$EDIT" ] || fail "$EDIT not built"

sleep 600 &
OUTSIDE=$!
vx_track "$OUTSIDE"
start_prog procfiles outside "$OUTSIDE"
expect_dump_refused "a /proc file of a process outside the tree" \
	"/proc/$OUTSIDE/stat: a /proc file of pid $OUTSIDE, which is not in the tree"
go_and_check
rm -f "$OUT"

unshare --uts sleep 600 &
FOREIGN=$!
vx_track "$FOREIGN"
sleep 0.3
start_prog procfiles foreign-ns "$FOREIGN"
expect_dump_refused "a namespace the tree is not in" "namespace uts:\[[0-9]+\] is not one the tree runs in"
go_and_check
rm -f "$OUT"
kill "$OUTSIDE" "$FOREIGN"

# A task in a pid namespace of its own with its own /proc: its fd reads
# /proc/1/stat through a /proc mount that is not ours.
( unshare -p -f -m --mount-proc "$PROGS/procfiles" "$T/out2" outside 1 \
	</dev/null >"$T/prog2.out" 2>&1 & echo $! >"$T/unshare.pid" )
USH=$(cat "$T/unshare.pid")
vx_track "$USH"
vx_wait_line "$T/out2" '^ready$' 20 || fail "procfiles in its own pid namespace did not get ready"
PID=$(pgrep -P "$USH")
[ -n "$PID" ] || fail "no child of unshare $USH"
vx_track "$PID"
vx_remember
expect_dump_refused "a /proc file of another /proc mount" "a /proc file of another /proc mount"
kill -9 "$PID"
vx_wait_gone "$PID" 10 || fail "procfiles $PID did not die"

start_prog procfiles
vx_track_tree "$PID"
dump "$PID" "$T/img.lr" --leave-running
"$VXCR" img show "$T/img.lr" >"$T/show" 2>&1 || fail "vxcr img show failed"
[ "$(grep -c 'FILE_PROC' "$T/show")" -eq 8 ] || fail "image shows $(grep -c FILE_PROC "$T/show") /proc files, expected 8"
[ "$(grep -c 'FILE_NS' "$T/show")" -eq 9 ] || fail "image shows $(grep -c FILE_NS "$T/show") ns files, expected 9"
i=$(file_index "$T/img.lr" 'p.get("kind") == "FILE_PROC"') || fail "no /proc record"
"$EDIT" "$T/img.lr" "$T/p1.img" "FILE[$i].proc_pid=1" "FILE[$i].proc_rest=environ" ||
	fail "edit-image failed"
expect_refused_by "/proc/1/environ" "/proc/1/environ is not a file of a task of the image" \
	"$VXRESTORE" "$T/p1.img"
"$EDIT" "$T/img.lr" "$T/dots.img" "FILE[$i].proc_rest=task/../../1/mem" || fail "edit-image failed"
expect_refused_by "a /proc path with .." "/proc file id [0-9]+: bad pid, path" "$VXRESTORE" "$T/dots.img"
go_and_check
vx_wait_gone "$PID" 10 || fail "procfiles $PID did not exit after its check"
vx_untrack "$PID"
i=$(file_index "$T/img.lr" 'p.get("path") == "/proc/meminfo"') || fail "no /proc/meminfo record"
ino=$(stat -c %i /proc/1/environ)
"$EDIT" "$T/img.lr" "$T/reg.img" "FILE[$i].path=/proc/1/environ" "FILE[$i].ino=$ino" ||
	fail "edit-image failed"
expect_refused_by "/proc/1/environ as a plain file" "/proc/1/environ is a /proc file of a process" \
	"$VXRESTORE" "$T/reg.img"
i=$(file_index "$T/img.lr" 'p.get("kind") == "FILE_NS"') || fail "no ns record"
"$EDIT" "$T/img.lr" "$T/ns.img" "FILE[$i].ns_type=../../1/ns/net" || fail "edit-image failed"
expect_refused_by "a namespace type not in the list" "namespace file id [0-9]+: bad type" \
	"$VXRESTORE" "$T/ns.img"
rm -f "$OUT"

# --pidns: the /proc files and the pid namespace file are the new
# namespace's (the restored tasks' own /proc, the namespace they are in).
start_prog procfiles
vx_track_tree "$PID"
dump "$PID" "$T/img.ns"
"$VXRESTORE" --pidns -d "$T/img.ns" >"$T/restore.out" 2>"$T/restore.err" ||
	fail "vxrestore --pidns exited $?: $(head -n 3 "$T/restore.err")"
R=$(tail -n 1 "$T/restore.out")
[ -d "/proc/$R" ] || fail "restored root $R not found"
vx_track "$(awk '$1 == "PPid:" {print $2}' "/proc/$R/status")"
vx_track_tree "$R"
PID=$R
go_and_check
rm -f "$OUT"

tree_cr_cycle procfiles
