#!/bin/bash
# vxdump refuses a process holding a TCP socket (listening on 127.0.0.1),
# one with two threads and one with a child process (tests/progs/
# dump-refused): exit status 1, exactly one line on stderr naming the pid
# (and the fd for the socket), no image file left at -o, and the target
# keeps running: counter advancing, not stopped, not traced (TracerPid 0).
. "$(dirname "$0")/lib.sh"
require_cr

# refuse MODE REGEX: dumps $PID, which must be refused with a line matching
# REGEX; then checks the target is unharmed and lets it check itself.
refuse()
{
	local mode=$1 want=$2 img=$T/img.$1 st tracer
	"$VXDUMP" -o "$img" "$PID" >"$T/dump.out" 2>"$T/dump.err"
	st=$?
	[ "$st" = 1 ] || fail "vxdump of a process with a $mode exited $st, expected 1: $(head -n 3 "$T/dump.err")"
	[ "$(wc -l <"$T/dump.err")" = 1 ] ||
		fail "vxdump ($mode): expected one line on stderr, got $(wc -l <"$T/dump.err"): $(head -n 5 "$T/dump.err")"
	grep -Eq "$want" "$T/dump.err" ||
		fail "vxdump ($mode): message does not match '$want': $(cat "$T/dump.err")"
	[ ! -e "$img" ] && [ ! -L "$img" ] || fail "vxdump ($mode) left $img behind"
	[ ! -s "$T/dump.out" ] || fail "vxdump ($mode) wrote to stdout"
	vx_alive "$PID" && [ "$(vx_starttime "$PID")" = "$ORIG_START" ] ||
		fail "target $PID ($mode) gone after the refused dump"
	st=$(sed 's/.*) //' "/proc/$PID/stat" | awk '{print $1}')
	[ "$st" != t ] && [ "$st" != T ] || fail "target $PID ($mode) left stopped ($st)"
	tracer=$(awk '/^TracerPid:/ {print $2}' "/proc/$PID/status")
	[ "$tracer" = 0 ] || fail "target $PID ($mode) still traced by $tracer"
	expect_counting "after the refused dump ($mode)"
	log "$mode refused: $(cat "$T/dump.err")"
	go_and_check
	vx_wait_gone "$PID" 10 || fail "$PID ($mode) did not exit after its check"
	vx_untrack "$PID"
	rm -f "$OUT"
}

start_prog dump-refused socket
sfd=$(sed -n 's/^socket //p' "$OUT")
[ -n "$sfd" ] || fail "dump-refused socket did not report its fd"
expect_counting "before dump (socket)"
refuse socket "(^|[^0-9])$PID([^0-9]|$).*fd $sfd([^0-9]|$)"

start_prog dump-refused thread
expect_counting "before dump (thread)"
refuse "thread" "(^|[^0-9])$PID([^0-9]|$)"

start_prog dump-refused child
child=$(sed -n 's/^child //p' "$OUT")
[ -n "$child" ] || fail "dump-refused child did not report its child"
vx_track "$child"
expect_counting "before dump (child)"
refuse child "(^|[^0-9])$PID([^0-9]|$)"
pass
