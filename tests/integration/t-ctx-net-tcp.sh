#!/bin/bash
# A whole context with its own network namespace (ctx create --net veth),
# a TCP server inside and a client on the host connected to it through
# the veth: the context is checkpointed (an own namespace implies
# --tcp-established; the lock is the whole namespace's) and restarted, the
# host end made again, and the client's connection carries on: same
# socket (no reconnect: the client fails on any error), every request
# answered once and in order by the same server process with its running
# total, across the checkpoint.  A second client waits in the server's
# accept queue through the checkpoint, its line sent: once restored, the
# server (told by a file) accepts it and answers it.
. "$(dirname "$0")/ctx-lib.sh"
command -v python3 >/dev/null || skip "python3 not installed"
H=vxt$$
N=$(( $$ % 250 + 1 ))
A=10.202.$N.2 B=10.202.$N.1 PORT=7070
vx_case_cleanup() { ip link del "$H" 2>/dev/null; true; }

cat >"$T/queued.py" <<'PY'
import socket, sys
addr, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection((addr, port), 5)
s.sendall(b"hello\n")
s.settimeout(90)
try:
    got = s.recv(100)
except OSError as e:
    got = repr(e).encode()
with open(out, "a") as o:
    o.write("got %s\n" % got.decode().strip())
PY
TCPT=$VX_ROOT/tests/integration/tcp-total.py

"$VXCR" ctx create "$XID" --flags PERSISTENT --net "veth:$H,addr=$A/24,host-addr=$B/24" -- \
	python3 -S "$TCPT" server "$A" "$PORT" "$T/trigger" >"$T/create.out" 2>"$T/create.err" ||
	fail "ctx create: $(cat "$T/create.err")"
for ((i = 0; i < 100; i++)); do
	/usr/bin/python3 -S "$TCPT" client "$A" "$PORT" "$T/client.out" 2>"$T/client.err" &
	CPID=$!
	sleep 0.2
	kill -0 "$CPID" 2>/dev/null && break
	rm -f "$T/client.out"
done
vx_track "$CPID"
vx_wait_line "$T/client.out" '^20 ' 20 || fail "the client gets no answers: $(tail -n 2 "$T/client.out")"
SRV=$(awk 'NR == 2 {print $4}' "$T/client.out")
/usr/bin/python3 -S "$T/queued.py" "$A" "$PORT" "$T/queued.out" 2>"$T/queued.err" &
QPID=$!
vx_track "$QPID"
sleep 0.3

t0=$(date +%s%N)
"$VXDUMP" --ctx "$XID" -o "$T/img" 2>"$T/dump.err" || fail "vxdump --ctx: $(cat "$T/dump.err")"
t1=$(date +%s%N)
"$VXCR" img show "$T/img" | grep -q "FILE_TCPSK" || fail "no TCP socket in the image"
nq=$("$VXCR" img json "$T/img" | python3 -c '
import json, sys
recs = [r["payload"] for r in json.load(sys.stdin)["records"] if r["type"] == "FILE"]
print(sum(len(p["tcpsk"].get("accept_queue", [])) for p in recs if p.get("kind") == "FILE_TCPSK"))')
[ "$nq" = 1 ] || fail "the image holds $nq connections waiting in the accept queue, expected 1"
N_DUMP=$(tail -n 1 "$T/client.out" | awk '{print $1}')
sleep 0.5
kill -0 "$CPID" 2>/dev/null || fail "the client died while the context was away: $(tail -n 2 "$T/client.out")"

t2=$(date +%s%N)
"$VXRESTORE" "$T/img" 2>"$T/restore.err" || fail "vxrestore: $(cat "$T/restore.err")"
t3=$(date +%s%N)
vx_wait_line "$T/client.out" "^$((N_DUMP + 20)) " 30 ||
	fail "the connection does not carry on after restore: $(tail -n 2 "$T/client.out")"
kill -0 "$CPID" 2>/dev/null || fail "the client died: $(tail -n 2 "$T/client.out")"
grep -q EOF "$T/client.out" && fail "the client's connection was closed"
[ "$(grep -c '^port ' "$T/client.out")" = 1 ] || fail "the client connected more than once"
# every request answered once, in order, with the running total, by one server
awk -v srv="$SRV" 'NR > 1 {
	if ($1 != NR - 1 || $2 != NR - 1 || $3 != $1 * ($1 + 1) / 2 || $4 != srv) { print; exit 1 } }' \
	"$T/client.out" >"$T/bad" || fail "answers out of order or from another server: $(cat "$T/bad")"
ip -br addr show "$H" | grep -q "$B/24" || fail "host end $H lacks $B after restore"
touch "$T/trigger"
vx_wait_line "$T/queued.out" '^got ' 30 || fail "the waiting client got no answer"
grep -q '^got queued hello$' "$T/queued.out" || fail "the waiting client got: $(cat "$T/queued.out")"
vx_wait_gone "$QPID" 10 || fail "the waiting client did not exit"
kill -9 "$CPID"
"$VXCR" ctx kill "$XID"
"$VXCR" ctx wait "$XID" >/dev/null
pass "connection carried on: request $N_DUMP at the dump, $(tail -n 1 "$T/client.out" | awk '{print $1}') answered; dump $(( (t1 - t0) / 1000000 )) ms, restore $(( (t3 - t2) / 1000000 )) ms, image $(stat -c %s "$T/img") bytes"
