#!/bin/bash
# vxrestore SIGKILLed while paused at a stage (VXCR_TEST_PAUSE=STAGE: child,
# layout, pages, creds) leaves nothing behind: within 2 s no process holds
# the original pid (the half-built child dies with its parent through
# PR_SET_PDEATHSIG / PTRACE_O_EXITKILL), the image is unchanged, and a normal
# restore of the same image then works (the counter carries on).
. "$(dirname "$0")/lib.sh"
require_cr

# kill_restorer_at STAGE IMAGE: starts vxrestore IMAGE paused at STAGE and
# kills it there; fails unless $PID is gone within 2 s.
kill_restorer_at()
{
	local stage=$1 img=$2 rpid i st
	VXCR_TEST_PAUSE=$stage VXCR_LOG=2 "$VXRESTORE" "$img" \
		>"$T/paused.out" 2>"$T/paused.err" &
	rpid=$!
	vx_track "$rpid"
	for ((i = 0; i < 200; i++)); do
		kill -0 "$rpid" 2>/dev/null || break
		grep -q "pausing at $stage" "$T/paused.err" && break
		sleep 0.05
	done
	if ! kill -0 "$rpid" 2>/dev/null; then
		wait "$rpid"
		st=$?
		fail "vxrestore did not pause at '$stage' (exited $st): $(head -n 2 "$T/paused.err")"
	fi
	grep -q "pausing at $stage" "$T/paused.err" ||
		fail "vxrestore did not say 'pausing at $stage' within 10 s"
	kill -9 "$rpid"
	wait "$rpid" 2>/dev/null
	vx_untrack "$rpid"
	vx_wait_gone "$PID" 2 ||
		fail "pid $PID still exists 2 s after vxrestore was killed at '$stage'" \
			"(state $(sed 's/.*) //' "/proc/$PID/stat" 2>/dev/null | awk '{print $1}'))"
	log "vxrestore killed at '$stage': pid $PID gone"
}

for stage in child layout pages creds; do
	start_prog counter
	expect_counting "before dump"
	dump "$PID" "$T/img"
	sum=$(md5sum <"$T/img")
	before=$(last_count)
	kill_restorer_at "$stage" "$T/img"
	[ "$(md5sum <"$T/img")" = "$sum" ] || fail "image changed by the vxrestore killed at '$stage'"
	restore_bg "$T/img"
	expect_counting "restore after the one killed at '$stage'"
	after=$(grep -E '^count [0-9]+$' "$OUT" | awk -v b="$before" '$2 > b {print $2; exit}')
	[ -n "$after" ] || fail "no count above $before after restore ('$stage')"
	go_and_check
	wait_restore_exit 0
	[ "$(md5sum <"$T/img")" = "$sum" ] || fail "image changed by the restore after '$stage'"
	vx_untrack "$PID"
	rm -f "$OUT" "$T/img"
done
pass
