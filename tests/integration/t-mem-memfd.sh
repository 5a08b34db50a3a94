#!/bin/bash
# Private mappings of memfds and mappings of /dev/zero (tests/progs/mem-memfd.c):
# copied pages stay the mapping's own, the others still follow the memfd
# after restore; shared /dev/zero memory is still shared with the child; a
# private /dev/zero area still shows as /dev/zero.  A hostile image that
# maps another character device where /dev/zero was is refused.
. "$(dirname "$0")/lib.sh"
require_cr
start_prog mem-memfd
vx_track_tree "$PID"
dump "$PID" "$T/img.lr" --leave-running
EDIT=$VX_BUILD/tests/fuzz/edit-image
[ -x "$EDIT" ] || fail "$EDIT not built"
i=$("$VXCR" img json "$T/img.lr" | python3 -c '
import json, sys
recs = [r for r in json.load(sys.stdin)["records"] if r["type"] == "FILE"]
print(next(i for i, r in enumerate(recs) if r["payload"].get("path") == "/dev/zero"))') ||
	fail "no /dev/zero file in the image"
"$EDIT" "$T/img.lr" "$T/null.img" "FILE[$i].path=/dev/null" "FILE[$i].rdev=0x103" ||
	fail "edit-image failed"
expect_refused_by "a private mapping of /dev/null" "mapped device other than /dev/zero" \
	"$VXRESTORE" "$T/null.img"
go_and_check
vx_wait_gone "$PID" 10 || fail "mem-memfd $PID did not exit after its check"
vx_untrack "$PID"
rm -f "$OUT"
tree_cr_cycle mem-memfd
