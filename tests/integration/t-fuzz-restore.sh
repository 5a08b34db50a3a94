#!/bin/bash
# Hostile images with valid framing and checksums never crash vxrestore.
#
# Dumps tests/progs/counter, then for seeds 1..VX_FUZZ_N (default 150) has
# tests/fuzz/mutate-image rewrite the image with a few hostile records and
# runs `vxrestore -d --pidfile F` on it, sandboxed.  The checks on each run
# (exit 0 or 1 within 30 s, one "vxcr: " line on failure, no process left,
# the restored process killed and reaped on success, `vxcr img verify/json`
# exit 0 or 1) and the sandbox are described in fuzz-lib.sh.  At the end
# the original image still restores and counts.  t-fuzz-tree.sh does the
# same for process trees and threads.
#
# A seed that misbehaves is logged with its mutations and a command to
# reproduce it, and its image is kept in VX_FUZZ_KEEP (default
# BUILD/test-logs/fuzz-restore).  Environment: VX_FUZZ_N, VX_FUZZ_FIRST,
# VX_FUZZ_COUNT (mutations per image, default 1-3 by seed), VX_FUZZ_ALSO
# (extra seeds, default the reproducers of known bugs; "" for none),
# VX_FUZZ_PIDNS (every Kth seed with --pidns, default 0: never).
#
# Bugs found (seeds of VX_FUZZ_ALSO, with counter's image): a path with a
# newline in it (task root 181, task cwd 843, a mapped file's path 2082) was
# printed verbatim, so the refusal took two lines on stderr.
. "$(dirname "$0")/fuzz-lib.sh"
fuzz_init
N=${VX_FUZZ_N:-150}
# Seeds that found bugs, run on top of the range (see the head comment).
ALSO=${VX_FUZZ_ALSO-181 843 2082}

start_prog counter
expect_counting "before dump"
fuzz_target counter
dump "$PID" "$FUZZ_IMG"
cp "$T/out" "$T/out.dumped"
sum=$(md5sum <"$FUZZ_IMG")

fuzz_run "$N" "${VX_FUZZ_FIRST:-1}" "$ALSO"

[ "$(md5sum <"$FUZZ_IMG")" = "$sum" ] || fail "the original image changed"
cp "$T/out.dumped" "$T/out"	# drop what the fuzzed restores appended
restore_bg "$FUZZ_IMG"
expect_counting "after restore of the original image"
go_and_check
wait_restore_exit 0
[ "$PROBLEMS" = 0 ] || fail "$PROBLEMS problems, seeds:$BAD_SEEDS (see PROBLEM lines above)"
pass "$N seeds${ALSO:+ + $ALSO}"
