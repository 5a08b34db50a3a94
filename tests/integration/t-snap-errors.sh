#!/bin/bash
# vxcr snap refusals: bad names and usage (exit 2), a missing snapshot, a
# program that exits before it is ready (its status said, nothing stored),
# a process not started for snap (--pid), a corrupt image and a corrupt or
# newer description (one line, exit 1, no process left behind).
# vx-timeout: 180
. "$(dirname "$0")/lib.sh"
require_cr
S=$T/store
PROG=$PROGS/snap-mem

expect_usage()
{
	local st
	timeout 30 "$VXCR" snap "$@" >/dev/null 2>"$T/usage.err"
	st=$?
	[ "$st" = 2 ] || fail "snap $* exited $st, expected 2: $(cat "$T/usage.err")"
	[ "$(wc -l <"$T/usage.err")" = 1 ] || fail "snap $*: not one line: $(cat "$T/usage.err")"
}
for name in "" "a/b" ".." ".hidden" "x y" "$(printf 'n%.0s' $(seq 200))"; do
	expect_usage take "$name" --store "$S" -- "$PROG"
	expect_usage run "$name" --store "$S"
done
expect_usage take m --store "$S"
expect_usage take m --store "$S" --pid 1 -- "$PROG"
expect_usage run m --store "$S" --pid 1
expect_usage run m --store "$S" -n 0
expect_usage frob m
[ ! -e "$S" ] || [ -z "$(ls -A "$S")" ] || fail "a refused command stored something: $(ls -A "$S")"

# missing snapshot
timeout 30 "$VXCR" snap run nosuch --store "$S" >/dev/null 2>"$T/missing.err"
st=$?
[ "$st" = 1 ] || fail "snap run of a missing snapshot exited $st"
grep -q "no snapshot nosuch" "$T/missing.err" || fail "missing: $(cat "$T/missing.err")"

# exits before ready: its status, nothing stored
timeout 30 "$VXCR" snap take early --store "$S" -- "$PROG" early 3 >/dev/null 2>"$T/early.err"
st=$?
[ "$st" = 1 ] || fail "snap take of a program exiting early exited $st"
grep -q "exited with status 3 before it was ready" "$T/early.err" ||
	fail "early exit: $(cat "$T/early.err")"
[ -z "$(ls -A "$S")" ] || fail "an early exit left in the store: $(ls -A "$S")"

# --pid of a process without the channel: refused, left running
start_prog counter
timeout 30 "$VXCR" snap take p --store "$S" --pid "$PID" >/dev/null 2>"$T/pid.err"
st=$?
[ "$st" = 1 ] || fail "snap take --pid of a process without channel exited $st"
grep -q "not started for vxcr snap" "$T/pid.err" || fail "--pid: $(cat "$T/pid.err")"
vx_alive "$PID" || fail "refused --pid killed $PID"
[ -z "$(ls -A "$S")" ] || fail "a refused --pid left in the store: $(ls -A "$S")"

# a good snapshot, then broken copies of it
timeout 60 "$VXCR" snap take m --store "$S" -- "$PROG" >/dev/null 2>"$T/take.err" ||
	fail "snap take exited $?: $(cat "$T/take.err")"
cp -a "$S/m" "$S/bad"
size=$(stat -c %s "$S/bad/image")
printf '\xff\xff\xff\xff\xff\xff\xff\xff' |
	dd of="$S/bad/image" bs=1 seek=$((size / 2)) conv=notrunc status=none
timeout 60 "$VXCR" snap run bad --store "$S" -- show >"$T/bad.out" 2>"$T/bad.err"
st=$?
[ "$st" = 1 ] || fail "snap run of a corrupt image exited $st: $(cat "$T/bad.out")"
[ "$(wc -l <"$T/bad.err")" = 1 ] || fail "corrupt image: not one line: $(cat "$T/bad.err")"
[ ! -s "$T/bad.out" ] || fail "a copy of a corrupt image ran: $(cat "$T/bad.out")"
cmp -s "$S/m/snap" "$S/bad/snap" || fail "copy of the description differs"

cp -a "$S/m" "$S/trunc"
truncate -s $((size / 3)) "$S/trunc/image"
timeout 60 "$VXCR" snap run trunc --store "$S" -- show >"$T/trunc.out" 2>"$T/trunc.err"
[ $? = 1 ] || fail "snap run of a truncated image did not fail with 1"

for meta in "vxcr-snap 9\nchannel 3 4\n" "vxcr-snap 1\nchannel 1 2\n" "garbage"; do
	cp -a "$S/m" "$S/meta"
	printf "$meta" >"$S/meta/snap"
	timeout 30 "$VXCR" snap run meta --store "$S" -- show >"$T/meta.out" 2>"$T/meta.err"
	st=$?
	[ "$st" = 1 ] || fail "snap run with description '$meta' exited $st"
	[ ! -s "$T/meta.out" ] || fail "a copy ran with description '$meta'"
	rm -rf "$S/meta"
done

# a store others may write to is not trusted
chmod 0777 "$S"
timeout 30 "$VXCR" snap run m --store "$S" -- show >"$T/trust.out" 2>"$T/trust.err"
st=$?
chmod 0700 "$S"
[ "$st" = 1 ] || fail "snap run from a world-writable store exited $st"
grep -q "refusing" "$T/trust.err" || fail "untrusted store: $(cat "$T/trust.err")"
[ ! -s "$T/trust.out" ] || fail "a copy ran from an untrusted store"

# a take killed while it waits: its program dies with it, and what it
# left in the store goes at the next take of that name
"$VXCR" snap take m --store "$S" -- sleep 1000 >/dev/null 2>&1 &
tk=$!
vx_track "$tk"
for ((i = 0; i < 100; i++)); do
	ls -A "$S" | grep -q '^\.m\.' && break
	sleep 0.05
done
ls -A "$S" | grep -q '^\.m\.' || fail "no temporary directory of a take in progress: $(ls -A "$S")"
kid=$(cat "/proc/$tk/task/$tk/children")
[ -n "$kid" ] || fail "the take has no program running"
kill -9 "$tk"
wait "$tk" 2>/dev/null
vx_wait_gone "$kid" 10 || fail "the program of a killed take ($kid) still runs"
timeout 60 "$VXCR" snap take m --store "$S" -- "$PROG" >/dev/null 2>"$T/retake.err" ||
	fail "snap take after a killed one exited $?: $(cat "$T/retake.err")"
! ls -A "$S" | grep -q '^\.' || fail "left in the store after the next take: $(ls -A "$S")"

# the good one still restores, after all this
timeout 60 "$VXCR" snap run m --store "$S" -- show >"$T/good.out" 2>"$T/good.err" ||
	fail "snap run of the good snapshot exited $?: $(cat "$T/good.err")"
grep -q "value 4242 pattern ok" "$T/good.out" || fail "good copy: $(cat "$T/good.out")"
pass
