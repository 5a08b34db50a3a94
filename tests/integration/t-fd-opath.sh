#!/bin/bash
# O_PATH fds (tests/progs/opath.c): a dangling symlink and a symlink to a
# file held themselves (O_PATH|O_NOFOLLOW), a file and a directory; each
# comes back on the same inode with its flags, the symlinks not followed.
# An O_PATH fd on a removed file is refused at dump; crafted O_PATH
# records (write flags, O_DIRECTORY on a symlink) at restore.
. "$(dirname "$0")/lib.sh"
require_cr
start_prog opath removed
expect_dump_refused "an O_PATH fd on a removed file" "O_PATH fd on .*/opath.d/file, which has no name now"
go_and_check
rm -rf "$OUT" "$T/opath.d"
start_prog opath
dump "$PID" "$T/img.lr" --leave-running
"$VXCR" img show "$T/img.lr" >"$T/show" 2>&1 || fail "vxcr img show failed"
n=$(grep -c 'FILE_OPATH' "$T/show")
[ "$n" -eq 4 ] || fail "image shows $n O_PATH files, expected 4"
EDIT=$VX_BUILD/tests/fuzz/edit-image
[ -x "$EDIT" ] || fail "$EDIT not built"
i=$("$VXCR" img json "$T/img.lr" | python3 -c '
import json, sys
recs = [r for r in json.load(sys.stdin)["records"] if r["type"] == "FILE"]
print(next(i for i, r in enumerate(recs) if r["payload"].get("kind") == "FILE_OPATH"))') ||
	fail "no O_PATH record"
"$EDIT" "$T/img.lr" "$T/bad.img" "FILE[$i].flags=0x200002" || fail "edit-image failed"
expect_refused_by "an O_PATH record with write flags" "O_PATH file id .*bad flags" \
	"$VXRESTORE" "$T/bad.img"
"$EDIT" "$T/img.lr" "$T/dir.img" "FILE[$i].flags=0x210000" || fail "edit-image failed"
expect_refused_by "O_DIRECTORY on a symlink" "O_DIRECTORY on a non-directory" \
	"$VXRESTORE" "$T/dir.img"
kill "$PID"
vx_wait_gone "$PID" 10 || fail "opath $PID did not die"
vx_untrack "$PID"
rm -rf "$OUT" "$T/opath.d"
cr_cycle opath
