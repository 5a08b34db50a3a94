#!/bin/bash
# A process in an IPC namespace of its own (tests/progs/ipcns.c): two SysV
# queues with typed messages, a semaphore set, an attached and an
# unattached segment, a POSIX queue with prioritised messages, changed ipc
# sysctls.  First dumped with --leave-running: the original then finds all
# of it whole (the POSIX messages were taken and put back).  Then another
# one is dumped and restored in a new IPC namespace: it finds everything
# as it was, with the same ids; nothing of it appears in ours.
. "$(dirname "$0")/lib.sh"
require_cr

ours_before=$(ipcs 2>/dev/null | md5sum)
start_prog ipcns mqfd
dump "$PID" "$T/img1" --leave-running
grep -q IPCNS <("$VXCR" img show "$T/img1" 2>&1) || fail "no IPCNS record in the image"
go_and_check
log "the original is whole after --leave-running"
vx_wait_gone "$PID" 5

rm -f "$T/out"
start_prog ipcns mqfd
dump "$PID" "$T/img"
sum=$(md5sum <"$T/img")
restore_bg "$T/img"
[ "$(readlink /proc/$PID/ns/ipc)" != "$(readlink /proc/self/ns/ipc)" ] ||
	fail "the restored process is in our IPC namespace"
go_and_check
wait_restore_exit 0
[ "$(md5sum <"$T/img")" = "$sum" ] || fail "vxrestore modified the image"
[ "$(ipcs 2>/dev/null | md5sum)" = "$ours_before" ] || fail "our IPC namespace changed: $(ipcs)"
pass
