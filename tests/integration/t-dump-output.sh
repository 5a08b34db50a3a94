#!/bin/bash
# The output file of vxdump -o PATH (NOTES: "The output file of vxdump").
# PATH is refused, exit 1 with one line and the target untouched, when it
# is a symlink (the root-owned file it points to is not truncated), a
# device node or a FIFO (not opened, not deleted).  A failed dump (a pid
# that does not exist, a failing commit step) or a vxdump killed in the
# middle of writing leaves no file behind and a previous image at PATH
# byte for byte as it was; a successful one replaces a world-readable
# PATH with a new 0600 file.  The image is synced and renamed over PATH
# before the target is killed, or after it runs on with --leave-running;
# --no-sync syncs nothing.  All again with the named temporary file that
# replaces O_TMPFILE where a file system lacks it (VXCR_TEST_SKIP=tmpfile).
. "$(dirname "$0")/lib.sh"
require_cr

D=$T/out.d	# the directory the images go to
mkdir "$D"

# untouched WHAT: the target runs on, not traced and not stopped.
untouched()
{
	local st
	vx_alive "$PID" && [ "$(vx_starttime "$PID")" = "$ORIG_START" ] ||
		fail "target $PID gone after $1"
	grep -q '^TracerPid:[[:space:]]*0$' "/proc/$PID/status" || fail "target traced after $1"
	st=$(sed 's/.*) //' "/proc/$PID/stat" | awk '{print $1}')
	[ "$st" != t ] && [ "$st" != T ] || fail "target stopped ($st) after $1"
}

# refused WHAT REGEX PATH [PID]: vxdump -o PATH exits 1 within 20 s with
# one line matching REGEX, writes nothing to stdout, target untouched.
refused()
{
	local what=$1 want=$2 path=$3 pid=${4:-$PID} st
	timeout 20 "$VXDUMP" -o "$path" "$pid" >"$T/dump.out" 2>"$T/dump.err"
	st=$?
	[ "$st" = 1 ] || fail "vxdump -o $what exited $st, expected 1: $(head -n 2 "$T/dump.err")"
	[ "$(wc -l <"$T/dump.err")" = 1 ] || fail "vxdump -o $what: not one line: $(cat "$T/dump.err")"
	grep -Eq "$want" "$T/dump.err" || fail "vxdump -o $what: message: $(cat "$T/dump.err")"
	[ ! -s "$T/dump.out" ] || fail "vxdump -o $what wrote to stdout"
	untouched "vxdump -o $what"
	log "$what: $(cat "$T/dump.err")"
}

# only_files LIST: the directory holds exactly these names (no temp file).
only_files()
{
	local have
	have=$(ls -A "$D" | sort | tr '\n' ' ')
	[ "$have" = "$1" ] || fail "$D holds '$have', expected '$1' ($2)"
}

# kill_mid_dump IMG: vxdump -o IMG paused while writing pages, SIGKILLed.
kill_mid_dump()
{
	local dpid i
	VXCR_TEST_PAUSE=pages VXCR_LOG=2 "$VXDUMP" -o "$1" "$PID" >"$T/dump.out" 2>"$T/kill.err" &
	dpid=$!
	vx_track "$dpid"
	vx_wait_line "$T/kill.err" 'pausing at pages' 30 || fail "vxdump did not pause at pages"
	kill -9 "$dpid"
	wait "$dpid" 2>/dev/null
	vx_untrack "$dpid"
	sleep 0.2
	untouched "vxdump killed while writing"
}

# order TRACE A B: the first line matching A comes before the first matching B.
order()
{
	local a b
	a=$(grep -nE "$2" "$1" | head -n 1 | cut -d: -f1)
	b=$(grep -nE "$3" "$1" | head -n 1 | cut -d: -f1)
	[ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ] ||
		fail "in $1, '$2' (line ${a:-none}) not before '$3' (line ${b:-none})"
}

