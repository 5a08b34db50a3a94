#!/bin/bash
# A bash loop that never forks (arithmetic, echo, read -t on a FIFO held
# open read-write on fd 9): after restore it continues from its counter and
# stops when "go" arrives through the FIFO.
. "$(dirname "$0")/lib.sh"
require_cr
mkfifo "$T/fifo"
cat >"$T/loop.sh" <<'SH'
exec 9<>"$1"
i=0
echo ready >>"$2"
while :; do
	i=$((i + 1))
	echo $i >"$3"
	if read -t 0.05 -u 9 x && [ "$x" = go ]; then
		break
	fi
done
echo "PASS bash-loop i=$i" >>"$2"
SH

counter()	# current value of the loop's counter file
{
	local v="" i
	for ((i = 0; i < 100; i++)); do
		v=$(cat "$T/counter" 2>/dev/null)
		[ -n "$v" ] && break
		sleep 0.01
	done
	echo "${v:-0}"
}

start_cmd "$T/out" bash "$T/loop.sh" "$T/fifo" "$T/out" "$T/counter"
vx_wait_line "$OUT" '^ready$' 20 || fail "bash loop did not get ready"
sleep 1.5
before=$(counter)
[ "$before" -gt 5 ] || fail "bash loop counter at $before after 1.5 s"
dump "$PID" "$T/img"
at_dump=$(counter)
restore_bg "$T/img"
sleep 0.3
after=$(counter)
log "counter: $before before dump, $at_dump at dump, $after 0.3 s after restore"
[ "$after" -gt "$at_dump" ] || fail "counter $after after restore, $at_dump at dump"
echo go >"$T/fifo"
vx_wait_line "$OUT" '^PASS' 20 || fail "bash loop did not stop on go"
final=$(sed -n 's/^PASS bash-loop i=//p' "$OUT")
[ "$final" -ge "$after" ] || fail "final counter $final below $after"
wait_restore_exit 0
pass "counter $at_dump at dump, $final at the end"
