#!/bin/bash
# vxcr snap serve: clients (the C API, tests/progs/snap-client) get fresh
# copies forked from one template: several clients at once, each copy
# with its arguments, stdio, the image's pid in its own namespace and its
# own writes; exit statuses reach the client; Pss per copy well below the
# 1 MiB of warm state; a client that disconnects has its copies killed;
# the server killed (SIGKILL) takes its copies along, SIGTERM ends it
# cleanly; a snapshot whose program speaks the channel itself (python,
# no libvxcr) is run by snap run and refused by snap serve, and so are
# snapshots with threads or child processes (snap run restores them).
# vx-timeout: 240
. "$(dirname "$0")/lib.sh"
require_cr
S=$T/store
SOCK=$T/sock
CLIENT=$PROGS/snap-client

timeout 60 "$VXCR" snap take m --store "$S" -- "$PROGS/snap-mem" >"$T/take.out" 2>"$T/take.err" ||
	fail "snap take exited $?: $(head -n 3 "$T/take.err")"
pid=$(sed -n 's/^warm pid \([0-9]*\)$/\1/p' "$T/take.out")
grep -qx "serve 1" "$S/m/snap" || fail "a vxcr_snap_ready() snapshot not marked for serve"

start_server()
{
	"$VXCR" snap serve m --store "$S" --socket "$SOCK" >"$T/serve.out" 2>"$T/serve.err" &
	SRV=$!
	vx_track "$SRV"
	local i
	for ((i = 0; i < 200; i++)); do
		[ -S "$SOCK" ] && return 0
		sleep 0.05
	done
	fail "no socket from snap serve: $(cat "$T/serve.err")"
}
start_server

# two clients at once, three copies each
for c in a b; do
	timeout 60 "$CLIENT" "$SOCK" spawn 3 set "{}$c" sleep 300 show exit '{}' >"$T/out-$c" 2>"$T/client-$c.err" &
	eval "cl_$c=$!"
done
wait "$cl_a" || fail "client a exited $?: $(cat "$T/client-a.err")"
wait "$cl_b" || fail "client b exited $?: $(cat "$T/client-b.err")"
for c in a b; do
	for i in 0 1 2; do
		grep -qx "copy pid $pid value $i pattern ok args 7" "$T/out-$c" ||
			fail "client $c copy $i: $(cat "$T/out-$c")"
		grep -q "^exited $i pid [0-9]* status $i$" "$T/out-$c" ||
			fail "client $c: status of copy $i: $(cat "$T/out-$c")"
	done
done
# set 0a parses as 0: the value lines above are the copies' own writes
[ "$(grep -c "^copy pid $pid " "$T/out-a" "$T/out-b" | awk -F: '{s+=$2} END {print s}')" = 6 ] ||
	fail "not 6 copies in all"
kill -0 "$SRV" || fail "server gone after two clients"

# hostile clients: garbage, a request without fds, a length past the
# packet: each gets an error or is dropped, the server serves on
cat >"$T/bad.py" <<'PY'
import os, socket, struct, sys
sys.path.insert(0, sys.argv[2])
import vxsnap
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1])
    return s
s = conn()
s.send(b"garbage")
kind, rid, val, pid, _, _ = vxsnap.MSG.unpack(s.recv(64)[:24])
assert kind == vxsnap.SPAWNED and val < 0, (kind, val)
s.send(vxsnap.MSG.pack(vxsnap.SPAWN, 9, 0, 0, 0, 0))          # no fds
kind, rid, val, pid, _, _ = vxsnap.MSG.unpack(s.recv(64)[:24])
assert kind == vxsnap.SPAWNED and rid == 9 and val < 0, (kind, rid, val)
s.send(vxsnap.MSG.pack(vxsnap.SPAWN, 10, 0, 0, 1000, 0) + b"x")  # length lies
kind, rid, val, pid, _, _ = vxsnap.MSG.unpack(s.recv(64)[:24])
assert kind == vxsnap.SPAWNED and val < 0, (kind, val)
s.close()
c = vxsnap.Client(sys.argv[1])                                  # still serving
pid, pidfd = c.spawn(["show"])
os.close(pidfd)
assert c.wait(pid) == 0
print("hostile ok")
PY
timeout 60 python3 "$T/bad.py" "$SOCK" "$VX_ROOT/contrib/snap" >"$T/bad.out" 2>&1 ||
	fail "hostile clients: $(tail -n 3 "$T/bad.out")"
grep -q "^copy pid $pid value 4242 pattern ok args 1$" "$T/bad.out" ||
	fail "no copy after hostile clients: $(cat "$T/bad.out")"

# memory: Pss of each of 4 running copies well below the 1 MiB warm state
timeout 60 "$CLIENT" "$SOCK" pss 4 show sleep 60000 >"$T/pss.out" 2>"$T/pss.err" ||
	fail "pss client exited $?: $(cat "$T/pss.err")"
for i in 0 1 2 3; do
	kb=$(sed -n "s/^pss $i pid [0-9]* \([0-9-]*\)$/\1/p" "$T/pss.out")
	[ -n "$kb" ] && [ "$kb" -gt 0 ] && [ "$kb" -lt 512 ] ||
		fail "copy $i Pss '$kb' kB, expected under 512 (1 MiB shared): $(cat "$T/pss.out")"
done
log "Pss per copy: $(sed -n 's/^pss [0-9] pid [0-9]* //p' "$T/pss.out" | tr '\n' ' ')kB"

# a client that disconnects: its copy is killed
timeout 60 "$CLIENT" "$SOCK" leave sleep 60000 >"$T/leave.out" 2>"$T/leave.err" ||
	fail "leave client exited $?: $(cat "$T/leave.err")"
