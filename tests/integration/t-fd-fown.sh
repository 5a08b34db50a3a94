#!/bin/bash
# Owners of fds (tests/progs/fown.c): F_SETOWN_EX (process, thread,
# process group), F_SETSIG and O_ASYNC on a pipe, a FIFO (dup'ed to fd 40)
# and a regular file come back, and writing to the pipe and the FIFO
# after the restore queues the F_SETSIG signal with si_fd naming the fd.
# Refused at dump: an owner outside the tree (the harness).  Refused at
# restore: a crafted owner that is not a task of the image, a signal
# number out of range.
. "$(dirname "$0")/lib.sh"
require_cr
EDIT=$VX_BUILD/tests/fuzz/edit-image
[ -x "$EDIT" ] || fail "$EDIT not built"

start_prog fown outside
expect_dump_refused "an owner outside the tree" "its owner \(F_SETOWN process [0-9]+\) is not in the tree"
go_and_check
rm -f "$OUT"

start_prog fown
dump "$PID" "$T/img.lr" --leave-running
i=$("$VXCR" img json "$T/img.lr" | python3 -c '
import json, sys
recs = [r for r in json.load(sys.stdin)["records"] if r["type"] == "FILE"]
print(next(i for i, r in enumerate(recs) if r["payload"].get("owner_type") == 1))') ||
	fail "no file with an F_OWNER_PID owner in the image"
go_and_check
vx_wait_gone "$PID" 10 || fail "fown $PID did not exit after its check"
vx_untrack "$PID"
"$EDIT" "$T/img.lr" "$T/own1.img" "FILE[$i].owner_pid=1" || fail "edit-image failed"
expect_refused_by "an owner outside the image" "owner 1 \(type 1\) is not a task or group of the image" \
	"$VXRESTORE" "$T/own1.img"
"$EDIT" "$T/img.lr" "$T/sig.img" "FILE[$i].signum=65" || fail "edit-image failed"
expect_refused_by "signal 65" "bad F_SETSIG signal 65" "$VXRESTORE" "$T/sig.img"
rm -f "$OUT"
cr_cycle fown
