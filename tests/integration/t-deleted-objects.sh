#!/bin/bash
# Removed directories, FIFOs and device nodes restored as ghosts (issue
# 11; tests/progs/deleted-objects): an fd on a removed directory, a
# removed cwd (of the process, of a thread with fs info of its own and of
# a child), a removed FIFO with both ends and buffered bytes, a named FIFO
# open twice (its bytes restored once), a removed node of /dev/null's
# device, block device nodes of /dev/loop0's device (one removed, one
# named).  A --leave-running dump first (the original then checks itself:
# the dump took nothing), then the restore of that image; the private
# directory ghosts are made in is gone afterwards.  Hostile edits (a
# cwd_file_id naming no removed directory, a removed directory with a
# regular mode, a removed device node checked by another device's node or
# outside /dev) are refused in one line.  A removed node of a device that
# has no node under /dev is refused at dump.
. "$(dirname "$0")/lib.sh"
require_cr

ghost_dirs() { find /tmp -maxdepth 1 -name '.vxcr-ghost-*' 2>/dev/null | wc -l; }
before=$(ghost_dirs)
start_prog deleted-objects
vx_track_tree "$PID"
dump "$PID" "$T/img" --leave-running
go_and_check
vx_wait_gone "$PID" 10 || fail "deleted-objects $PID did not exit after its check"
rm -f "$OUT"
sum=$(md5sum <"$T/img")
restore_bg "$T/img"
cwd=$(readlink "/proc/$PID/cwd")
case $cwd in
"/tmp/.vxcr-ghost-"*"/cwd (deleted)") ;;
*) fail "cwd of the restored $PID is '$cwd'" ;;
esac
go_and_check
wait_restore_exit 0
[ "$(md5sum <"$T/img")" = "$sum" ] || fail "vxrestore modified the image"
[ "$(ghost_dirs)" = "$before" ] || fail "vxrestore left a private ghost directory in /tmp"
[ -z "$(ls "$T" | grep -E '^(removed|cwd|thread-cwd|child-cwd|ff|devnode|blknode)$')" ] || fail "a ghost got a name in $T"

EDIT=$VX_BUILD/tests/fuzz/edit-image
[ -x "$EDIT" ] || fail "$EDIT not built"
d=$(file_index "$T/img" 'p.get("kind") == "FILE_DIR" and p.get("deleted")') || fail "no removed directory in the image"
c=$(file_index "$T/img" 'p.get("kind") == "FILE_CHR"') || fail "no device in the image"
"$EDIT" "$T/img" "$T/bad.img" "TASK[0].cwd_file_id=$((c + 1))" || fail "edit-image"
expect_refused_by "a cwd_file_id naming a device" "names no removed directory" "$VXRESTORE" "$T/bad.img"
"$EDIT" "$T/img" "$T/bad.img" "FILE[$d].mode=0x81a4" || fail "edit-image"
expect_refused_by "a removed directory with a regular mode" "bad mode" "$VXRESTORE" "$T/bad.img"
n=$(file_index "$T/img" 'p.get("kind") == "FILE_CHR" and p.get("deleted")') || fail "no removed device node in the image"
"$EDIT" "$T/img" "$T/bad.img" "FILE[$n].dev_path=/dev/zero" || fail "edit-image"
expect_refused_by "a removed device checked by another device's node" "is device 1:5, the image says 1:3" \
	"$VXRESTORE" "$T/bad.img"
"$EDIT" "$T/img" "$T/bad.img" "FILE[$n].dev_path=/dev/../tmp/x" || fail "edit-image"
expect_refused_by "a removed device checked outside /dev" "no node under /dev" "$VXRESTORE" "$T/bad.img"

# A removed node of a device this host has no node of under /dev: vxdump
# runs in a mount namespace where /dev/net (tun's node) is hidden.
rm -f "$OUT"
start_prog deleted-objects tun
unshare -m sh -c 'mount -t tmpfs none /dev/net && exec "$0" -o "$1" "$2"' \
	"$VXDUMP" "$T/img.tun" "$PID" >"$T/dump.out" 2>"$T/dump.err"
st=$?
[ "$st" = 1 ] || fail "vxdump of a removed tun node exited $st: $(head -n 3 "$T/dump.err")"
[ "$(wc -l <"$T/dump.err")" = 2 ] || fail "vxdump: expected a refusal and a summary: $(cat "$T/dump.err")"
grep -q "removed device node .*devnode (10:200): no node of that device under /dev" "$T/dump.err" ||
	fail "refusal does not say why: $(cat "$T/dump.err")"
log "removed tun node refused: $(head -n 1 "$T/dump.err")"
go_and_check
pass
