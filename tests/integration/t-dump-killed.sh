#!/bin/bash
# vxdump killed with SIGKILL while paused at a stage (VXCR_TEST_PAUSE=STAGE)
# leaves the target running and unharmed: not stopped, not traced, its
# counter keeps counting and (for the memory program) its memory verifies.
. "$(dirname "$0")/lib.sh"
require_cr

# kill_dumper_at STAGE: dumps $PID with a pause at STAGE and kills vxdump there.
kill_dumper_at()
{
	local stage=$1 dpid i st tracer
	VXCR_TEST_PAUSE=$stage VXCR_LOG=2 "$VXDUMP" -o "$T/img.$stage" "$PID" \
		>"$T/dump.out" 2>"$T/dump.err" &
	dpid=$!
	vx_track "$dpid"
	for ((i = 0; i < 200; i++)); do	# paused: it says so, or traces for 1 s
		kill -0 "$dpid" 2>/dev/null || break
		grep -qiE "paus(e|ing).*$stage" "$T/dump.err" && break
		tracer=$(awk '/^TracerPid:/ {print $2}' "/proc/$PID/status" 2>/dev/null)
		[ "$tracer" = "$dpid" ] && (( i > 60 )) && break
		sleep 0.05
	done
	if ! kill -0 "$dpid" 2>/dev/null; then
		wait "$dpid"
		st=$?
		fail "vxdump did not pause at stage '$stage' (exited $st): $(head -n 2 "$T/dump.err")"
	fi
	kill -9 "$dpid"
	wait "$dpid" 2>/dev/null
	vx_untrack "$dpid"
	sleep 0.2
	vx_alive "$PID" || fail "target $PID died when vxdump was killed at '$stage'"
	st=$(sed 's/.*) //' "/proc/$PID/stat" | awk '{print $1}')
	[ "$st" != t ] && [ "$st" != T ] || fail "target $PID left stopped ($st) at '$stage'"
	tracer=$(awk '/^TracerPid:/ {print $2}' "/proc/$PID/status")
	[ "$tracer" = 0 ] || fail "target $PID still traced by $tracer at '$stage'"
	log "vxdump killed at '$stage': target $PID fine"
}

finish_prog()
{
	go_and_check
	vx_wait_gone "$PID" 10 || fail "$PID did not exit after its check"
	vx_untrack "$PID"
	rm -f "$T/out"
}

for stage in seized collected pages written; do
	start_prog counter
	expect_counting "before dump"
	kill_dumper_at "$stage"
	expect_counting "after vxdump was killed at '$stage'"
	finish_prog
done
start_prog memory
kill_dumper_at pages
finish_prog
pass
