#!/bin/bash
# The switch's shared answer table (tests/kernel/progs/switch-answers.c)
# against the userspace engine: bad bits, unknown categories and numbers,
# wrong versions, NULL data, reserved PROCMIG numbers, SYSTEST, get_version,
# the in-kernel commands refused with "needs the kernel module".  The QEMU
# guest runs the same table against vxcr.ko (tests/kernel/k-base-switch.sh).
. "$(dirname "$0")/lib.sh"
PROG=$VX_BUILD/tests/kernel/progs/switch-answers
[ -x "$PROG" ] || fail "$PROG not built"
VXCR_VSERVER_DEV="" "$PROG" engine >"$T/out" 2>&1
st=$?
cat "$T/out"
grep -q "^not ok" "$T/out" && fail "$(grep -c '^not ok' "$T/out") answers differ: $(grep -m1 '^not ok' "$T/out")"
[ "$st" = 0 ] || fail "switch-answers exited $st"
n=$(grep -c '^ok ' "$T/out")
[ "$n" -ge 50 ] || fail "only $n answers checked"
pass "$n answers as the table says"
