#!/bin/bash
# Memory areas backed by files deleted while mapped.  Case 1: tests/progs/
# deleted-map maps a file MAP_PRIVATE (some pages COWed) and MAP_SHARED and
# unlinks it; after restore it checks both mappings byte for byte, the
# write-through of the shared one and the " (deleted)" path in its maps.
# Case 2: a copy of tests/progs/counter deletes nothing itself, but its
# binary is removed before the dump; after restore it carries on and its
# exe link reads "$T/counter-copy (deleted)".
. "$(dirname "$0")/lib.sh"
require_cr

start_prog deleted-map
dump "$PID" "$T/img"
restore_bg "$T/img"
go_and_check
wait_restore_exit 0
[ -z "$(ls "$T" | grep '^deleted-map\.')" ] || fail "ghost file left in $T: $(ls "$T")"

cp "$PROGS/counter" "$T/counter-copy" || fail "cannot copy counter"
start_cmd "$T/out2" "$T/counter-copy" "$T/out2"
vx_wait_line "$OUT" '^ready$' 20 || fail "counter-copy did not get ready"
vx_remember
expect_counting "before dump"
rm -f "$T/counter-copy"
[ "$(readlink "/proc/$PID/exe")" = "$T/counter-copy (deleted)" ] ||
	fail "exe of $PID is $(readlink "/proc/$PID/exe") before the dump"
dump "$PID" "$T/img2"
before=$(last_count)
restore_bg "$T/img2"
expect_counting "after restore"
exe=$(readlink "/proc/$PID/exe")
# a ghost has no name of its own (NOTES): same directory, still "(deleted)"
case $exe in
"$T/#"*" (deleted)") ;;
*) fail "exe of the restored $PID is '$exe'" ;;
esac
[ ! -e "$T/counter-copy" ] || fail "ghost binary left at $T/counter-copy"
log "exe link after restore: $exe, counting on from $before"
go_and_check
wait_restore_exit 0
pass
