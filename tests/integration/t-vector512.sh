#!/bin/bash
# Dump and restore tests/progs/vector512: zmm0-31, k0-7 and r12-r15 survive.
# Skipped when the CPU or the kernel lacks AVX-512F (the program's own cpuid
# and XCR0 check, run with --probe).
. "$(dirname "$0")/lib.sh"
[ -x "$PROGS/vector512" ] || fail "$PROGS/vector512 not built"
"$PROGS/vector512" "$T/probe" --probe
case $? in
0) ;;
77) skip "$(sed -n 's/^SKIP vector512: //p' "$T/probe")" ;;
*) fail "vector512 --probe failed: $(cat "$T/probe" 2>/dev/null)" ;;
esac
cr_cycle vector512
