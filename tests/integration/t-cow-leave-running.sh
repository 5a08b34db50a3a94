#!/bin/bash
# vxdump --leave-running with the copy-on-write snapshot (lib/dump/cow.c):
# tests/progs/cow-writer writes its 256 MiB all the time (a generation per
# page, one counter) while it is dumped.
#  1. The dump releases it before the pages; the original never got a
#     signal or an error, and nothing of the dump is left in it (no uffd
#     registration "uw" in smaps, no tracer, no zombie child).  The image
#     restored in a new pid namespace (the original still runs) holds
#     exactly the memory of one instant: the program checks every page
#     against its counter.
#  2. The checks are real: with the fault copies left out the dump fails
#     (pages changed under it), with the checks left out too the restored
#     copy finds its memory torn.
#  3. A target that maps, unmaps and discards memory all the time: its
#     calls are held at their entry until the pages they take away are
#     copied; the image is exact.
#  5. (run before 4) A tree: parent and child write the memory they share
#     copy-on-write since the fork; both copies restored exact.
#  6. (run before 4) A tree with seccomp filters runs on with them.
#  7. (last) vxdump killed between the userfaultfd() it injected and the
#     close(): the fd stays; the next dump closes it and succeeds.
#  4. vxdump SIGKILLed in the middle of the copy (VXCR_TEST_PAUSE=cow-copy):
#     the target ran on during the pause, and after the kill it writes
#     freely, untraced, without uffd, and its memory is consistent.
. "$(dirname "$0")/lib.sh"
require_cr

MIB=${VX_COW_MIB:-256}

# No trace of the dump in $1 (and its children $CHILD, its only ones,
# if set): registration, tracer, userfaultfd, other children.
no_leftovers()
{
	local pid t kids
	for pid in $1 ${CHILD:-}; do
		grep -q '^VmFlags:.* uw' "/proc/$pid/smaps" && fail "$2: uffd registration left in $pid"
		[ "$(awk '/^TracerPid:/ {print $2}' "/proc/$pid/status")" = 0 ] ||
			fail "$2: $pid still traced"
		ls -l /proc/"$pid"/fd | grep -q userfaultfd && fail "$2: a userfaultfd left in $pid"
		[ "$pid" = "$1" ] && kids="${CHILD:-}" || kids=""
		[ "$(cat /proc/"$pid"/task/*/children | tr ' ' '\n' | sort -n | tr -d '\n')" = \
			"$(echo $kids | tr ' ' '\n' | sort -n | tr -d '\n')" ] ||
			fail "$2: $pid has children: $(cat /proc/"$pid"/task/*/children)"
	done
	return 0
}

# Waits until $PID has no tracer (a killed vxdump's tracees are let go).
untraced()
{
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(awk '/^TracerPid:/ {print $2}' "/proc/$PID/status")" = 0 ] && return 0
		sleep 0.05
	done
	return 1
}

# Stops writer $PID through SIGUSR1 and expects its PASS line.
check_original()
{
	rm -f "$OUT"
	go_and_check
	log "$1: original: $(grep '^written' "$OUT")"
	vx_wait_gone "$PID" 10 || fail "$1: writer $PID did not exit"
	vx_untrack "$PID"
}

# restore_check IMAGE WHAT [want-fail]: restores in a new pid namespace,
# lets the copy check itself; with want-fail its check must fail.
restore_check()
{
	local img=$1 what=$2 res R INIT i
	rm -f "$OUT"
	"$VXRESTORE" --pidns -d "$img" >"$T/restore.out" 2>"$T/restore.err" ||
		fail "$what: vxrestore --pidns exited $?: $(head -n 3 "$T/restore.err")"
	R=$(tail -n 1 "$T/restore.out")
	[ -d "/proc/$R" ] || fail "$what: restored root $R not found"
	INIT=$(awk '$1 == "PPid:" {print $2}' "/proc/$R/status")
	vx_track "$INIT" "$R"
	for ((i = 0; i < 600; i++)); do
		(( i % 60 == 0 )) && kill -USR1 "$R" 2>/dev/null
		res=$(grep -E '^(PASS|FAIL)' "$OUT" 2>/dev/null | tail -n 1)
		[ -n "$res" ] && break
		sleep 0.05
	done
	kill -KILL "$INIT" 2>/dev/null
	vx_wait_gone "$R" 10 || fail "$what: restored $R survived its namespace's init"
	case $res in
	PASS*) [ -z "${3:-}" ] || fail "$what: a torn image passed: $res"
		log "$what: restored copy: $res" ;;
	FAIL*) [ -n "${3:-}" ] || fail "$what: restored copy: $res"
		log "$what: restored copy found it: $res" ;;
	*) fail "$what: no result from the restored copy" ;;
	esac
}

