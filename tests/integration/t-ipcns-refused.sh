#!/bin/bash
# The tree's IPC namespace: what is refused, a killed vxdump, hostile
# images.
# - a process outside the tree in the tree's IPC namespace: refused (its
#   objects would be shared), the tree runs on;
# - a POSIX queue with a notification registered (mq_notify): refused
#   before any message is taken, the queue whole after;
# - a process with a SysV semaphore undo list (SEM_UNDO): refused (the
#   kernel does not show the list; kcmp KCMP_SYSVSEM tells it is there);
# - an mq fd of vxdump's own namespace (a tree without one of its own):
#   refused;
# - vxdump SIGKILLed while the forked reader holds the POSIX messages
#   (VXCR_TEST_PAUSE=ipc-mq-out): the reader puts them back, the program
#   then finds every queue whole;
# - edited images (tests/fuzz/edit-image): a POSIX queue named with '/',
#   a SysV message over msgmax, a semaphore set over semmsl, a queue
#   count over queues_max, an fd on a queue IPCNS does not hold: each
#   refused in one line, nothing created in our namespace;
# - vxrestore SIGKILLed once the namespace is built (VXCR_TEST_PAUSE=
#   ipcns-built), and failing there: no process is left in it, nothing in
#   ours.
. "$(dirname "$0")/lib.sh"
require_cr
EDIT=$VX_BUILD/tests/fuzz/edit-image
[ -x "$EDIT" ] || fail "$EDIT not built"
ours_before=$(ipcs 2>/dev/null | md5sum)

finish() # the program checks everything, then is gone
{
	go_and_check
	vx_wait_gone "$PID" 5
	rm -f "$T/out"
}

start_prog ipcns
( nsenter -t "$PID" -i sleep 1000 </dev/null >/dev/null 2>&1 & echo $! >"$T/outsider" )
outsider=$(cat "$T/outsider")
vx_track "$outsider"
for ((i = 0; i < 100; i++)); do
	[ "$(readlink /proc/$outsider/ns/ipc)" = "$(readlink /proc/$PID/ns/ipc)" ] && break
	sleep 0.05
done
expect_dump_refused "a process outside the tree in its IPC namespace" \
	"is in the IPC namespace of the tree .* but not in the tree"
kill -9 "$outsider"
finish

start_prog ipcns notify
expect_dump_refused "a POSIX queue with mq_notify" "registered for its notification .mq_notify."
finish

start_prog ipcns undo
expect_dump_refused "a semaphore undo list" "may have SysV semaphore undo entries"
finish

# an mq fd of vxdump's own namespace (no IPCNS: the queue would not be in
# the image): both in a namespace made for the case, which plays the host
cat >"$T/own.sh" <<'OWN'
"$1" "$2" shared mqfd </dev/null >/dev/null 2>&1 &
p=$!
for ((i = 0; i < 100; i++)); do grep -q '^ready$' "$2" 2>/dev/null && break; sleep 0.05; done
"$3" -o "$4" "$p" 2>"$5"
echo $? >"$6"
kill -9 "$p"
wait "$p" 2>/dev/null
OWN
unshare -i bash "$T/own.sh" "$PROGS/ipcns" "$T/own.out" "$VXDUMP" "$T/own.img" "$T/own.err" "$T/own.rc"
[ "$(cat "$T/own.rc" 2>/dev/null)" = 1 ] || fail "an mq fd of vxdump's namespace: vxdump exited $(cat "$T/own.rc" 2>/dev/null): $(head -n 2 "$T/own.err")"
grep -q "POSIX queue /vxq is not one of an IPC namespace of the tree's own" "$T/own.err" ||
	fail "an mq fd of vxdump's namespace: $(head -n 2 "$T/own.err")"
[ ! -e "$T/own.img" ] || fail "an mq fd of vxdump's namespace: an image was left"
log "an mq fd of vxdump's own namespace refused: $(head -n 1 "$T/own.err")"

start_prog ipcns mqfd
VXCR_TEST_PAUSE=ipc-mq-out VXCR_TEST_PAUSE_MS=1500 VXCR_LOG=2 "$VXDUMP" \
	-o "$T/img.killed" "$PID" >"$T/killed.out" 2>"$T/killed.err" &
