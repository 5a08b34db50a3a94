#!/bin/bash
# A python3 interpreter holding a dict of a million entries, blocked in
# sigwait(): after restore it checks len(d) and a checksum of every item.
. "$(dirname "$0")/lib.sh"
require_cr
command -v python3 >/dev/null || skip "python3 not installed"
cat >"$T/dict.py" <<'PY'
import signal, sys
out, N = sys.argv[1], 1000000

def say(line):
    with open(out, "a") as f:
        f.write(line + "\n")

def checksum(items):
    s = 0
    for k, v in items:
        s = (s * 1000003 + k * 7 + int(v)) & 0xffffffffffffffff
    return s

d = {i: str(i) for i in range(N)}
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
say("ready")
signal.sigwait({signal.SIGUSR1})
got, want = checksum(d.items()), checksum((i, str(i)) for i in range(N))
if len(d) == N and got == want:
    say("PASS python len=%d checksum=%016x" % (len(d), got))
    sys.exit(0)
say("FAIL python: len=%d checksum=%016x, expected %016x" % (len(d), got, want))
sys.exit(1)
PY
start_cmd "$T/out" python3 "$T/dict.py" "$T/out"
vx_wait_line "$OUT" '^ready$' 60 || fail "python did not get ready"
dump "$PID" "$T/img"
restore_bg "$T/img"
go_and_check
wait_restore_exit 0
pass "$(grep ^PASS "$OUT")"
