#!/bin/bash
# A whole context's IPC namespace: tests/progs/ipcns runs as the
# context's task, in the context's own IPC namespace ("shared": it makes
# none itself): two SysV queues with typed messages, a semaphore set, an
# attached and an unattached segment, a POSIX queue with prioritised
# messages and an mq fd held open.  vxdump --ctx writes the IPCNS record;
# vxrestore makes the context's init in a new IPC namespace holding all of
# it (same ids); the program finds everything as it was.  Nothing appears
# in our namespace.
. "$(dirname "$0")/ctx-lib.sh"
ours_before=$(ipcs 2>/dev/null | md5sum)
OUT=$T/out

"$VXCR" ctx create "$XID" -- "$PROGS/ipcns" "$OUT" shared mqfd >"$T/create.out" 2>"$T/create.err" ||
	fail "ctx create: $(cat "$T/create.err")"
vx_wait_line "$OUT" '^ready$' 20 || fail "the program did not get ready: $(cat "$OUT" 2>/dev/null)"

# the program's host pid: the ipcns task of the context's group
prog_pid()
{
	local cg p
	cg=$(sed -n 's/^cgroup=//p' "$VXCR_RUNDIR/$XID.ctx")
	for p in $(cat "$cg/cgroup.procs"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = ipcns ] && echo "$p"
	done
}
PID=$(prog_pid)
[ -n "$PID" ] || fail "no ipcns task in the context"
[ "$(readlink /proc/$PID/ns/ipc)" != "$(readlink /proc/self/ns/ipc)" ] ||
	fail "the context's task is in our IPC namespace"

"$VXDUMP" --ctx "$XID" -o "$T/img" 2>"$T/dump.err" || fail "vxdump --ctx: $(cat "$T/dump.err")"
"$VXCR" img show "$T/img" | grep -q "IPCNS .*mqs=\[{name=\"vxq\"" || fail "no IPCNS record with the queue"
sum=$(md5sum <"$T/img")
"$VXRESTORE" "$T/img" 2>"$T/restore.err" || fail "vxrestore: $(cat "$T/restore.err")"
PID=$(prog_pid)
[ -n "$PID" ] || fail "no ipcns task in the restored context"
[ "$(readlink /proc/$PID/ns/ipc)" != "$(readlink /proc/self/ns/ipc)" ] ||
	fail "the restored task is in our IPC namespace"
ORIG_START="" # the restored copy is a new process by construction
go_and_check
[ "$(md5sum <"$T/img")" = "$sum" ] || fail "vxrestore modified the image"
[ "$(ipcs 2>/dev/null | md5sum)" = "$ours_before" ] || fail "our IPC namespace changed: $(ipcs)"
pass
