#!/bin/bash
# `vxcr check` reports what vxcr can do, not only what the kernel offers
# (issue 9): a feature the kernel has but vxcr does not use yet says so.
# TCP sockets are dumped since issue 13 (the dump of a program's listening,
# bound and unbound sockets proves it), so check must not say otherwise.
. "$(dirname "$0")/lib.sh"
require_cr
"$VXCR" check >"$T/check.out" 2>&1
grep -q "^ok *tcp-repair" "$T/check.out" || skip "no TCP_REPAIR here"
start_prog tcpsk
"$VXDUMP" -o "$T/img" --leave-running "$PID" >/dev/null 2>"$T/dump.err" ||
	fail "check says $(grep tcp-repair "$T/check.out"), but the dump of TCP sockets failed: $(head -n 1 "$T/dump.err")"
grep -q "tcp-repair.*does not dump sockets" "$T/check.out" &&
	fail "check says sockets are not dumped, but the dump of TCP sockets worked"
go_and_check
pass "$(grep tcp-repair "$T/check.out")"
