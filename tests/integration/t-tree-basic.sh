#!/bin/bash
# Dump and restore tests/progs/tree-basic.c (7 processes, depth 3): the
# whole tree is gone after vxdump, the same tree (pids, parents, groups,
# sessions, tids) exists again after restore, the root carries on counting
# from where it was, and every member's own checks pass.
. "$(dirname "$0")/lib.sh"
require_cr
start_prog tree-basic
vx_tree_snapshot "$PID" "$T/tree.before"
vx_track_tree "$PID"
[ "$(grep -c '^pid' "$T/tree.before")" = 7 ] || fail "expected 7 processes: $(cat "$T/tree.before")"
expect_counting "before dump"
dump "$PID" "$T/img"
vx_tree_gone "$T/tree.before"
before=$(last_count)
sum=$(sha256sum <"$T/img")
restore_bg "$T/img"
vx_tree_expect "$T/tree.before" "$PID"
expect_counting "after restore"
after=$(grep -E '^count [0-9]+$' "$OUT" | awk -v b="$before" '$2 > b {print $2; exit}')
[ -n "$after" ] || fail "no count above $before after restore"
log "last count before dump $before, first after restore $after"
go_and_check
wait_restore_exit 0
[ "$(sha256sum <"$T/img")" = "$sum" ] || fail "vxrestore modified the image"
pass "$(vx_tree_summary "$T/tree.before")"
