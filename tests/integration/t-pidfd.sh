#!/bin/bash
# pidfds (tests/progs/pidfd.c): of a live child (blocking, non-blocking,
# inherited by another child), of a thread (PIDFD_THREAD), of a zombie
# child, of children that died and were reaped (by a signal, by exit 3):
# restored to refer to the restored processes, or dead with their exit
# status.  A --leave-running dump first (the original then passes its own
# checks); hostile edits of that image are refused in one line; then a
# dump and restore of the tree, also into a new pid namespace (--pidns);
# a pidfd of a process outside the tree is refused at dump.
. "$(dirname "$0")/lib.sh"
require_cr
start_prog pidfd
vx_track_tree "$PID"
dump "$PID" "$T/img.lr" --leave-running
"$VXCR" img show "$T/img.lr" >"$T/show" 2>&1 || fail "vxcr img show failed: $(head -n 3 "$T/show")"
n=$(grep -c 'FILE_PIDFD' "$T/show")
[ "$n" -eq 6 ] || fail "image shows $n pidfd files, expected 6"

EDIT=$VX_BUILD/tests/fuzz/edit-image
[ -x "$EDIT" ] || fail "$EDIT not built"
i=$(file_index "$T/img.lr" 'p.get("kind") == "FILE_PIDFD" and p["pidfd"].get("pid", 0) > 0') ||
	fail "no live pidfd record in the image"
"$EDIT" "$T/img.lr" "$T/host.img" "FILE[$i].pidfd.pid=1" || fail "edit-image failed"
expect_refused_by "a pidfd of the host's pid 1" "pidfd .*pid 1 is not a .* of the image" \
	"$VXRESTORE" "$T/host.img"
"$EDIT" "$T/img.lr" "$T/flags.img" "FILE[$i].flags=0" || fail "edit-image failed"
expect_refused_by "a read-only pidfd" "pidfd .*not a pidfd's" "$VXRESTORE" "$T/flags.img"
i=$(file_index "$T/img.lr" 'p.get("kind") == "FILE_PIDFD" and p["pidfd"].get("pid", 0) == 0') ||
	fail "no dead pidfd record in the image"
"$EDIT" "$T/img.lr" "$T/stop.img" "FILE[$i].pidfd.exit_status=0x137f" || fail "edit-image failed"
expect_refused_by "a dead pidfd with a stop status" "pidfd .*status 0x137f is not" \
	"$VXRESTORE" "$T/stop.img"
"$EDIT" "$T/img.lr" "$T/core.img" "FILE[$i].pidfd.exit_status=0x8b" || fail "edit-image failed"
expect_refused_by "a dead pidfd that dumped core" "pidfd .*status 0x8b is not" \
	"$VXRESTORE" "$T/core.img"
i=$(file_index "$T/img.lr" 'p.get("kind") == "FILE_CHR"') || fail "no device record in the image"
"$EDIT" "$T/img.lr" "$T/bare.img" "FILE[$i].kind=19" || fail "edit-image failed"
expect_refused_by "a pidfd without its entry" "has no pidfd entry" "$VXRESTORE" "$T/bare.img"
go_and_check
vx_wait_gone "$PID" 10 || fail "pidfd $PID did not exit after its check"
vx_untrack "$PID"
rm -f "$OUT"

start_prog pidfd outside
vx_track_tree "$PID"
expect_dump_refused "a pidfd of a process outside the tree" \
	"pidfd of process [0-9]+, which is not in the tree"
kill -USR1 "$PID"
vx_wait_gone "$PID" 10 || fail "pidfd $PID did not exit after its check"
vx_untrack "$PID"
rm -f "$OUT"

# --pidns: the pidfds refer to the restored tasks of the new namespace
# (opened there by their holders); the dead ones' helpers come and go in it.
start_prog pidfd
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

tree_cr_cycle pidfd