lp=$(sed -n 's/^spawned 0 pid \([0-9]*\)$/\1/p' "$T/leave.out")
[ -n "$lp" ] || fail "leave client: $(cat "$T/leave.out")"
vx_wait_gone "$lp" 10 || fail "copy $lp of a disconnected client still runs"

# SIGTERM: the server ends, its socket and copies with it
timeout 60 "$CLIENT" "$SOCK" spawn 1 sleep 60000 >"$T/term.out" 2>"$T/term.err" &
cl=$!
vx_wait_line "$T/term.out" '^spawned 0 pid' 10 || fail "no copy before SIGTERM: $(cat "$T/term.err")"
tp=$(sed -n 's/^spawned 0 pid \([0-9]*\)$/\1/p' "$T/term.out")
kill -TERM "$SRV"
wait "$SRV"
st=$?
[ "$st" = 0 ] || fail "snap serve exited $st on SIGTERM: $(cat "$T/serve.err")"
[ ! -e "$SOCK" ] || fail "socket left after SIGTERM"
vx_wait_gone "$tp" 10 || fail "copy $tp still runs after the server ended"
wait "$cl"
[ $? != 0 ] || fail "client of an ended server exited 0"

# SIGKILL: the template sees its socket close and kills its copies
start_server
timeout 60 "$CLIENT" "$SOCK" spawn 2 sleep 60000 >"$T/kill.out" 2>"$T/kill.err" &
cl=$!
vx_wait_line "$T/kill.out" '^spawned 1 pid' 10 || fail "no copies before SIGKILL: $(cat "$T/kill.err")"
kill -KILL "$SRV"
wait "$SRV" 2>/dev/null
for p in $(sed -n 's/^spawned [0-9] pid \([0-9]*\)$/\1/p' "$T/kill.out"); do
	vx_wait_gone "$p" 10 || fail "copy $p still runs after the server was killed"
done
wait "$cl"
rm -f "$SOCK"

# a program speaking the channel itself (python3, no libvxcr): snap run
# gives it its arguments, snap serve refuses it
cat >"$T/raw.py" <<'PY'
import os, sys
r, w = (int(x) for x in os.environ["VXCR_SNAP_FD"].split(","))
warm = [i * i for i in range(100000)]
print("raw warm pid", os.getpid(), flush=True)
os.write(w, b"R")
def read_full(n):
    b = b""
    while len(b) < n:
        c = os.read(r, n - len(b))
        if not c:
            sys.exit(3)
        b += c
    return b
n = int.from_bytes(read_full(4), "little")
args = read_full(n).split(b"\0")[:-1]
print("raw pid", os.getpid(), "args", b" ".join(args).decode(), "sum", sum(warm), flush=True)
PY
timeout 60 "$VXCR" snap take raw --store "$S" -- python3 "$T/raw.py" >"$T/raw-take.out" 2>"$T/raw-take.err" ||
	fail "snap take of python exited $?: $(cat "$T/raw-take.err")"
rpid=$(sed -n 's/^raw warm pid \([0-9]*\)$/\1/p' "$T/raw-take.out")
grep -qx "serve 0" "$S/raw/snap" || fail "a raw-protocol snapshot marked for serve"
timeout 60 "$VXCR" snap run raw --store "$S" -- one two >"$T/raw.out" 2>"$T/raw.err" ||
	fail "snap run of python exited $?: $(cat "$T/raw.err")"
grep -qx "raw pid $rpid args one two sum 333328333350000" "$T/raw.out" ||
	fail "python copy: $(cat "$T/raw.out")"
timeout 30 "$VXCR" snap serve raw --store "$S" --socket "$SOCK" >/dev/null 2>"$T/raw-serve.err"
st=$?
[ "$st" = 1 ] || fail "snap serve of a raw-protocol snapshot exited $st"
grep -q "snap serve cannot fork it" "$T/raw-serve.err" || fail "raw serve: $(cat "$T/raw-serve.err")"
[ ! -e "$SOCK" ] || fail "a refused serve left its socket"
# a template with threads or children cannot be forked whole: refused at
# start (snap run restores them)
for kind in thread child; do
	timeout 60 "$VXCR" snap take "$kind" --store "$S" -- "$PROGS/snap-mem" "$kind" \
		>/dev/null 2>"$T/take-$kind.err" || fail "snap take of a $kind exited $?: $(cat "$T/take-$kind.err")"
	timeout 30 "$VXCR" snap serve "$kind" --store "$S" --socket "$SOCK" >/dev/null 2>"$T/serve-$kind.err"
	st=$?
	[ "$st" = 1 ] || fail "snap serve of a snapshot with a $kind exited $st"
	grep -q "cannot be served: it has \(2 threads\|child processes\)" "$T/serve-$kind.err" ||
		fail "serve of a $kind: $(cat "$T/serve-$kind.err")"
	[ "$(wc -l <"$T/serve-$kind.err")" = 1 ] || fail "serve of a $kind: not one line"
	[ ! -e "$SOCK" ] || fail "a refused serve left its socket"
	# (a copy with a child lasts until its namespace is empty: not waited for)
	[ "$kind" = thread ] || continue
	timeout 60 "$VXCR" snap run "$kind" --store "$S" -- show >"$T/run-$kind.out" 2>&1 ||
		fail "snap run of a snapshot with a $kind exited $?: $(cat "$T/run-$kind.out")"
	grep -q "value 4242 pattern ok" "$T/run-$kind.out" || fail "run of a $kind: $(cat "$T/run-$kind.out")"
done
pass "serve: 2 clients x 3 copies, Pss < 512 kB, disconnect, SIGTERM, SIGKILL, raw refused"
