#!/bin/bash
# vxrestore SIGKILLed at 500 random instants (VX_KILLS to change, VX_SEED
# to replay) of restores of the images of t-restore-kill-sweep.sh: nothing
# is left behind and the images are unchanged.
. "$(dirname "$0")/lib.sh"
require_cr
mkdir "$T/k"
python3 "$VX_ROOT/tests/integration/restore-kill.py" "$VX_BUILD" "$T/k" random \
	"${VX_KILLS:-500}" >"$T/k.out" 2>&1
st=$?
cat "$T/k.out"
[ "$st" = 0 ] || fail "$(tail -n 1 "$T/k.out")"
pass "$(tail -n 1 "$T/k.out" | cut -c1-200)"
