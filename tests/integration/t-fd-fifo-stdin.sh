#!/bin/bash
# A FIFO (a named pipe whose writer is outside the tree) on fd 0, as psql
# reads its commands in t-real-postgres: restore reopens it by its path,
# not vxrestore's own stdin in its place (an external *pipe* on 0-2 is
# handed over from vxrestore; a FIFO has a name to reopen).  The restored
# process reads a line written to the FIFO after restore.
. "$(dirname "$0")/lib.sh"
require_cr
command -v python3 >/dev/null || skip "python3 not installed"
cat >"$T/reader.py" <<'PY'
import os, sys
out = sys.argv[1]
def say(line):
    with open(out, "a") as f:
        f.write(line + "\n")
assert sys.stdin.readline() == "first\n"
say("ready")
line = sys.stdin.readline()
say("PASS fifo read %r" % line if line == "second\n" else "FAIL fifo read %r" % line)
PY
mkfifo "$T/fifo"
exec 8<>"$T/fifo"	# the writer, outside the tree; never EOF meanwhile
( python3 "$T/reader.py" "$T/out" <"$T/fifo" >"$T/prog.out" 2>"$T/prog.err" 8>&- &
  echo $! >"$T/prog.pid" )
PID=$(cat "$T/prog.pid")
OUT=$T/out
vx_track "$PID"
echo first >&8
vx_wait_line "$OUT" '^ready$' 30 || fail "reader did not get ready: $(tail -n 3 "$T/prog.err")"
sleep 0.2
dump "$PID" "$T/img"
restore_bg "$T/img" </dev/null
got=$(readlink "/proc/$PID/fd/0")
[ "$got" = "$T/fifo" ] || fail "restored fd 0 is $got, not the FIFO $T/fifo"
echo second >&8
vx_wait_line "$OUT" '^(PASS|FAIL)' 30 || fail "no result from the restored reader"
grep -q '^PASS' "$OUT" || fail "$(grep '^FAIL' "$OUT")"
wait_restore_exit 0
pass "$(grep ^PASS "$OUT")"
