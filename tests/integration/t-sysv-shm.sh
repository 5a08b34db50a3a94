#!/bin/bash
# SysV segments that outlive the dumped tree (issue 9.3).  A default-mode
# dump kills the program and leaves its keyed segment behind:
# - restored as is, the leftover is provably the image's own (same key,
#   size, owner, mode, nobody attached, same bytes) and is taken without
#   being written;
# - changed after the dump, or replaced by another user's segment at the
#   same id, it is refused with one line and left exactly as it was;
# - a vxrestore SIGKILLed after creating a segment (paused at 'pages')
#   leaves no segment behind (its janitor removes it).
. "$(dirname "$0")/lib.sh"
require_cr

# start_seg: starts sysv-shm, dumps it (default mode); sets ID to its shmid.
SEGS=""
vx_case_cleanup()	# segments a failed case left
{
	local id
	for id in $SEGS; do ipcrm -m "$id" 2>/dev/null; done
}

start_seg()
{
	rm -f "$T/out"
	start_prog sysv-shm
	ID=$(awk '/^shmid/ {print $2}' "$OUT")
	[ -n "$ID" ] || fail "no shmid from sysv-shm"
	SEGS="$SEGS $ID"
	dump "$PID" "$T/img"
	seg_exists "$ID" || fail "segment $ID did not outlive the dump"
}
# seg_exists ID: true if SysV segment ID exists (ipcs -i exits 0 either way)
seg_exists() { awk -v id="$1" 'NR > 1 && $2 == id {f = 1} END {exit !f}' /proc/sysvipc/shm; }
segsum() { "$PROGS/sysv-shm" "$T/helper.out" sum "$1"; }
finish() { go_and_check; vx_wait_gone "$PID" 5; vx_untrack "$PID"; rm -f "$OUT" "$T/img"; }

# 1. the leftover is the image's own: restored without a write
start_seg
restore_bg "$T/img"
finish
seg_exists "$ID" && fail "segment $ID still there after the program removed it"

# 2. changed since the dump: refused, not overwritten
start_seg
"$PROGS/sysv-shm" "$T/helper.out" poke "$ID" || fail "poke failed"
before=$(segsum "$ID")
expect_refused "$T/img" "an image whose leftover segment changed"
grep -q "other contents" "$T/refused.err" || fail "message does not say why: $(cat "$T/refused.err")"
[ "$(segsum "$ID")" = "$before" ] || fail "segment $ID was written by the refused restore"
ipcrm -m "$ID"

# 3. another user's segment at the same id: refused, untouched
start_seg
ipcrm -m "$ID"
"$PROGS/sysv-shm" "$T/helper.out" squat "$ID" 65534 >/dev/null || fail "squat failed"
before=$(segsum "$ID")
expect_refused "$T/img" "an image whose segment id is another user's"
grep -q "is not this image's" "$T/refused.err" || fail "message does not say why: $(cat "$T/refused.err")"
[ "$(segsum "$ID")" = "$before" ] || fail "another user's segment $ID was written"
ipcrm -m "$ID"

# 4. killed after creating the segment: nothing left
start_seg
ipcrm -m "$ID"
VXCR_TEST_PAUSE=pages VXCR_LOG=2 "$VXRESTORE" "$T/img" >"$T/paused.out" 2>"$T/paused.err" &
rpid=$!
vx_track "$rpid"
vx_wait_line "$T/paused.err" "pausing at pages" 20 || fail "vxrestore did not pause"
seg_exists "$ID" || fail "no segment $ID while restoring"
kill -9 "$rpid"
wait "$rpid" 2>/dev/null
vx_untrack "$rpid"
for ((i = 0; i < 40; i++)); do
	seg_exists "$ID" || break
	sleep 0.05
done
seg_exists "$ID" && { ipcrm -m "$ID"; fail "segment $ID left by the killed vxrestore"; }
vx_wait_gone "$PID" 5 || fail "pid $PID left by the killed vxrestore"
pass "leftover taken unchanged; changed or foreign segments refused and untouched; none left by a killed restore"
