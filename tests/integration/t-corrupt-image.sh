#!/bin/bash
# A restore of an image with one byte flipped in the middle fails with exit
# status 1 and a one-line message and leaves no process with the pid; the
# intact image still restores afterwards (so the refusal was the byte's).
. "$(dirname "$0")/lib.sh"
require_cr
start_prog counter
expect_counting "before dump"
dump "$PID" "$T/img"
size=$(stat -c %s "$T/img")
off=$((size / 2))
cp "$T/img" "$T/bad.img"
byte=$(od -An -tu1 -j "$off" -N 1 "$T/img" | tr -d ' ')
printf "$(printf '\\%03o' $((byte ^ 0xff)))" |
	dd of="$T/bad.img" bs=1 seek="$off" conv=notrunc status=none
cmp -s "$T/img" "$T/bad.img" && fail "could not corrupt the image"
if "$VXCR" img verify "$T/bad.img" >/dev/null 2>&1; then
	fail "vxcr img verify accepts the corrupt image"
fi
expect_refused "$T/bad.img" "image with byte $off of $size flipped"
restore_bg "$T/img"
expect_counting "after restore"
go_and_check
wait_restore_exit 0
pass
