#!/bin/bash
# A shell pipeline dumped midway: bash -c 'head -c 1G /dev/zero | gzip -1 |
# wc -c > FILE' (bash and its three children, pipes full of data in
# flight, /dev/zero and an output file at an offset).  After restore it
# runs to the end and the byte count equals that of the same pipeline run
# without a dump.
. "$(dirname "$0")/lib.sh"
require_cr
command -v gzip >/dev/null || skip "gzip not installed"
N=1000000000
expected=$(head -c "$N" /dev/zero | gzip -1 | wc -c)
log "expected compressed size: $expected"
# shellcheck disable=SC2016
start_cmd "$T/out" bash -c 'head -c "$1" /dev/zero | gzip -1 | wc -c >"$2.tmp" && mv "$2.tmp" "$2"' \
	sh "$N" "$T/count"
for ((i = 0; i < 100; i++)); do
	[ "$(vx_tree_pids "$PID" | wc -l)" = 4 ] && break
	sleep 0.05
done
[ "$(vx_tree_pids "$PID" | wc -l)" = 4 ] || fail "pipeline tree not complete: $(vx_tree_pids "$PID" | tr '\n' ' ')"
sleep 1
[ ! -e "$T/count" ] && vx_alive "$PID" || fail "pipeline finished before the dump (machine too fast?)"
vx_tree_snapshot "$PID" "$T/tree.before"
vx_track_tree "$PID"
dump "$PID" "$T/img"
vx_tree_gone "$T/tree.before"
restore_bg "$T/img"
vx_tree_expect "$T/tree.before" "$PID" 2
vx_wait_line "$T/count" '^[0-9]+$' 120 || fail "restored pipeline did not finish within 120 s"
got=$(cat "$T/count")
wait_restore_exit 0
[ "$got" = "$expected" ] || fail "pipeline counted $got bytes, expected $expected"
pass "$got bytes, as without a dump"
