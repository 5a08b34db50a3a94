#!/bin/bash
# inotify instances (tests/progs/inotify.c): every watch back at its wd
# (with gaps of 1 and 300 below them), its mask (IN_ONESHOT,
# IN_EXCL_UNLINK, an IN_MASK_ADD), on files and a directory, by file
# handle; IN_NONBLOCK; an instance shared with a child that blocks reading
# it across the dump.  A --leave-running dump first (the original then
# passes its own checks: nothing was read from its queues) whose image
# takes hostile edits; then a dump and restore of the tree.  Refused: a
# watched file deleted and recreated before the restore (another inode),
# events queued and not read, a watched file unlinked; a watch edited to
# an inode the task (uid 65534) may not read.
. "$(dirname "$0")/lib.sh"
require_cr
EDIT=$VX_BUILD/tests/fuzz/edit-image
[ -x "$EDIT" ] || fail "$EDIT not built"

mkdir "$T/w"
start_prog inotify "$T/w"
vx_track_tree "$PID"
dump "$PID" "$T/img.lr" --leave-running
"$VXCR" img show "$T/img.lr" >"$T/show" 2>&1 || fail "vxcr img show failed: $(head -n 3 "$T/show")"
n=$(grep -c 'FILE_INOTIFY' "$T/show")
[ "$n" -eq 2 ] || fail "image shows $n inotify files, expected 2"

# inotify_index IMAGE N: the index among FILE records of the inotify
# instance with N watches.
inotify_index()
{
	"$VXCR" img json "$1" | python3 -c '
import json, sys
recs = [r for r in json.load(sys.stdin)["records"] if r["type"] == "FILE"]
print(next(i for i, r in enumerate(recs)
           if len(r["payload"].get("inotify", {}).get("watches", [])) == int(sys.argv[1])))' "$2"
}
i=$(inotify_index "$T/img.lr" 4) || fail "no inotify record with 4 watches in the image"
W="FILE[$i].inotify.watches"
ino_g=$(stat -c %i "$T/w/g")
hostile() { refused_edit "$T/img.lr" "$@"; }
hostile "a wd out of range" "wd 2097152 is out of range" "$W[0].wd=0x200000"
hostile "a wd of 0" "wd 0 is out of range" "$W[1].wd=0"
hostile "a wd twice" "wd [0-9]+ twice" "$W[1].wd=1" "$W[0].wd=1"
hostile "an empty file handle" "file handle of 0 bytes" "$W[2].fh="
hostile "a file handle of 129 bytes" "file handle of 129 bytes" \
	"$W[2].fh=$(printf '%0258d' 0)"
hostile "unknown mask bits" "unknown mask bits" "$W[0].mask=0x10000000"
hostile "another inode" "opens another inode" "$W[0].ino=$ino_g"
hostile "a handle that resolves to nothing" "no longer resolves" "$W[0].fh=ffffffffffffffff"
c=$("$VXCR" img json "$T/img.lr" | python3 -c '
import json, sys
recs = [r for r in json.load(sys.stdin)["records"] if r["type"] == "FILE"]
print(next(i for i, r in enumerate(recs) if r["payload"].get("kind") == "FILE_CHR"))') ||
	fail "no device record in the image"
hostile "an instance without its entry" "has no inotify entry" "FILE[$c].kind=17"

go_and_check
vx_wait_gone "$PID" 10 || fail "inotify $PID did not exit after its check"
vx_untrack "$PID"
rm -f "$OUT"

# A watched file deleted and recreated at its path before the restore: the
# watch is not moved to the new file.
mkdir "$T/r"
start_prog inotify "$T/r"
vx_track_tree "$PID"
dump "$PID" "$T/img.r"
mv "$T/r/f" "$T/r/f.old" && touch "$T/r/f" && rm "$T/r/f.old"
expect_refused_by "a watched file recreated" "watch wd 1 .*(no longer resolves|another inode)" \
	"$VXRESTORE" "$T/img.r"
rm -f "$OUT"

# Refused at dump: events queued and not read; a watched file unlinked.
mkdir "$T/q" "$T/u"
start_prog inotify "$T/q" queued
expect_dump_refused "queued inotify events" "fd [0-9]+: inotify: [0-9]+ bytes of events queued"
kill -9 "$PID"
rm -f "$OUT"
start_prog inotify "$T/u" unlinked
expect_dump_refused "a watch on an unlinked file" "inotify watch wd 1 .*(deleted|unlinked)"
kill -9 "$PID"
rm -f "$OUT"

# Refused at dump: a watch on a file its process (now uid 65534) may no
# longer read: restore checks that with the image's credentials.
mkdir "$T/x"
start_prog inotify "$T/x" dropped
expect_dump_refused "a watch the process may no longer read" \
	"inotify watch wd 1: the process \(fsuid 65534\) may no longer read"
kill -9 "$PID"
rm -f "$OUT"

# uid 65534: a watch edited to root's 0600 file is refused; restored.
mkdir "$T/p"
start_prog inotify "$T/p" user
dump "$PID" "$T/img.u"
i=$(inotify_index "$T/img.u" 1) || fail "no inotify record with 1 watch in the image"
read -r dev ino type fh <"$T/p/secret.fh"
W="FILE[$i].inotify.watches[0]"
"$EDIT" "$T/img.u" "$T/bad.img" "$W.dev=$dev" "$W.ino=$ino" "$W.fh_type=$type" "$W.fh=$fh" ||
	fail "edit-image failed (secret)"
expect_refused_by "a watch on a file the task may not read" "may not read the watched inode" \
	"$VXRESTORE" "$T/bad.img"
# The instance held by no process (its fd moved to another description):
# nobody's rights to check, refused.
set -- $("$VXCR" img json "$T/img.u" | python3 -c '
import json, sys
recs = json.load(sys.stdin)["records"]
ino = next(r["payload"]["id"] for r in recs
           if r["type"] == "FILE" and r["payload"].get("kind") == "FILE_INOTIFY")
fdt = [r for r in recs if r["type"] == "FDTABLE"]
print(next("%d %d" % (t, j) for t in range(len(fdt))
           for j, fd in enumerate(fdt[t]["payload"]["fds"]) if fd["file_id"] == ino))')
[ $# = 2 ] || fail "no fd of the inotify instance in the image"
"$EDIT" "$T/img.u" "$T/bad.img" "FDTABLE[$1].fds[$2].file_id=1" || fail "edit-image failed (holder)"
expect_refused_by "an instance no process holds" "no live process holds it" "$VXRESTORE" "$T/bad.img"
restore_bg "$T/img.u"
go_and_check
wait_restore_exit 0
vx_wait_gone "$PID" 10 || fail "inotify $PID did not exit after its check"
vx_untrack "$PID"
rm -f "$OUT"

mkdir "$T/t"
tree_cr_cycle inotify "$T/t"