dpid=$!
vx_track "$dpid"
vx_wait_line "$T/killed.err" "paus(e|ing).*ipc-mq-out" 20 ||
	fail "vxdump did not pause at ipc-mq-out: $(head -n 2 "$T/killed.err")"
kill -9 "$dpid"
wait "$dpid" 2>/dev/null
vx_untrack "$dpid"
sleep 2.5 # the reader's pause ends, it puts the messages back
finish
log "vxdump killed with the POSIX messages out: all back"

start_prog ipcns mqfd
dump "$PID" "$T/img" --leave-running
hostile() # WHAT PATTERN EDIT...
{
	local what=$1 pat=$2
	shift 2
	"$EDIT" "$T/img" "$T/bad.img" "$@" || fail "edit-image failed ($what)"
	expect_refused_by "$what" "$pat" "$VXRESTORE" "$T/bad.img"
}
hostile "a POSIX queue name with '/'" "POSIX queue 0: bad name" "IPCNS[0].mqs[0].name=../x"
hostile "a POSIX queue named '..'" "POSIX queue 0: bad name" "IPCNS[0].mqs[0].name=.."
hostile "a SysV message over msgmax" "message 0: type 2, 5 bytes .msgmax 3" \
	"IPCNS[0].sysctls[0].value=3"
hostile "a message type 0" "message 0: type 0" "IPCNS[0].msqs[0].msgs[0].mtype=0"
hostile "a semaphore set over semmsl" "semaphores .semmsl 2." "IPCNS[0].sysctls[3].value=2 32000 32 99"
hostile "a semaphore value over 32767" "value 40000 over" "IPCNS[0].sems[0].values[0]=40000"
hostile "more queues than queues_max" "more than queues_max 0" "IPCNS[0].sysctls[8].value=0"
hostile "an unknown sysctl" "sysctl 0 .kernel/core_pattern. is not" \
	"IPCNS[0].sysctls[0].name=kernel/core_pattern"
hostile "a segment bigger than shmmax" "size 100000 over shmmax 4096" "IPCNS[0].sysctls[4].value=4096"
i=$(file_index "$T/img" 'p.get("kind") == "FILE_MQUEUE"') || fail "no FILE_MQUEUE in the image"
hostile "an fd on a queue IPCNS does not hold" "is not a queue of IPCNS" "FILE[$i].mq_name=other"
[ "$(ipcs 2>/dev/null | md5sum)" = "$ours_before" ] || fail "our IPC namespace changed: $(ipcs)"
finish

# a restore killed, or failing, once the namespace is built: the namespace
# (and everything in it) is gone with vxrestore, nothing is in ours
start_prog ipcns mqfd
dump "$PID" "$T/img"
VXCR_TEST_PAUSE=ipcns-built VXCR_LOG=2 "$VXRESTORE" "$T/img" >"$T/rk.out" 2>"$T/rk.err" &
rpid=$!
vx_track "$rpid"
vx_wait_line "$T/rk.err" "paus(e|ing).*ipcns-built" 20 ||
	fail "vxrestore did not pause at ipcns-built: $(head -n 2 "$T/rk.err")"
ns=$(readlink "/proc/$rpid/ns/ipc")
[ "$ns" != "$(readlink /proc/self/ns/ipc)" ] || fail "vxrestore is not in a new IPC namespace"
kill -9 "$rpid"
wait "$rpid" 2>/dev/null
vx_untrack "$rpid"
sleep 0.5
for p in /proc/[0-9]*; do
	[ "$(readlink "$p/ns/ipc" 2>/dev/null)" = "$ns" ] && fail "pid ${p#/proc/} is still in $ns"
done
VXCR_TEST_FAIL=ipcns-built "$VXRESTORE" "$T/img" >"$T/rf.out" 2>"$T/rf.err" &&
	fail "vxrestore with VXCR_TEST_FAIL=ipcns-built succeeded"
vx_alive "$PID" && fail "pid $PID exists after the failed restore"
[ "$(ipcs 2>/dev/null | md5sum)" = "$ours_before" ] || fail "our IPC namespace changed: $(ipcs)"
log "a killed and a failed restore: namespace $ns gone, ours untouched"
pass