# dump_running WHAT IMAGE [env...]: vxdump --leave-running --stats of
# $PID; sets DUMP_RC; the target must be alive and clean after it.
dump_running()
{
	local what=$1 img=$2
	shift 2
	vx_remember
	env "$@" "$VXDUMP" --leave-running --stats -o "$img" "$PID" >"$T/dump.out" 2>"$T/dump.err"
	DUMP_RC=$?
	vx_alive "$PID" || fail "$what: target $PID died"
	no_leftovers "$PID" "$what"
	FROZEN=$(grep -o 'frozen_ms=[0-9.]*' "$T/dump.err" | tail -n 1)
}

# 1. a consistent image of a writing target
rm -f "$T/out"
start_prog cow-writer "$MIB"
dump_running "writer" "$T/img" VXCR_LOG=2
[ "$DUMP_RC" = 0 ] || fail "vxdump exited $DUMP_RC: $(head -n 3 "$T/dump.err")"
grep -q "snapshot:" "$T/dump.err" || fail "no snapshot was taken: $(head -n 3 "$T/dump.err")"
WRITER_FROZEN=${FROZEN#frozen_ms=}
log "writer ${MIB} MiB: $FROZEN, $(grep -o '[0-9]* write faults, [0-9]* pages copied' "$T/dump.err" | head -n 1)"
touch "$OUT.stop"
check_original "writer"
restore_check "$T/img" "writer"
rm -f "$OUT.stop"

# 2. the checks catch what they must
rm -f "$T/out"
start_prog cow-writer "$MIB"
dump_running "no copies" "$T/img.nosave" VXCR_TEST_SKIP=cow-save VXCR_LOG=2
[ "$DUMP_RC" = 1 ] || fail "a dump without fault copies exited $DUMP_RC"
grep -q "was unmapped or discarded before the dump copied it" "$T/dump.err" ||
	fail "no reason for the failed dump: $(head -n 3 "$T/dump.err")"
[ -e "$T/img.nosave" ] && fail "a failed dump left its image"
dump_running "no checks" "$T/img.torn" VXCR_TEST_SKIP=cow-check
[ "$DUMP_RC" = 0 ] || fail "vxdump without checks exited $DUMP_RC: $(head -n 3 "$T/dump.err")"
touch "$OUT.stop"
check_original "no checks"
restore_check "$T/img.torn" "no checks" want-fail
rm -f "$OUT.stop"

# 3. mapping, unmapping, discarding meanwhile
rm -f "$T/out"
start_prog cow-writer "$MIB" churn
dump_running "churn" "$T/img.churn" VXCR_LOG=2
[ "$DUMP_RC" = 0 ] || fail "churn: vxdump exited $DUMP_RC: $(head -n 3 "$T/dump.err")"
log "churn: dumped, $FROZEN"
touch "$OUT.stop"
check_original "churn"
restore_check "$T/img.churn" "churn"
rm -f "$OUT.stop"

# 5. a tree: parent and child write their copy-on-write shared memory
rm -f "$T/out"
start_prog cow-writer "$MIB" fork
CHILD=$(awk '$1 == "child" {print $2}' "$OUT")
[ -n "$CHILD" ] || fail "fork: no child"
vx_track "$CHILD"
dump_running "fork" "$T/img.fork" VXCR_LOG=2
[ "$DUMP_RC" = 0 ] || fail "fork: vxdump exited $DUMP_RC: $(head -n 3 "$T/dump.err")"
grep -q "snapshot:" "$T/dump.err" || fail "fork: no snapshot was taken"
log "fork: $FROZEN, $(grep -o '[0-9]* write faults, [0-9]* pages copied' "$T/dump.err" | head -n 1)"
touch "$OUT.stop"
check_original "fork"
restore_check "$T/img.fork" "fork"
rm -f "$OUT.stop"
CHILD=""

# 6. seccomp filters (one kills the process on rt_sigaction, which the
#    dump injects under PTRACE_O_SUSPEND_SECCOMP): the tree runs on in the
#    copy window and after it with every filter in force
rm -f "$T/out"
start_prog seccomp
CHILD=$(awk '$1 == "children" {print $2, $3}' "$OUT")
[ -n "$CHILD" ] || fail "seccomp: no children"
vx_track $CHILD
dump_running "seccomp" "$T/img.seccomp" VXCR_LOG=2
[ "$DUMP_RC" = 0 ] || fail "seccomp: vxdump exited $DUMP_RC: $(head -n 3 "$T/dump.err")"
grep -q "snapshot:" "$T/dump.err" || fail "seccomp: no snapshot was taken"
go_and_check
log "seccomp: $FROZEN, filters in force after the dump"
CHILD=""

# 4. vxdump killed in the middle of the copy
rm -f "$T/out"
start_prog cow-writer "$MIB"
VXCR_TEST_PAUSE=cow-copy VXCR_LOG=2 "$VXDUMP" --leave-running -o "$T/img.kill" "$PID" \
	>"$T/dump.out" 2>"$T/dump.err" &
DPID=$!
vx_track "$DPID"
vx_wait_line "$T/dump.err" "pausing at cow-copy" 30 || fail "vxdump did not reach cow-copy"
grep -q '^VmFlags:.* uw' "/proc/$PID/smaps" || fail "no snapshot registered at cow-copy"
t0=$(awk '{print $14}' "/proc/$PID/stat")
sleep 1
t1=$(awk '{print $14}' "/proc/$PID/stat")
[ "$t1" -gt "$t0" ] || fail "the target did not run while vxdump paused mid-copy ($t0 -> $t1 ticks)"
kill -KILL "$DPID"
wait "$DPID" 2>/dev/null
vx_untrack "$DPID"
sleep 0.2
vx_alive "$PID" || fail "target died with vxdump"
no_leftovers "$PID" "killed mid-copy"
[ -e "$T/img.kill" ] && fail "a killed dump left its image"
t0=$(awk '{print $14}' "/proc/$PID/stat")
sleep 0.5
t1=$(awk '{print $14}' "/proc/$PID/stat")
[ "$t1" -gt "$t0" ] || fail "the target stopped running after vxdump died"
check_original "killed mid-copy"

# 7. vxdump killed between the userfaultfd it made in the target and its
#    close there: the fd stays; the next dump closes it (its note says
#    which) and goes through
rm -f "$T/out"
start_prog cow-writer 16
VXCR_TEST_PAUSE=cow-uffd VXCR_LOG=2 "$VXDUMP" --leave-running -o "$T/img.stray" "$PID" \
	>"$T/dump.out" 2>"$T/dump.err" &
DPID=$!
vx_track "$DPID"
vx_wait_line "$T/dump.err" "pausing at cow-uffd" 30 || fail "vxdump did not reach cow-uffd"
kill -KILL "$DPID"
wait "$DPID" 2>/dev/null
vx_untrack "$DPID"
untraced || fail "stray: $PID still traced"
ls -l /proc/"$PID"/fd | grep -q userfaultfd || fail "stray: no userfaultfd left to clean (the kill came too late)"
dump_running "stray" "$T/img.stray" VXCR_LOG=2
[ "$DUMP_RC" = 0 ] || fail "stray: vxdump exited $DUMP_RC: $(head -n 3 "$T/dump.err")"
grep -q "closed fd [0-9]*, a userfaultfd a killed vxdump left" "$T/dump.err" ||
	fail "stray: the next dump did not say it closed the fd"
touch "$OUT.stop"
check_original "stray"
restore_check "$T/img.stray" "stray"
rm -f "$OUT.stop"
pass "writer of $MIB MiB frozen $WRITER_FROZEN ms, every image exact"
