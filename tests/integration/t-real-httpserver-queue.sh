#!/bin/bash
# A busy single-threaded server with clients waiting in its accept queue:
# Debian's python3 http.server module served by http.server.HTTPServer (one
# connection at a time) on 127.0.0.1.  A keep-alive client holds the
# server in its handler; three more clients connect and send their GET,
# and wait in the listener's accept queue.  The server is dumped with
# --tcp-established and restored (CRIU refuses such a listener: "In-flight
# connection", or drops the waiting clients with --tcp-skip-in-flight);
# then the keep-alive client sends a second request and closes, and the
# server accepts the three waiting clients in order and answers each.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/real-lib.sh"
require_cr
PORT=$(real_port)
mkdir "$T/www"
BODY="hello from a busy http.server $$"
printf '%s' "$BODY" >"$T/www/f.txt"
start_cmd "$T/out" /usr/bin/python3 -c '
import functools, http.server, sys
http.server.SimpleHTTPRequestHandler.protocol_version = "HTTP/1.1"
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[2])
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), h).serve_forever()' "$PORT" "$T/www"

cat >"$T/clients.py" <<'EOF'
import signal, socket, sys, time
out, port, body = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
def say(line):
    with open(out, "a") as f:
        f.write(line + "\n")
def connect():
    for _ in range(200):
        try:
            return socket.create_connection(("127.0.0.1", port))
        except OSError:
            time.sleep(0.05)
    raise SystemExit("cannot connect")
def response(s):
    data = b""
    while b"\r\n\r\n" not in data:
        c = s.recv(65536)
        if not c:
            raise RuntimeError("closed before the headers")
        data += c
    head, rest = data.split(b"\r\n\r\n", 1)
    n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(rest) < n:
        c = s.recv(65536)
        if not c:
            raise RuntimeError("closed in the body")
        rest += c
    return head.split(b"\r\n")[0], rest[:n]
go = []
signal.signal(signal.SIGUSR1, lambda *a: go.append(1))
a = connect()
a.sendall(b"GET /f.txt HTTP/1.1\r\nHost: x\r\n\r\n")
st, got = response(a)
assert got == body, got
waiting = []
for i in range(3):
    s = connect()
    s.sendall(b"GET /f.txt?%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % i)
    waiting.append(s)
say("ready ports %s" % " ".join(str(s.getsockname()[1]) for s in waiting))
while not go:
    signal.pause()
try:
    a.settimeout(60)
    a.sendall(b"GET /f.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    st, got = response(a)
    assert got == body, "keep-alive client: %r" % got
    a.close()
    for i, s in enumerate(waiting):
        s.settimeout(60)
        st, got = response(s)
        assert st.endswith(b"200 OK") and got == body, "waiting client %d: %r %r" % (i, st, got)
    say("PASS the keep-alive client and the three waiting ones were answered")
except Exception as e:
    say("FAIL %r" % e)
EOF
( /usr/bin/python3 "$T/clients.py" "$T/clients.out" "$PORT" "$BODY" </dev/null \
	>"$T/clients.log" 2>&1 & echo $! >"$T/clients.pid" )
CPID=$(cat "$T/clients.pid")
vx_track "$CPID"
vx_wait_line "$T/clients.out" '^ready' 30 || fail "the clients did not get ready: $(tail -n 3 "$T/clients.log")"
for ((i = 0; i < 100; i++)); do
	q=$(ss -Hltn "sport = :$PORT" | awk '{print $2}')
	[ "$q" = 3 ] && break
	sleep 0.05
done
[ "$q" = 3 ] || fail "the listener's accept queue holds '$q' connections, expected 3"
vx_track_tree "$PID"
real_fds "$PID"
real_dump "$PID" "$T/img" --tcp-established --keep-net-lock
n=$("$VXCR" img json "$T/img" | python3 -c '
import json, sys
recs = [r["payload"] for r in json.load(sys.stdin)["records"] if r["type"] == "FILE"]
print(sum(len(p["tcpsk"].get("accept_queue", [])) for p in recs if p.get("kind") == "FILE_TCPSK"))')
[ "$n" = 3 ] || fail "the image holds $n waiting connections, expected 3"
real_restore "$T/img"
[ "$(ss -Hltn "sport = :$PORT" | awk '{print $2}')" = 3 ] ||
	fail "the restored listener's queue does not hold the 3 connections"
# CRIU on the same tree, its clients still waiting (it refuses: the tree
# goes on; a CRIU restore would be of a tree without them)
real_criu "$PID"
kill -USR1 "$CPID"
vx_wait_line "$T/clients.out" '^(PASS|FAIL)' 90 || fail "no result from the clients"
grep -q '^PASS' "$T/clients.out" || fail "clients: $(grep '^FAIL' "$T/clients.out")"
log "$(grep '^PASS' "$T/clients.out")"
real_end
pass "three clients waiting in the accept queue of a busy server were answered after restore"
