#!/bin/bash
# redis-server (Debian's) listening on a UNIX socket only (port 0), as the
# child of a python3 client that speaks RESP over that socket: the client
# stores 1000 keys, then holds its connection across the dump and restore
# of the whole tree (client and server) and, on SIGUSR1, reads its 1000
# keys back on the same connection.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/real-lib.sh"
require_cr
command -v redis-server >/dev/null || skip "needs redis-server (contrib/install-deps.sh)"
cat >"$T/client.py" <<'PY'
import os, signal, socket, subprocess, sys, time
out, d = sys.argv[1], sys.argv[2]
sock = os.path.join(d, "redis.sock")
def say(line):
    with open(out, "a") as f:
        f.write(line + "\n")
srv = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", sock, "--save", "",
                        "--appendonly", "no", "--dir", d, "--daemonize", "no"],
                       stdin=subprocess.DEVNULL, stdout=open(os.path.join(d, "redis.log"), "w"),
                       stderr=subprocess.STDOUT)
s = socket.socket(socket.AF_UNIX)
for _ in range(200):
    try:
        s.connect(sock)
        break
    except OSError:
        time.sleep(0.05)
f = s.makefile("rwb")
def cmd(*args):
    f.write(b"*%d\r\n" % len(args))
    for a in args:
        a = a.encode()
        f.write(b"$%d\r\n%s\r\n" % (len(a), a))
    f.flush()
    line = f.readline()
    if line[:1] == b"$":
        n = int(line[1:])
        return None if n < 0 else f.read(n + 2)[:-2].decode()
    return line[1:].strip().decode()
for i in range(1000):
    cmd("SET", "key:%d" % i, "value-%d" % (i * 7))
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
say("ready")
signal.sigwait({signal.SIGUSR1})
bad = [i for i in range(1000) if cmd("GET", "key:%d" % i) != "value-%d" % (i * 7)]
n = cmd("DBSIZE")
srv.terminate()
say("PASS redis dbsize=%s" % n if not bad and n == "1000" else "FAIL redis: %d keys wrong, dbsize %s" % (len(bad), n))
PY
start_cmd "$T/out" python3 "$T/client.py" "$T/out" "$T"
vx_wait_line "$OUT" '^ready$' 60 || fail "redis client did not get ready: $(tail -n 3 "$T/prog.err")"
vx_track_tree "$PID"
real_fds "$PID"
real_dump "$PID" "$T/img"
real_restore "$T/img"
real_criu "$PID"
go_and_check
[ -z "$RPID" ] || wait_restore_exit 0
pass "$(grep ^PASS "$OUT")"
