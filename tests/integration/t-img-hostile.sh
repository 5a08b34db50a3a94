#!/bin/bash
# Crafted images restored by root reach nothing outside what they restore
# (issue 9.3).  Each image is a real dump edited by tests/fuzz/edit-image
# (valid framing and checksums); each restore must fail with one line,
# leave nothing running, and leave the host object untouched:
# - a FIFO record naming a regular file (with its device and inode forged
#   to match), whose PIPE_DATA would be written into it;
# - a page record aimed at a writable shared file mapping, which would be
#   written into the file;
# - a reopened file whose path is a symlink planted to a root-only file;
# - a deleted file recreated with set-id bits at a chosen path: no name is
#   ever created (strace sees no create, link or rename of it).
. "$(dirname "$0")/lib.sh"
require_cr
EDIT=$VX_BUILD/tests/fuzz/edit-image
[ -x "$EDIT" ] || fail "$EDIT not built"

# rec_index TYPE PYEXPR IMG: index among TYPE records of the first whose
# payload p (or raw prefix) satisfies PYEXPR.
rec_index()
{
	"$VXCR" img json "$3" | python3 -c '
import json, sys
t, cond = sys.argv[1], sys.argv[2]
recs = [r for r in json.load(sys.stdin)["records"] if r["type"] == t]
for i, r in enumerate(recs):
    p = r.get("payload") or r.get("prefix") or {}
    if eval(cond):
        print(i)
        break' "$1" "$2"
}

# victim NAME: a root-only file with known contents; prints its path.
victim()
{
	printf 'root:x:0:0:the original:/root:/bin/sh\n' >"$T/$1"
	chmod 600 "$T/$1"
	md5sum <"$T/$1" >"$T/$1.sum"
	echo "$T/$1"
}
unchanged() { [ "$(md5sum <"$1")" = "$(cat "$1.sum")" ] || fail "$2: $1 was changed"; }

# 1. FIFO -> regular file, device and inode forged
start_prog fds
dump "$PID" "$T/fds.img"
v=$(victim passwd)
i=$(rec_index FILE 'p.get("kind") == "FILE_FIFO"' "$T/fds.img")
[ -n "$i" ] || fail "no FIFO record in the fds image"
"$EDIT" "$T/fds.img" "$T/fifo.img" "FILE[$i].path=$v" "FILE[$i].dev=$(stat -c %d "$v")" \
	"FILE[$i].ino=$(stat -c %i "$v")" "FILE[$i].pipe_size=0" || fail "edit-image failed"
expect_refused "$T/fifo.img" "a FIFO record naming a regular file"
unchanged "$v" "FIFO record"
grep -q "is a regular file, the image says a FIFO" "$T/refused.err" ||
	fail "message does not say why: $(cat "$T/refused.err")"

# 2. a symlink planted where a reopened file was
i=$(rec_index FILE 'p.get("kind") == "FILE_REG" and "fds-" in p.get("path", "") and not p.get("deleted")' "$T/fds.img")
[ -n "$i" ] || fail "no regular file record in the fds image"
path=$("$VXCR" img json "$T/fds.img" | python3 -c '
import json, sys
print([r for r in json.load(sys.stdin)["records"] if r["type"] == "FILE"][int(sys.argv[1])]["payload"]["path"])' "$i")
mv "$path" "$path.moved"
ln -s "$v" "$path"
expect_refused "$T/fds.img" "a reopened path that is now a symlink"
unchanged "$v" "planted symlink"
grep -q "symlink" "$T/refused.err" || fail "message does not name the symlink: $(cat "$T/refused.err")"
rm -f "$path"
mv "$path.moved" "$path"

# 3. a deleted file recreated set-id at a chosen path: never named
i=$(rec_index FILE 'p.get("deleted")' "$T/fds.img")
[ -n "$i" ] || fail "no deleted file record in the fds image"
"$EDIT" "$T/fds.img" "$T/ghost.img" "FILE[$i].path=$T/planted" "FILE[$i].mode=0104755" ||
	fail "edit-image failed"
if command -v strace >/dev/null; then
	strace -f -qq -o "$T/ghost.trace" -e trace=open,openat,openat2,creat,link,linkat,rename,renameat,renameat2,symlink,symlinkat,mknod,mknodat \
		"$VXRESTORE" -d "$T/ghost.img" >"$T/ghost.out" 2>"$T/ghost.err"
	grep -F "$T/planted" "$T/ghost.trace" | grep -vE 'O_TMPFILE|O_PATH' &&
		fail "the restore named a file at the image's path (see above)"
	grep -q "O_TMPFILE" "$T/ghost.trace" || fail "no O_TMPFILE ghost in the trace"
else
	"$VXRESTORE" -d "$T/ghost.img" >"$T/ghost.out" 2>"$T/ghost.err"
fi
[ -e "$T/planted" ] && fail "a file was left at $T/planted"
kill -9 "$PID" 2>/dev/null	# restored or not, this copy is done
vx_wait_gone "$PID" 5 || fail "pid $PID still there"
vx_untrack "$PID"
rm -f "$OUT"

# 4. pages aimed at a writable shared file mapping
start_prog memory
dump "$PID" "$T/mem.img"
start=$("$VXCR" img json "$T/mem.img" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["records"]:
    if r["type"] == "MM":
        for v in r["payload"]["vmas"]:
            if v.get("kind") == "VMA_FILE_SHARED" and v.get("prot", 0) & 2:
                print(v["start"]); sys.exit()')
[ -n "$start" ] || fail "no writable shared file mapping in the memory image"
fpath=$("$VXCR" img json "$T/mem.img" | python3 -c '
import json, sys
recs = json.load(sys.stdin)["records"]
mm = [r for r in recs if r["type"] == "MM"][0]["payload"]
v = [v for v in mm["vmas"] if v["start"] == int(sys.argv[1])][0]
print([r for r in recs if r["type"] == "FILE" and r["payload"]["id"] == v["file_id"]][0]["payload"]["path"])' "$start")
[ -f "$fpath" ] || fail "shared file $fpath missing"
md5sum <"$fpath" >"$fpath.sum"
len=$("$VXCR" img json "$T/mem.img" | python3 -c '
import json, sys
recs = json.load(sys.stdin)["records"]
mm = [r for r in recs if r["type"] == "MM"][0]["payload"]
v = [v for v in mm["vmas"] if v["start"] == int(sys.argv[1])][0]
pages = [r for r in recs if r["type"] == "PAGES"]
print([i for i, r in enumerate(pages) if r["data_length"] <= v["end"] - v["start"]
       and not r["prefix"]["flags"]][0])' "$start")
"$EDIT" "$T/mem.img" "$T/pages.img" "PAGES[$len].addr=$start" "PAGES[$len].fill=0x41" ||
	fail "edit-image failed"
expect_refused "$T/pages.img" "pages for a shared file mapping"
unchanged "$fpath" "page record"
pass "FIFO, symlink, ghost and shared-mapping images refused, host files unchanged"
