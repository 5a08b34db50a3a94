#!/bin/bash
# Dump and restore tests/progs/shared-mem.c: shared anonymous memory, a
# memfd and a SysV segment shared by parent and child see each other's
# writes after restore, and the 64 MiB buffer written before fork stays
# shared copy-on-write (the program fails if its Pss is not clearly below
# its Rss, i.e. restore duplicated it).  The image must also not hold the
# buffer twice: it must be smaller than two copies of it (uncompressed).
. "$(dirname "$0")/lib.sh"
require_cr
start_prog shared-mem
vx_tree_snapshot "$PID" "$T/tree.before"
vx_track_tree "$PID"
dump "$PID" "$T/img" --compress none
vx_tree_gone "$T/tree.before"
size=$(stat -c %s "$T/img")
log "uncompressed image: $((size >> 20)) MiB"
[ "$size" -lt $(( 96 << 20 )) ] || fail "image of $((size >> 20)) MiB: the 64 MiB COW buffer is stored twice"
sum=$(sha256sum <"$T/img")
restore_bg "$T/img"
vx_tree_expect "$T/tree.before" "$PID"
go_and_check
grep '^smaps' "$OUT" | while read -r l; do log "$l"; done
wait_restore_exit 0
[ "$(sha256sum <"$T/img")" = "$sum" ] || fail "vxrestore modified the image"
pass
