#!/bin/bash
# membarrier registrations (tests/progs/membarrier.c: all four in a
# two-threaded parent, PRIVATE_EXPEDITED only in its child) come back
# exactly, and the expedited commands work after restore.  A hostile
# task_entry.membarrier is refused in one line.
. "$(dirname "$0")/lib.sh"
require_cr
EDIT=$VX_BUILD/tests/fuzz/edit-image
[ -x "$EDIT" ] || fail "$EDIT not built"
start_prog membarrier
vx_track_tree "$PID"
dump "$PID" "$T/img"
"$VXCR" img show "$T/img" 2>/dev/null | grep -q "membarrier=340" ||
	fail "no membarrier=340 (0x154) in the image"
restore_bg "$T/img"
go_and_check
wait_restore_exit 0
"$EDIT" "$T/img" "$T/bad.img" "TASK[0].membarrier=0x200" || fail "edit-image failed"
expect_refused_by "membarrier bits" "membarrier registrations 0x200" "$VXRESTORE" "$T/bad.img"
pass
