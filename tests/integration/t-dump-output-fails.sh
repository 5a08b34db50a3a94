#!/bin/bash
# The image cannot be written: a reader that closes the pipe early, and a
# file system that fills up (a 1 MiB tmpfs in a private mount namespace).
# vxdump exits 1 with one line naming the cause, leaves no partial image,
# and the target (tests/progs/memory, a 128 MiB sparse area and every
# mapping kind) runs on untraced with its memory intact.
. "$(dirname "$0")/lib.sh"
require_cr
start_prog memory

# untraced_running: the target runs on, not traced and not stopped.
untraced_running()
{
	vx_alive "$PID" || fail "target $PID gone after $1"
	grep -q '^TracerPid:[[:space:]]*0$' "/proc/$PID/status" || fail "target still traced after $1"
	grep -q '^State:[[:space:]]*[RS]' "/proc/$PID/status" || fail "target not running after $1"
}

"$VXDUMP" "$PID" 2>"$T/pipe.err" | head -c 100000 >/dev/null
st=${PIPESTATUS[0]}
[ "$st" = 1 ] || fail "vxdump into a closed pipe exited $st, expected 1"
[ "$(wc -l <"$T/pipe.err")" = 1 ] || fail "expected one line, got: $(cat "$T/pipe.err")"
grep -q "Broken pipe" "$T/pipe.err" || fail "message does not say why: $(cat "$T/pipe.err")"
log "closed pipe: $(cat "$T/pipe.err")"
untraced_running "the closed pipe"

command -v unshare >/dev/null || skip "unshare not installed"
mkdir "$T/small"
unshare -m sh -c "mount -t tmpfs -o size=1m none '$T/small' &&
	'$VXDUMP' -o '$T/small/img' $PID 2>'$T/full.err'; echo \$? >'$T/full.st';
	ls -A '$T/small' >'$T/full.ls'"
[ "$(cat "$T/full.st")" = 1 ] || fail "vxdump onto a full file system exited $(cat "$T/full.st")"
[ "$(wc -l <"$T/full.err")" = 1 ] || fail "expected one line, got: $(cat "$T/full.err")"
grep -q "No space left" "$T/full.err" || fail "message does not say why: $(cat "$T/full.err")"
[ ! -s "$T/full.ls" ] || fail "partial image left behind: $(cat "$T/full.ls")"
log "full file system: $(cat "$T/full.err")"
untraced_running "the full file system"

go_and_check
pass
