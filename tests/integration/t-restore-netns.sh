#!/bin/bash
# vxrestore --netns: a copy of a tree that uses loopback TCP (a listener on
# 127.0.0.1 and an established connection between two of its processes)
# restored beside the running original, in a new network namespace with
# only its loopback: same port, same connection, its own.  Without it the
# copy is refused (the port is the original's).
. "$(dirname "$0")/lib.sh"
require_cr
command -v python3 >/dev/null || skip "python3 not installed"
cat >"$T/pair.py" <<'EOF'
import os, signal, socket, sys
out, port = sys.argv[1], int(sys.argv[2])
ls = socket.socket()
ls.bind(("127.0.0.1", port))
ls.listen(4)
if os.fork() == 0:
    c = socket.create_connection(("127.0.0.1", port))
    signal.signal(signal.SIGUSR1, lambda *a: None)
    while True:
        signal.pause()
        c.sendall(b"ping\n")
        if c.recv(100) != b"pong\n":
            os._exit(1)
s, _ = ls.accept()
def say(line):
    with open(out, "a") as f:
        f.write(line + "\n")
say("ready")
go = []
signal.signal(signal.SIGUSR1, lambda *a: go.append(1))
while True:
    while not go:
        signal.pause()
    go.clear()
    kid = [int(p) for p in open("/proc/self/task/%d/children" % os.getpid()).read().split()][0]
    os.kill(kid, signal.SIGUSR1)
    ok = s.recv(100) == b"ping\n"
    s.sendall(b"pong\n")
    say("%s %s" % ("PASS" if ok else "FAIL", os.readlink("/proc/self/ns/net")))
EOF
PORT=$(( 20000 + $$ % 20000 ))
start_cmd "$T/out" python3 "$T/pair.py" "$T/out" "$PORT"
vx_wait_line "$T/out" '^ready$' 20 || fail "the pair did not get ready"
sleep 0.2
vx_track_tree "$PID"
dump "$PID" "$T/img" --leave-running --tcp-established

# beside the original without a namespace of its own: its port is taken
"$VXRESTORE" -d --pidns "$T/img" >"$T/plain.out" 2>"$T/plain.err" && {
	kill -9 "$(cat "$T/plain.out")" 2>/dev/null
	fail "a copy beside the original restored without --netns"
}
grep -qi "in use\|127.0.0.1:$PORT" "$T/plain.err" || fail "no refusal naming the port: $(head -n 2 "$T/plain.err")"
log "without --netns: $(head -n 1 "$T/plain.err")"

"$VXRESTORE" -d --pidns --netns "$T/img" >"$T/copy.out" 2>"$T/copy.err" ||
	fail "vxrestore --netns: $(head -n 3 "$T/copy.err")"
COPY=$(tail -n 1 "$T/copy.out")
vx_track_tree "$COPY"
vx_alive "$COPY" || fail "the copy $COPY is not running"
ours=$(readlink /proc/self/ns/net)
theirs=$(readlink "/proc/$COPY/ns/net")
[ -n "$theirs" ] && [ "$theirs" != "$ours" ] || fail "the copy is in our network namespace ($theirs)"
nsenter -t "$COPY" -n ip -br link | awk '{print $1}' | sort | tr '\n' ' ' >"$T/links"
[ "$(cat "$T/links")" = "lo " ] || fail "the copy's namespace holds links $(cat "$T/links")"
nsenter -t "$COPY" -n ss -Hltn "sport = :$PORT" | grep -q LISTEN || fail "the copy does not listen on its port"
ss -Hltn "sport = :$PORT" | grep -q LISTEN || fail "the original no longer listens"

# both talk over their own connection
kill -USR1 "$PID" "$COPY"
for ((i = 0; i < 100; i++)); do
	[ "$(grep -c '^PASS' "$T/out")" -ge 2 ] && break
	sleep 0.1
done
grep -q '^FAIL' "$T/out" && fail "a pair failed: $(grep '^FAIL' "$T/out")"
grep -qFx "PASS $ours" "$T/out" || fail "the original did not talk: $(cat "$T/out")"
grep -qFx "PASS $theirs" "$T/out" || fail "the copy did not talk in its namespace: $(cat "$T/out")"
NSINIT=$(awk '/^PPid:/ {print $2}' "/proc/$COPY/status")
vx_track "$NSINIT"
for p in $(vx_tree_pids "$COPY") $(vx_tree_pids "$PID"); do
	kill -9 "$p" 2>/dev/null
done
vx_wait_gone "$NSINIT" 10 || fail "the copy's PID namespace init $NSINIT did not exit"
pass "a copy with its own loopback beside the original, both talking"
