#!/bin/bash
# contrib/snap/harness.py: python3 with its imports and a fixture built
# once, said ready through libvxcr (ctypes), served by vxcr snap serve; each
# test case in a fresh copy: a case that clears module state does not
# touch the next, a failing case fails alone, the exit status says so.
# vx-timeout: 180
. "$(dirname "$0")/lib.sh"
require_cr
command -v python3 >/dev/null || skip "no python3"
export VXCR_LIB=$VX_BUILD/lib/libvxcr.so.0
timeout 120 python3 "$VX_ROOT/contrib/snap/harness.py" --vxcr "$VXCR" --store "$T/store" \
	"$VX_ROOT/contrib/snap/example_test.py" >"$T/out" 2>"$T/err"
st=$?
[ "$st" = 1 ] || fail "harness exited $st (one case fails on purpose): $(tail -n 3 "$T/err")"
for t in test_fixture_is_there test_mutates_state test_state_is_fresh test_json_roundtrip; do
	grep -q "^PASS $t " "$T/out" || fail "$t did not pass: $(cat "$T/out")"
done
grep -q "^FAIL test_fails_on_purpose " "$T/out" || fail "the failing case: $(cat "$T/out")"
grep -q "AssertionError: this one is meant to fail" "$T/err" ||
	fail "the failing case's traceback not on stderr: $(tail -n 3 "$T/err")"
pass "$(grep -c '^PASS' "$T/out") passed, 1 failed on purpose, each in a fresh copy"
