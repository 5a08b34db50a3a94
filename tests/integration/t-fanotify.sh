#!/bin/bash
# fanotify groups (tests/progs/fanotify.c) on a tmpfs of the test's own:
# init flags and event flags, inode marks (mask; an ignore mask with
# FAN_MARK_IGNORED_SURV_MODIFY; FAN_MARK_EVICTABLE; a FAN_MARK_IGNORE_SURV
# ignore mask), a mount mark and a filesystem mark, by
# file handle / mount id / device; FAN_NONBLOCK.  A --leave-running dump
# first (the original then passes its own checks) whose image takes
# hostile edits; then a dump and restore.  Refused: events queued and not
# read, a permission-class group, a mount mark of a process that dropped
# CAP_SYS_ADMIN; as uid 65534, a mark edited to root's 0600 file or to a
# filesystem mark (CAP_SYS_ADMIN).
. "$(dirname "$0")/lib.sh"
require_cr
EDIT=$VX_BUILD/tests/fuzz/edit-image
[ -x "$EDIT" ] || fail "$EDIT not built"
MOUNTS=()
vx_case_cleanup()
{
	local m
	for m in "${MOUNTS[@]}"; do umount -l "$m" 2>/dev/null; done
}
# fresh_fs NAME: a new tmpfs at $T/NAME.
fresh_fs()
{
	mkdir "$T/$1" && mount -t tmpfs -o size=1m,mode=0755 vxcr-fanotify "$T/$1" ||
		fail "cannot mount a tmpfs at $T/$1"
	MOUNTS+=("$T/$1")
}
# fan_index IMAGE PYEXPR: the index among FILE records of the first
# fanotify group whose entry e makes PYEXPR true.
fan_index()
{
	"$VXCR" img json "$1" | python3 -c '
import json, sys
recs = [r for r in json.load(sys.stdin)["records"] if r["type"] == "FILE"]
print(next(i for i, r in enumerate(recs) if r["payload"].get("kind") == "FILE_FANOTIFY"
           and eval(sys.argv[1], {"e": r["payload"].get("fanotify", {})})))' "$2"
}

fresh_fs m
start_prog fanotify "$T/m"
dump "$PID" "$T/img.lr" --leave-running
"$VXCR" img show "$T/img.lr" >"$T/show" 2>&1 || fail "vxcr img show failed: $(head -n 3 "$T/show")"
n=$(grep -c 'FILE_FANOTIFY' "$T/show")
[ "$n" -eq 2 ] || fail "image shows $n fanotify files, expected 2"
i=$(fan_index "$T/img.lr" 'len(e.get("marks", [])) == 6') || fail "no group with 6 marks"
M="FILE[$i].fanotify.marks"
# mark indexes by type (fdinfo order: newest first)
mk()	# TYPE: index of the first mark of that type in group i
{
	"$VXCR" img json "$T/img.lr" | python3 -c '
import json, sys
recs = [r for r in json.load(sys.stdin)["records"] if r["type"] == "FILE"]
marks = recs[int(sys.argv[1])]["payload"]["fanotify"]["marks"]
print(next(j for j, m in enumerate(marks) if m.get("type", "FANOTIFY_MARK_INODE") == sys.argv[2]))' "$i" "$1"
}
mi=$(mk FANOTIFY_MARK_INODE) && mm=$(mk FANOTIFY_MARK_MOUNT) && mf=$(mk FANOTIFY_MARK_FILESYSTEM) ||
	fail "marks of every type expected"
root_id=$(awk '$5 == "/" {print $1; exit}' /proc/self/mountinfo)
hostile() { refused_edit "$T/img.lr" "$@"; }
hostile "a permission-class group" "permission-class group" "FILE[$i].fanotify.flags=0x206"
hostile "unknown init flags" "unknown init flags" "FILE[$i].fanotify.flags=0x80202"
hostile "unknown event flags" "event flags 0x4000000" "FILE[$i].fanotify.event_flags=0x4000000"
hostile "a mark of an unknown type" "mark of type 7" "$M[$mi].type=7"
hostile "an empty file handle" "file handle of 0 bytes" "$M[$mi].fh="
hostile "unknown mask bits" "unknown flags or mask" "$M[$mm].mask=0x20000"
hostile "one inode marked twice" "one inode marked twice" "$M[$mm].type=0" \
	"$M[$mm].ino=$(stat -c %i "$T/m/f")" "$M[$mm].fh_type=1" "$M[$mm].fh=00"
hostile "another inode" "opens another inode" "$M[$mi].ino=$(stat -c %i "$T/m/secret" 2>/dev/null || stat -c %i "$T/m")"
hostile "a mount not here" "no such mount here" "$M[$mm].mnt_id=0x7ffffff0"
hostile "a mount of another device" "mount is of another device" "$M[$mm].mnt_id=$root_id"
hostile "a filesystem not mounted here" "no mount of that filesystem" "$M[$mf].dev=0xfffff"
go_and_check
vx_wait_gone "$PID" 10 || fail "fanotify $PID did not exit after its check"
vx_untrack "$PID"
rm -f "$OUT"

# Refused at dump: events queued and not read; a permission-class group.
fresh_fs q
start_prog fanotify "$T/q" queued
expect_dump_refused "queued fanotify events" "fd [0-9]+: fanotify: [0-9]+ bytes of events queued"
kill -9 "$PID"
rm -f "$OUT"
fresh_fs c
start_prog fanotify "$T/c" content
expect_dump_refused "a permission-class group" "fanotify: a permission-class group \(FAN_CLASS_CONTENT\)"
kill -9 "$PID"
rm -f "$OUT"

# Refused at dump: a mount mark of a process that dropped CAP_SYS_ADMIN.
fresh_fs x
start_prog fanotify "$T/x" dropped
expect_dump_refused "a mount mark without CAP_SYS_ADMIN" "no longer has CAP_SYS_ADMIN"
kill -9 "$PID"
rm -f "$OUT"

# uid 65534: its marks are checked with its credentials; restored.
fresh_fs p
start_prog fanotify "$T/p" user
dump "$PID" "$T/img.u"
i=$(fan_index "$T/img.u" 'True') || fail "no fanotify group in the image"
read -r dev ino type fh <"$T/p/secret.fh"
M="FILE[$i].fanotify.marks[0]"
"$EDIT" "$T/img.u" "$T/bad.img" "$M.dev=$dev" "$M.ino=$ino" "$M.fh_type=$type" "$M.fh=$fh" ||
	fail "edit-image failed (secret)"
expect_refused_by "a mark on a file the task may not read" "may not read the inode of mark 0" \
	"$VXRESTORE" "$T/bad.img"
"$EDIT" "$T/img.u" "$T/bad.img" "$M.type=2" || fail "edit-image failed (filesystem)"
expect_refused_by "a filesystem mark without CAP_SYS_ADMIN" "lacks CAP_SYS_ADMIN" \
	"$VXRESTORE" "$T/bad.img"
restore_bg "$T/img.u"
go_and_check
wait_restore_exit 0
vx_wait_gone "$PID" 10 || fail "fanotify $PID did not exit after its check"
vx_untrack "$PID"
rm -f "$OUT"

fresh_fs t
cr_cycle fanotify "$T/t"
