#!/bin/bash
# Post-copy (vxcr migrate --lazy) against --no-precopy: mig-dirty of MIB
# MiB (default 256 and 1024) rewriting 16 MiB/s, migrated over the veth
# pair of mig-lib.sh; prints frozen time, time to every page, faults.
# Run as root from the source tree: VX_BUILD=build bench/mig-lazy.sh [MIB...]
. "$(dirname "$0")/../tests/integration/lib.sh"
. "$(dirname "$0")/../tests/integration/mig-lib.sh"
require_cr
mig_setup
one()
{
	rm -f "$OUT"
	start_prog mig-dirty "$1" 16
	serve_start
	migrate $2 --stats "$PID"
	[ "$MIG_RC" = 0 ] || fail "$1 $2: $MIG_RC $(tail -3 "$T/mig.err")"
	DPID=$(cat "$T/mig.out"); vx_track "$DPID"
	serve_wait
	vx_wait_gone "$PID" 20
	kill -USR1 "$DPID"
	vx_wait_line "$OUT" '^(PASS|FAIL) ' 60 || fail "no check"
	r=$(grep -c '^PASS mig-dirty' "$OUT")
	[ "$r" = 1 ] || fail "$1 $2: the migrated process failed its check: $(grep FAIL "$OUT")"
	echo "RESULT $1 MiB $2: frozen $(json_field "$T/mig.err" frozen_ms) ms, lazy $(json_field "$T/mig.err" lazy_ms) ms, faults $(json_field "$T/mig.err" lazy_faults), total $(json_field "$T/mig.err" total_ms) ms, check=$r" >&2
	grep 'post-copy' "$T/serve.err" >&2
	vx_wait_gone "$DPID" 20
}
for m in ${*:-256 1024}; do
	for mode in --lazy --no-precopy; do one "$m" "$mode"; done
done
pass "see the RESULT lines"
