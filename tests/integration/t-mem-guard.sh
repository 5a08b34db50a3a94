#!/bin/bash
# Guard regions (tests/progs/mem-guard.c, MADV_GUARD_INSTALL): recorded at
# dump without reading them, reinstalled at restore in a parent and in a
# child that changed the guards it inherited; guard pages fault, the
# pages around them keep their data.  A hostile image whose guard range
# has no guard flag, or unknown madvise bits, is refused in one line.
. "$(dirname "$0")/lib.sh"
require_cr
start_prog mem-guard
vx_track_tree "$PID"
dump "$PID" "$T/img.lr" --leave-running
EDIT=$VX_BUILD/tests/fuzz/edit-image
[ -x "$EDIT" ] || fail "$EDIT not built"
i=$("$VXCR" img json "$T/img.lr" | python3 -c '
import json, sys
recs = [r for r in json.load(sys.stdin)["records"] if r["type"] == "MM"]
v = recs[0]["payload"]["vmas"]
print(next(i for i, a in enumerate(v) if a.get("guards")))') || fail "no area with guards in the image"
"$EDIT" "$T/img.lr" "$T/bad.img" "MM[0].vmas[$i].madv=0" || fail "edit-image failed"
expect_refused_by "guard regions without the guard flag" "guard regions without the guard flag" \
	"$VXRESTORE" "$T/bad.img"
"$EDIT" "$T/img.lr" "$T/bits.img" "MM[0].vmas[$i].madv=0x1800" || fail "edit-image failed"
expect_refused_by "unknown madvise bits" "unknown madvise bits" "$VXRESTORE" "$T/bits.img"
go_and_check
vx_wait_gone "$PID" 10 || fail "mem-guard $PID did not exit after its check"
vx_untrack "$PID"
rm -f "$OUT"
tree_cr_cycle mem-guard
