#!/bin/bash
# Dump and restore tests/progs/counter: after restore it carries on from its
# counter (first new value above the last one before the dump) under the
# same pid, and checks every value in its output increased.
. "$(dirname "$0")/lib.sh"
require_cr
start_prog counter
expect_counting "before dump"
dump "$PID" "$T/img"
before=$(last_count)
restore_bg "$T/img"
expect_counting "after restore"
after=$(grep -E '^count [0-9]+$' "$OUT" | awk -v b="$before" '$2 > b {print $2; exit}')
[ -n "$after" ] || fail "no count above $before after restore"
log "last count before dump $before, first after restore $after"
go_and_check
wait_restore_exit 0
pass
