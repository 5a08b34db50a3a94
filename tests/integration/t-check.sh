#!/bin/bash
# `vxcr check` reports what vxcr can do, not only what the kernel offers
# (issue 9): a feature the kernel has but vxcr does not use yet says so.
# Today sockets are refused by every dump, so check must not claim TCP
# connections can be dumped; the dump of a listening socket proves it.
. "$(dirname "$0")/lib.sh"
require_cr
"$VXCR" check >"$T/check.out" 2>&1
grep -q "^ok *tcp-repair" "$T/check.out" || skip "no TCP_REPAIR here"
start_prog dump-refused socket
if "$VXDUMP" -o "$T/img" --leave-running "$PID" >/dev/null 2>"$T/dump.err"; then
	grep -q "tcp-repair.*does not dump sockets" "$T/check.out" &&
		fail "check says sockets are not dumped, but the dump of one worked"
else
	grep -qi "connections can be dumped" "$T/check.out" &&
		fail "check claims TCP connections can be dumped; the dump says: $(head -n 1 "$T/dump.err")"
	grep -q "tcp-repair.*does not dump sockets" "$T/check.out" ||
		fail "check does not say sockets are not dumped: $(grep tcp-repair "$T/check.out")"
fi
expect_counting "after the dump"
go_and_check
pass "$(grep tcp-repair "$T/check.out")"
