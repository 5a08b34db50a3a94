#!/bin/bash
# A refused unix socket does not make its peer "outside the tree": two
# connections inside one process (a socketpair, and a connection accepted
# from a listener) each have one end refused (SO_PRIORITY set, which
# restore does not set); vxdump must print exactly those two refusals and
# its summary, not a false "its peer ... is outside the tree" for the
# other ends, and leave the target running.  Then, with the option put
# back (SIGUSR1), the same tree is dumped and restored and both pairs
# still carry data.
. "$(dirname "$0")/lib.sh"
require_cr
command -v python3 >/dev/null || skip "python3 not installed"
cat >"$T/pairs.py" <<'PY'
import os, signal, socket, sys
out, d = sys.argv[1], sys.argv[2]
def say(line):
    with open(out, "a") as f:
        f.write(line + "\n")
a, b = socket.socketpair()
lst = socket.socket(socket.AF_UNIX)
lst.bind(os.path.join(d, "l.sock"))
lst.listen(4)
c = socket.socket(socket.AF_UNIX)
c.connect(os.path.join(d, "l.sock"))
s, _ = lst.accept()
for x in (a, s):
    x.setsockopt(socket.SOL_SOCKET, socket.SO_PRIORITY, 3)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
say("ready")
signal.sigwait({signal.SIGUSR1})
for x in (a, s):
    x.setsockopt(socket.SOL_SOCKET, socket.SO_PRIORITY, 0)
say("reset")
signal.sigwait({signal.SIGUSR1})
a.sendall(b"ab"); c.sendall(b"cs")
ok = b.recv(2) == b"ab" and s.recv(2) == b"cs"
say("PASS both pairs carry data" if ok else "FAIL pairs broken")
PY
start_cmd "$T/out" python3 "$T/pairs.py" "$T/out" "$T"
vx_wait_line "$OUT" '^ready$' 30 || fail "program did not get ready: $(tail -n 3 "$T/prog.err")"
vx_remember
"$VXDUMP" -o "$T/refused.img" "$PID" >"$T/refused.out" 2>"$T/refused.err" &&
	fail "vxdump accepted sockets with SO_PRIORITY set"
while read -r l; do log "vxdump: $l"; done <"$T/refused.err"
grep -q "outside the tree" "$T/refused.err" &&
	fail "a peer inside the tree called outside: $(grep 'outside the tree' "$T/refused.err")"
[ "$(grep -c "SO_PRIORITY is 3" "$T/refused.err")" = 2 ] || fail "expected two SO_PRIORITY refusals"
[ "$(wc -l <"$T/refused.err")" = 3 ] || fail "expected 2 refusals and the summary"
grep -q "2 objects cannot be checkpointed" "$T/refused.err" || fail "no summary of 2 objects"
[ ! -e "$T/refused.img" ] || fail "vxdump left an image"
vx_alive "$PID" && [ "$(vx_starttime "$PID")" = "$ORIG_START" ] || fail "target gone after the refusal"
kill -USR1 "$PID"
vx_wait_line "$OUT" '^reset$' 30 || fail "program did not reset its options"
sleep 0.2
dump "$PID" "$T/img"
restore_bg "$T/img"
go_and_check
wait_restore_exit 0
pass "$(grep ^PASS "$OUT")"
