#!/bin/bash
# eventfds (tests/progs/eventfd.c): counter (above 32 bits), semaphore
# mode, O_NONBLOCK, one description shared by a dup and by a child that
# blocks reading one across the dump.  A --leave-running dump first: the
# dump reads the counters from fdinfo and consumes nothing (the original
# then passes its own checks), and the image shows the eventfd entries;
# then a dump and restore of the tree.
. "$(dirname "$0")/lib.sh"
require_cr
start_prog eventfd
vx_track_tree "$PID"
dump "$PID" "$T/img.lr" --leave-running
"$VXCR" img show "$T/img.lr" >"$T/show" 2>&1 || fail "vxcr img show failed: $(head -n 3 "$T/show")"
n=$(grep -c 'FILE_EVENTFD' "$T/show")
[ "$n" -eq 5 ] || fail "image shows $n eventfd files, expected 5"
grep -q 'semaphore' "$T/show" || fail "image shows no semaphore eventfd"

# Hostile edits of that image (tests/fuzz/edit-image) are refused in one
# line before anything is created: a count the kernel cannot hold, an
# eventfd record without its eventfd entry.
EDIT=$VX_BUILD/tests/fuzz/edit-image
[ -x "$EDIT" ] || fail "$EDIT not built"
i=$(file_index "$T/img.lr" 'p.get("kind") == "FILE_EVENTFD"') || fail "no eventfd record in the image"
"$EDIT" "$T/img.lr" "$T/max.img" "FILE[$i].eventfd.count=0xffffffffffffffff" ||
	fail "edit-image failed"
expect_refused_by "an eventfd count of 2^64-1" "eventfd .*out of range" "$VXRESTORE" "$T/max.img"
i=$(file_index "$T/img.lr" 'p.get("kind") == "FILE_CHR"') || fail "no device record in the image"
"$EDIT" "$T/img.lr" "$T/bare.img" "FILE[$i].kind=8" || fail "edit-image failed"
expect_refused_by "an eventfd without its entry" "has no eventfd entry" "$VXRESTORE" "$T/bare.img"
go_and_check
vx_wait_gone "$PID" 10 || fail "eventfd $PID did not exit after its check"
vx_untrack "$PID"
rm -f "$OUT"
tree_cr_cycle eventfd
