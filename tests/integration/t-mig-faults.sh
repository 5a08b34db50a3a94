#!/bin/bash
# Exactly one live copy: a migration cut, stalled, corrupted or killed at
# each protocol step and at byte offsets of the stream leaves the source
# running as before (its memory checked page by page afterwards) and
# nothing on the destination.  The one documented exception, a cut
# between the two commits (the destination restored it and our copy was
# killed, its COMMIT lost), exits 3 and leaves no second copy.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mig-lib.sh"
require_cr
mig_setup
n=0

# fault WHAT MIG_ENV SERVE_ENV: one migration with these hooks must fail
# with the source intact.
fault()
{
	local what=$1
	rm -f "$OUT"
	start_prog mig-dirty 16 8
	SERVE_ENV=$3 serve_start --timeout 3
	MIG_ENV=$2 migrate --max-rounds 3 "$PID"
	[ "$MIG_RC" = 1 ] || fail "$what: vxcr migrate exited $MIG_RC: $(tail -n 2 "$T/mig.err")"
	expect_source_intact "$what"
	n=$((n + 1))
}

# each step of the protocol (message types: proto.h)
fault "cut before HELLO" "VXCR_TEST_CHAN=client:cut@msg:1" ""
fault "cut before the first pages" "VXCR_TEST_CHAN=client:cut@msg:3" ""
fault "cut before the image" "VXCR_TEST_CHAN=client:cut@msg:6" ""
fault "cut before IMAGE_END" "VXCR_TEST_CHAN=client:cut@msg:7" ""
fault "destination cut before READY" "" "VXCR_TEST_CHAN=server:cut@msg:2"
fault "destination cut before RESTORED" "" "VXCR_TEST_CHAN=server:cut@msg:8"
fault "source fails after RESTORED" "VXCR_TEST_FAIL=mig-commit" ""
fault "destination restore fails" "" "VXCR_TEST_FAIL=tree"
# byte offsets of the source's stream: pre-copy, image, end
for off in 100 70000 3000000 9000000 17000000; do
	fault "cut at byte $off" "VXCR_TEST_CHAN=client:cut@$off" ""
	fault "bit flipped at byte $off" "VXCR_TEST_CHAN=client:flip@$off" ""
done
off=$(( (RANDOM * 32768 + RANDOM) % 16000000 ))
fault "cut at random byte $off" "VXCR_TEST_CHAN=client:cut@$off" ""

# a stalled source: the destination gives up (--timeout 3), the source's
# migrate is killed in its stall: the source runs on
rm -f "$OUT"
start_prog mig-dirty 16 8
serve_start --timeout 3
MIG_ENV="VXCR_TEST_CHAN=client:stall@5000000" migrate_bg "$PID"
serve_wait
kill -9 "$MIG_PID"
vx_wait_gone "$MIG_PID" 10 || fail "stall: vxcr migrate did not die"
expect_source_intact "stalled source"

# vxcr migrate killed during pre-copy, vxcr serve killed holding the
# restored tree: nothing of it stays anywhere but the source
rm -f "$OUT"
start_prog mig-dirty 16 8
serve_start
MIG_ENV="VXCR_TEST_PAUSE=mig-precopy" migrate_bg -v "$PID"
vx_wait_line "$T/mig.err" 'pausing at mig-precopy' 20 || fail "migrate did not pause: $(cat "$T/mig.err")"
kill -9 "$MIG_PID"
expect_source_intact "migrate killed in pre-copy"

rm -f "$OUT"
start_prog mig-dirty 16 8
SERVE_ENV="VXCR_TEST_PAUSE=serve-restored" serve_start -v
migrate_bg "$PID"
vx_wait_line "$T/serve.err" 'pausing at serve-restored' 20 || fail "serve did not pause: $(cat "$T/serve.err")"
kill -9 "$SERVE_PID"
for ((i = 0; i < 200; i++)); do vx_alive "$MIG_PID" || break; sleep 0.05; done
vx_alive "$MIG_PID" && fail "vxcr migrate still waits after serve was killed"
wait "$MIG_PID" 2>/dev/null
sleep 0.5 # the restore's janitor undoes what the killed serve held
expect_source_intact "serve killed holding the restored tree"

# the documented window: COMMIT lost after our copy was killed
rm -f "$OUT"
start_prog mig-dirty 16 8
serve_start --timeout 3
MIG_ENV="VXCR_TEST_CHAN=client:cut@msg:9" migrate "$PID"
[ "$MIG_RC" = 3 ] || fail "COMMIT lost: vxcr migrate exited $MIG_RC, not 3: $(tail -n 2 "$T/mig.err")"
serve_wait
[ "$(mig_procs | wc -l)" = 0 ] || fail "COMMIT lost: copies left: $(mig_procs | tr '\n' ' ')"
pass "$n faults, a stall and two kills: the source ran on alone every time; a lost COMMIT exits 3"
