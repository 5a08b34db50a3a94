#!/bin/bash
# Incremental images (vxdump --parent, vxrestore --parent): a process of
# 64 MiB dumped with --leave-running, 4 MiB of it rewritten, dumped again
# with --parent: the second image is under a quarter of the first, shows
# PARENT ranges and names its parent; it restores only with its parent
# (missing parent, wrong parent, a full image with --parent, a parent
# lacking pages it needs: refused, nothing left), and the restored memory
# is checked byte for byte.  Then a chain of 3 (the grandchild dumped
# against both parents: small too) restores with both parents, nearest
# first, and is refused with them in the wrong order; a --pidns restore
# with a parent; a tree of 7 with parent ranges in every address space.
. "$(dirname "$0")/lib.sh"
require_cr

# dirty N: asks the program for round N and waits for it.
dirty()
{
	kill -USR2 "$PID"
	vx_wait_line "$OUT" "^dirtied $1\$" 10 || fail "round $1 not done"
}

# refused WHAT ARGS...: vxrestore ARGS must fail with one line, leaving
# nothing (the pid stays free).
refused()
{
	local what=$1
	shift
	timeout 60 "$VXRESTORE" "$@" >"$T/ref.out" 2>"$T/ref.err"
	local st=$?
	[ "$st" = 1 ] || fail "$what: vxrestore exited $st, expected 1: $(head -n 2 "$T/ref.err")"
	[ "$(wc -l <"$T/ref.err")" -ge 1 ] || fail "$what: no message"
	log "$what refused: $(head -n 1 "$T/ref.err")"
	[ -e "/proc/$PID" ] && fail "$what: pid $PID exists after the refused restore"
	return 0
}

size() { stat -c %s "$1"; }

start_prog mem-dirty 64 4
dump "$PID" "$T/p1.img" --leave-running --compress none
dirty 1
dump "$PID" "$T/p2.img" --leave-running --compress none --parent "$T/p1.img"
s1=$(size "$T/p1.img") s2=$(size "$T/p2.img")
log "full image $s1 bytes, incremental $s2 bytes"
[ $((s2 * 4)) -lt "$s1" ] || fail "incremental image $s2 bytes is not under 1/4 of $s1"
"$VXCR" img show "$T/p2.img" >"$T/p2.show" 2>&1 || fail "img show: $(tail -n 1 "$T/p2.show")"
grep -q "flags=0x2 parent=" "$T/p2.show" || fail "img show prints no parent range"
"$VXCR" img verify "$T/p2.img" >"$T/p2.verify" 2>&1 || fail "img verify: $(tail -n 1 "$T/p2.verify")"
"$VXCR" img json "$T/p2.img" | python3 -c '
import json, sys
d = json.load(sys.stdin)
n = sum(1 for r in d["records"] if r.get("prefix", {}).get("flags") == 2 and r.get("parent_length"))
sys.exit(0 if n else 1)' || fail "img json shows no parent range"
# another full image of the same process: not p2's parent
dump "$PID" "$T/other.img" --leave-running --compress none
dirty 2
# a dump against a chain that does not link is refused, the target runs on
"$VXDUMP" --parent "$T/p2.img" --parent "$T/other.img" -o "$T/bad.img" "$PID" 2>"$T/bad.err" &&
	fail "a dump against a broken chain succeeded"
vx_alive "$PID" && [ "$(vx_starttime "$PID")" = "$ORIG_START" ] || fail "the refused dump harmed $PID"
log "broken chain refused at dump: $(head -n 1 "$T/bad.err")"
dump "$PID" "$T/p3.img" --compress none --parent "$T/p2.img" --parent "$T/p1.img"
s3=$(size "$T/p3.img")
log "grandchild image $s3 bytes (dumped against the chain)"
[ $((s3 * 4)) -lt "$s1" ] || fail "grandchild image $s3 bytes is not under 1/4 of $s1"

# refusals: nothing restored, the pid stays free
refused "no parent" "$T/p2.img"
refused "wrong parent" --parent "$T/other.img" "$T/p2.img"
grep -q "its parent is .*, not " "$T/ref.err" || fail "wrong parent: $(cat "$T/ref.err")"
refused "incremental parent alone" --parent "$T/p2.img" "$T/p2.img"
refused "full image with a parent" --parent "$T/p1.img" "$T/p1.img"
refused "missing grandparent" --parent "$T/p2.img" "$T/p3.img"
refused "chain in the wrong order" --parent "$T/p1.img" --parent "$T/p2.img" "$T/p3.img"
# a parent (same id) lacking pages the image takes from it: found when the
# range is read, once the tree exists; it is undone like any late failure
python3 "$VX_ROOT/tests/integration/img-edit.py" drop-pages "$T/p1.img" "$T/p1-holed.img" ||
	fail "img-edit drop-pages failed"
refused "a parent without some pages" --parent "$T/p1-holed.img" "$T/p2.img"
grep -q "are not in the parent images" "$T/ref.err" || fail "holed parent: $(cat "$T/ref.err")"

# the chain of 3: the grandchild with both parents, nearest first
restore_bg --parent "$T/p2.img" --parent "$T/p1.img" "$T/p3.img"
go_and_check
grep -q '^rounds 2$' "$OUT" || fail "restored program saw $(grep '^rounds' "$OUT")"
wait_restore_exit 0
sed -i '/^PASS\|^rounds/d' "$OUT"

# the child with its parent, the original long gone
restore_bg --parent "$T/p1.img" "$T/p2.img"
go_and_check
grep -q '^rounds 1$' "$OUT" || fail "restored program saw $(grep '^rounds' "$OUT" | tail -n 1)"
wait_restore_exit 0
# --pidns: the store is built before the namespace's init is forked
sed -i '/^PASS\|^rounds/d' "$OUT"
R=$("$VXRESTORE" -d --pidns --parent "$T/p1.img" "$T/p2.img" 2>"$T/pidns.err") ||
	fail "--pidns --parent: $(head -n 2 "$T/pidns.err")"
vx_track "$R"
kill -USR1 "$R"
vx_wait_line "$OUT" '^(PASS|FAIL)' 30 || fail "--pidns: no result from $R"
grep -q '^PASS' "$OUT" && grep -q '^rounds 1$' "$OUT" || fail "--pidns: $(grep -E '^(PASS|FAIL|rounds)' "$OUT")"
vx_wait_gone "$R" 10 || fail "--pidns: $R still there after its check"

# A tree: the children's PARENT ranges (restored by /proc/PID/mem and
# process_vm_writev beside their copy-on-write areas, not by uffd).
rm -f "$OUT"
start_prog tree-basic
vx_tree_snapshot "$PID" "$T/tree.before"
vx_track_tree "$PID"
dump "$PID" "$T/t1.img" --leave-running
dump "$PID" "$T/t2.img" --parent "$T/t1.img"
vx_tree_gone "$T/tree.before"
"$VXCR" img show "$T/t2.img" | awk '/ PAGES / && /flags=0x2/ {split($5, m, "="); print m[2]}' |
	sort -u >"$T/t2.mms"
[ "$(wc -l <"$T/t2.mms")" -ge 2 ] || fail "tree: parent ranges of $(wc -l <"$T/t2.mms") address spaces only"
restore_bg --parent "$T/t1.img" "$T/t2.img"
vx_tree_expect "$T/tree.before" "$PID"
go_and_check
wait_restore_exit 0
pass "images $s1, $s2 and $s3 bytes, chain of 3 restored; a tree with parent ranges in $(wc -l <"$T/t2.mms") address spaces"
