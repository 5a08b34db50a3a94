#!/bin/bash
# signalfds (tests/progs/signalfd.c): the mask, O_NONBLOCK, one description
# shared with a child blocked reading it across the dump, and signals
# pending at the dump (a tgkill'ed SIGUSR2, a sigqueue'd SIGRTMIN+3) read
# from the signalfd after restore with their siginfo.  A --leave-running
# dump first (the original then passes its own checks: nothing was
# consumed); hostile edits of that image are refused in one line; then a
# dump and restore of the tree.
. "$(dirname "$0")/lib.sh"
require_cr
start_prog signalfd
vx_track_tree "$PID"
dump "$PID" "$T/img.lr" --leave-running
"$VXCR" img show "$T/img.lr" >"$T/show" 2>&1 || fail "vxcr img show failed: $(head -n 3 "$T/show")"
n=$(grep -c 'FILE_SIGNALFD' "$T/show")
[ "$n" -eq 2 ] || fail "image shows $n signalfd files, expected 2"

EDIT=$VX_BUILD/tests/fuzz/edit-image
[ -x "$EDIT" ] || fail "$EDIT not built"
i=$(file_index "$T/img.lr" 'p.get("kind") == "FILE_SIGNALFD"') || fail "no signalfd record in the image"
"$EDIT" "$T/img.lr" "$T/kill.img" "FILE[$i].signalfd.sigmask=0x100" || fail "edit-image failed"
expect_refused_by "a signalfd mask with SIGKILL" "signalfd .*holds SIGKILL" "$VXRESTORE" "$T/kill.img"
"$EDIT" "$T/img.lr" "$T/flags.img" "FILE[$i].flags=0" || fail "edit-image failed"
expect_refused_by "a read-only signalfd" "signalfd .*not a signalfd's" "$VXRESTORE" "$T/flags.img"
i=$(file_index "$T/img.lr" 'p.get("kind") == "FILE_CHR"') || fail "no device record in the image"
"$EDIT" "$T/img.lr" "$T/bare.img" "FILE[$i].kind=14" || fail "edit-image failed"
expect_refused_by "a signalfd without its entry" "has no signalfd entry" "$VXRESTORE" "$T/bare.img"
go_and_check
vx_wait_gone "$PID" 10 || fail "signalfd $PID did not exit after its check"
vx_untrack "$PID"
rm -f "$OUT"
tree_cr_cycle signalfd
