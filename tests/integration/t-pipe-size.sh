#!/bin/bash
# Pipe sizes (tests/progs/pipe-size.c): a 1 MiB pipe holding 200 KiB, a
# 4 KiB pipe (below the default) full, a 256 KiB FIFO, and a child whose
# uid is over fs.pipe-user-pages-soft (its 1 MiB pipes, the one the limit
# refused, and an 8 KiB pipe the kernel gave it over the limit): every size
# and byte back exactly.  Hostile edits: a size that is no power of two,
# more bytes than the size, and a size above fs.pipe-max-size (restore
# lacks CAP_SYS_RESOURCE here: one line, not a pipe of the default size).
. "$(dirname "$0")/lib.sh"
require_cr
start_prog pipe-size
vx_track_tree "$PID"
dump "$PID" "$T/img.lr" --leave-running

EDIT=$VX_BUILD/tests/fuzz/edit-image
[ -x "$EDIT" ] || fail "$EDIT not built"
i=$(file_index "$T/img.lr" 'p.get("kind") == "FILE_PIPE" and p.get("pipeSize", p.get("pipe_size")) == 1048576 and p.get("dataLen", p.get("data_len", 0)) > 0') ||
	fail "no 1 MiB pipe with data in the image"
"$EDIT" "$T/img.lr" "$T/odd.img" "FILE[$i].pipe_size=100000" || fail "edit-image failed"
expect_refused_by "a pipe size of 100000" "pipe .*size 100000 .*out of range" "$VXRESTORE" "$T/odd.img"
"$EDIT" "$T/img.lr" "$T/over.img" "FILE[$i].pipe_size=65536" || fail "edit-image failed"
expect_refused_by "200 KiB in a 64 KiB pipe" "pipe .*size 65536 or 204800 bytes .*out of range" \
	"$VXRESTORE" "$T/over.img"
go_and_check
vx_wait_gone "$PID" 10 || fail "pipe-size $PID did not exit after its check"
vx_untrack "$PID"
rm -f "$OUT"
# once the original is gone (restore checks its pids are free first)
max=$(cat /proc/sys/fs/pipe-max-size)
if grep -q '^CapEff:.*' /proc/self/status && [ $(( 0x$(awk '/^CapEff/ {print $2}' /proc/self/status) >> 24 & 1 )) = 0 ]; then
	"$EDIT" "$T/img.lr" "$T/max.img" "FILE[$i].pipe_size=$((max * 2))" || fail "edit-image failed"
	expect_refused_by "a pipe above fs.pipe-max-size" \
		"pipe .*size $((max * 2)) is above this host's fs.pipe-max-size" "$VXRESTORE" "$T/max.img"
else
	log "we have CAP_SYS_RESOURCE: a pipe above fs.pipe-max-size would be restored, not refused"
fi
tree_cr_cycle pipe-size
