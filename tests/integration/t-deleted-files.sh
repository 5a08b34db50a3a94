#!/bin/bash
# Deleted regular files restored exactly (issue 11; tests/progs/deleted-files):
# a 100 GiB sparse file with 832 KiB of data (holes kept, extents only in
# the image, under the 1 GiB limit of stored data), data after a hole up to
# an odd size, a file written again through its fd after the unlink, one
# inode open twice and mapped (one ghost, not three), owner/mode/atime/
# mtime.  A --leave-running dump first: the original then checks that the
# dump changed nothing (atime, offsets); the image it wrote is restored and
# the copy checks itself.  Hostile edits of the new fields are refused in
# one line.  A deleted name of a file that has another name is refused at
# dump in one line; a deleted file written from outside the tree during the
# dump fails the dump.
. "$(dirname "$0")/lib.sh"
require_cr

start_prog deleted-files
dump "$PID" "$T/img" --leave-running
size=$(stat -c %s "$T/img")
[ "$size" -lt $((8 << 20)) ] || fail "image of 832 KiB of data is $size bytes: holes stored"
go_and_check
vx_wait_gone "$PID" 10 || fail "deleted-files $PID did not exit after its check"
rm -f "$OUT"
sum=$(md5sum <"$T/img")
restore_bg "$T/img"
go_and_check
wait_restore_exit 0
[ "$(md5sum <"$T/img")" = "$sum" ] || fail "vxrestore modified the image"
left=$(ls "$T" | grep -E '^(sparse|tail|rewritten|shared|attrs)$')
[ -z "$left" ] || fail "a ghost got a name in $T: $left"

# Hostile edits: each refused in one line, nothing restored.
EDIT=$VX_BUILD/tests/fuzz/edit-image
[ -x "$EDIT" ] || fail "$EDIT not built"
sp=$(file_index "$T/img" 'p.get("path", "").endswith("/sparse")') || fail "no sparse file in the image"
sh=$(file_index "$T/img" 'p.get("ghost_id", 0) > 0') || fail "no entry sharing a ghost in the image"
try()	# WHAT PATTERN EDIT...
{
	local what=$1 pat=$2
	shift 2
	"$EDIT" "$T/img" "$T/bad.img" "$@" || fail "edit-image $*"
	expect_refused_by "$what" "$pat" "$VXRESTORE" "$T/bad.img"
}
try "data beyond the size" "data records do not make" "FILE[$sp].size=1073741924"
try "more stored bytes than the records" "data records do not make" "FILE[$sp].data_len=1"
try "a ghost_id naming nothing" "ghost_id .* does not name" "FILE[$sh].ghost_id=9999"
try "a ghost_id naming itself" "bad mode, owner or ghost_id" "FILE[$sh].ghost_id=$((sh + 1))"
try "uid 2^32-1" "bad mode, owner or ghost_id" "FILE[$sp].uid=0xffffffff"
try "a deleted directory mode" "bad mode, owner or ghost_id" "FILE[$sp].mode=0x41ed"

# A deleted hard link: refused at dump, the target unharmed.
rm -f "$OUT"
start_prog deleted-files hardlink
"$VXDUMP" -o "$T/img.hl" "$PID" >"$T/dump.out" 2>"$T/dump.err"
st=$?
[ "$st" = 1 ] || fail "vxdump of a deleted hard link exited $st: $(head -n 3 "$T/dump.err")"
[ "$(wc -l <"$T/dump.err")" = 2 ] || fail "vxdump: expected a refusal and a summary: $(cat "$T/dump.err")"
grep -Eq "linked.*still has 1 other name" "$T/dump.err" || fail "refusal does not say why: $(cat "$T/dump.err")"
[ ! -e "$T/img.hl" ] || fail "vxdump left an image"
log "hard link refused: $(head -n 1 "$T/dump.err")"
go_and_check
vx_wait_gone "$PID" 10 || fail "deleted-files $PID did not exit after its check"

# A deleted file written by a process outside the tree during the dump: the
# image would not hold what the file holds, so the dump fails, naming it.
rm -f "$OUT"
start_prog deleted-files one
python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
off = 0
while True:
    os.pwrite(fd, b"w" * 4096, off)
    off = (off + 4096) % (16 << 20)' "/proc/$PID/fd/3" &
WPID=$!
vx_track "$WPID"
sleep 0.2
# On 2 busy cores the writer may not run at all while a dump reads the
# file (then the dump is right to succeed): up to 5 dumps that leave the
# target running, until one sees the change.
for try in 1 2 3 4 5; do
	"$VXDUMP" --leave-running -o "$T/img.ch" "$PID" >"$T/dump.out" 2>"$T/dump.err"
	st=$?
	[ "$st" = 0 ] || break
	log "dump $try saw no change (the writer did not run during it): again"
	rm -f "$T/img.ch"
done
kill "$WPID"
wait "$WPID" 2>/dev/null
vx_untrack "$WPID"
[ "$st" = 1 ] || fail "vxdump of a file changing under it exited $st: $(head -n 3 "$T/dump.err")"
grep -q "deleted file .*/one changed during the dump" "$T/dump.err" ||
	fail "vxdump does not say the file changed: $(cat "$T/dump.err")"
[ ! -e "$T/img.ch" ] || fail "vxdump left an image"
log "changing file: $(grep 'changed during' "$T/dump.err")"
go_and_check
pass