check_refusals()
{
	local gone
	sh -c 'exit 0' & wait $!
	gone=$!
	refused "a pid that does not exist" "$gone" "$D/good.img" "$gone"
	cmp -s "$D/good.img" "$T/good.ref" || fail "a failed dump changed the previous image"
	only_files "good.img " "failed dump"

	echo precious >"$T/victim" && chmod 600 "$T/victim"
	ln -s "$T/victim" "$D/link.img"
	refused "a symlink" "link.img is a symlink" "$D/link.img"
	[ "$(cat "$T/victim")" = precious ] || fail "the file behind the symlink was written"

	mknod "$D/null" c 1 3
	refused "a device node" "null exists and is not a regular file" "$D/null"
	[ -c "$D/null" ] || fail "the device node is gone"
	mkfifo "$D/fifo"
	refused "a FIFO" "fifo exists and is not a regular file" "$D/fifo"
	[ -p "$D/fifo" ] || fail "the FIFO is gone"
	mkdir "$D/dir.img"
	refused "a directory" "dir.img exists and is not a regular file" "$D/dir.img"
	rm -rf "$D/link.img" "$D/null" "$D/fifo" "$D/dir.img"

	VXCR_TEST_FAIL=commit timeout 60 "$VXDUMP" -o "$D/good.img" "$PID" 2>"$T/commit.err"
	[ $? = 1 ] || fail "a failing commit step did not fail the dump"
	untouched "a failing commit step"
	cmp -s "$D/good.img" "$T/good.ref" || fail "a failed commit changed the previous image"
	only_files "good.img " "failed commit"
}

# One round, in the mode of $VXCR_TEST_SKIP (O_TMPFILE or a named file).
round()
{
	log "round: ${VXCR_TEST_SKIP:-O_TMPFILE}"
	rm -rf "$D" && mkdir "$D"
	start_prog memory
	dump "$PID" "$D/good.img" --leave-running
	cp "$D/good.img" "$T/good.ref"
	check_refusals

	if [ -z "${VXCR_TEST_SKIP:-}" ]; then	# a named temp file is left by SIGKILL
		kill_mid_dump "$D/good.img"
		cmp -s "$D/good.img" "$T/good.ref" || fail "a killed vxdump changed the previous image"
		only_files "good.img " "vxdump killed"
	fi

	echo "readable by all" >"$D/pub.img" && chmod 644 "$D/pub.img"
	strace -f -qq -o "$T/strace" -e trace=fsync,linkat,renameat,renameat2,kill,ptrace \
		"$VXDUMP" -o "$D/pub.img" "$PID" >"$T/dump.out" 2>"$T/dump.err" ||
		fail "vxdump onto a readable file: $(cat "$T/dump.err")"
	[ "$(stat -c %a "$D/pub.img")" = 600 ] || fail "image mode $(stat -c %a "$D/pub.img"), not 600"
	only_files "good.img pub.img " "successful dump"
	"$VXCR" img verify "$D/pub.img" >/dev/null || fail "the image does not verify"
	order "$T/strace" '^[0-9]+ +fsync\(' 'rename.*pub\.img'
	order "$T/strace" 'rename.*pub\.img' 'kill\([0-9]+, SIGKILL'
	grep -A3 'rename.*pub\.img' "$T/strace" | grep -q 'fsync(' || fail "directory not synced"
	vx_wait_gone "$PID" 10 || fail "target $PID not killed"
	vx_untrack "$PID"
	rm -f "$OUT"
}

command -v strace >/dev/null || skip "strace not installed"
round
VXCR_TEST_SKIP=tmpfile round
unset VXCR_TEST_SKIP

# --leave-running: released (detached) before the sync; --no-sync: none.
start_prog memory
strace -f -qq -o "$T/strace.leave" -e trace=fsync,ptrace \
	"$VXDUMP" --leave-running -o "$D/leave.img" "$PID" 2>"$T/dump.err" ||
	fail "vxdump --leave-running: $(cat "$T/dump.err")"
order "$T/strace.leave" 'PTRACE_DETACH' 'fsync\('
[ "$(grep -cE 'fsync\(' "$T/strace.leave")" = 2 ] || fail "expected 2 fsync (image, directory)"
strace -f -qq -o "$T/strace.nosync" -e trace=fsync,fdatasync,sync_file_range,syncfs \
	"$VXDUMP" --leave-running --no-sync -o "$D/nosync.img" "$PID" 2>"$T/dump.err" ||
	fail "vxdump --no-sync: $(cat "$T/dump.err")"
! grep -qE 'sync' "$T/strace.nosync" || fail "--no-sync synced: $(grep sync "$T/strace.nosync")"
"$VXCR" img verify "$D/nosync.img" >/dev/null || fail "the --no-sync image does not verify"
untouched "--leave-running dumps"
go_and_check
pass
