#!/bin/bash
# vxdump SIGKILLed at 1000 random instants of a dump (VX_KILLS to change
# the count, VX_SEED to replay), half with --leave-running: the target is
# left alive and unharmed every time (see t-dump-kill-sweep.sh for what is
# checked), or the dump had completed with a whole image.
. "$(dirname "$0")/lib.sh"
require_cr
mkdir "$T/random"
python3 "$VX_ROOT/tests/integration/kill-sweep.py" "$VX_BUILD" "$T/random" random \
	"${VX_KILLS:-1000}" >"$T/random.out" 2>&1
st=$?
cat "$T/random.out"
[ "$st" = 0 ] || fail "$(tail -n 1 "$T/random.out")"
pass "$(tail -n 1 "$T/random.out" | cut -c1-200)"
