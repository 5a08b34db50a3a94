#!/bin/bash
# A file behind a mapping (here the program binary itself, a private copy)
# that changed after the dump makes the restore fail with one line naming
# the file, and nothing is left running; put back as it was (same inode,
# size and mtime), the image restores and the counter carries on.
. "$(dirname "$0")/lib.sh"
require_cr
cp -p "$PROGS/counter" "$T/counter-copy"
cp -p "$PROGS/counter" "$T/counter-orig"
PROGS_SAVED=$PROGS
PROGS=$T
start_prog counter-copy
PROGS=$PROGS_SAVED
expect_counting "before dump"
dump "$PID" "$T/img"

printf 'x' >>"$T/counter-copy"
expect_refused "$T/img" "an image whose binary grew by a byte"
grep -q "counter-copy" "$T/refused.err" || fail "message does not name the file: $(cat "$T/refused.err")"
grep -q "changed since the dump" "$T/refused.err" || fail "message does not say why: $(cat "$T/refused.err")"

truncate -s "$(stat -c %s "$T/counter-orig")" "$T/counter-copy"
touch -r "$T/counter-orig" "$T/counter-copy"
restore_bg "$T/img"
expect_counting "after restore"
go_and_check
wait_restore_exit 0
pass
