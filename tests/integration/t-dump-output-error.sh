#!/bin/bash
# Errors are values (issue 10, item 6): the line vxdump prints is the first
# failure of the operation, set where it is known, not the last thing
# logged.  `vxdump PID | head -c 10` must name the image output and say
# why (EPIPE), once, not the vaguer "cannot finish the image" a caller
# logs after it; and the same when the write fails on the writer pool's
# worker thread (--compress none, the store pool: a worker writes each
# chunk), whose message no caller thread sees.  The target runs on.
. "$(dirname "$0")/lib.sh"
require_cr
start_prog memory

# closed_pipe NAME OPTS...: vxdump OPTS PID into a pipe closed after 10
# bytes exits 1 with one line naming the output and EPIPE.
closed_pipe()
{
	local name=$1 st
	shift
	"$VXDUMP" "$@" "$PID" 2>"$T/$name.err" | head -c 10 >/dev/null
	st=${PIPESTATUS[0]}
	log "$name: $(cat "$T/$name.err")"
	[ "$st" = 1 ] || fail "$name: vxdump exited $st, expected 1"
	[ "$(wc -l <"$T/$name.err")" = 1 ] || fail "$name: expected one line, got: $(cat "$T/$name.err")"
	grep -q "^vxcr: dump: cannot write to the image output (fd 1, a pipe): Broken pipe$" \
		"$T/$name.err" || fail "$name: not the first error: $(cat "$T/$name.err")"
	vx_alive "$PID" || fail "target $PID gone after $name"
	grep -q '^TracerPid:[[:space:]]*0$' "/proc/$PID/status" || fail "target traced after $name"
}

closed_pipe zstd
# the store pool has a writer thread when there are two CPUs or more
[ "$(nproc)" -ge 2 ] || log "one CPU: --compress none writes on the caller's thread"
closed_pipe store --compress none
go_and_check
pass
