#!/bin/bash
# node (Debian's nodejs) with a setInterval counter and an HTTP server on a
# UNIX socket in the temp dir.  After restore the count carries on and a
# client request over the socket is answered with the current count.
# io_uring: this node (20.20, libuv 1.46) opens no io_uring fd unless
# UV_USE_IO_URING=1 is set (measured: 0 io_uring fds by default, several
# with it; node 20.11.1+ turned libuv's io_uring off by default).  The
# case runs node as users do (the variable unset) and logs the count.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/real-lib.sh"
require_cr
command -v node >/dev/null || skip "needs nodejs (contrib/install-deps.sh)"
cat >"$T/srv.js" <<'JS'
const fs = require("fs"), http = require("http");
const [out, sock] = process.argv.slice(2);
let n = 0;
setInterval(() => { n++; fs.appendFileSync(out, `count ${n}\n`); }, 100);
http.createServer((req, res) => res.end(`n=${n}\n`)).listen(sock, () => {
	fs.readFile(out, () => fs.appendFileSync(out, "ready\n"));
});
JS
ask()	# GET / over the UNIX socket: prints the body
{
	python3 - "$T/http.sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
data = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
print(data.split(b"\r\n\r\n", 1)[1].decode().strip())
PY
}
start_cmd "$T/out" node "$T/srv.js" "$T/out" "$T/http.sock"
vx_wait_line "$OUT" '^ready$' 60 || fail "node did not get ready"
vx_wait_line "$OUT" '^count [1-9]' 20 || fail "node does not count"
a=$(ask) || fail "no HTTP answer before the dump"
log "before the dump: $a"
real_fds "$PID"
log "io_uring fds of node: $(ls -l /proc/"$PID"/fd | grep -c io_uring)"
c0=$(last_count)
real_dump "$PID" "$T/img"
real_restore "$T/img"
expect_counting "after restore"
a=$(ask) || fail "no HTTP answer after the restore"
case $a in n=[0-9]*) [ "${a#n=}" -ge "$c0" ] || fail "answer $a is older than the dump ($c0)" ;;
*) fail "bad answer after restore: $a" ;; esac
real_criu "$PID"
if [ "$REAL_CRIU_OK" = 1 ]; then
	a=$(ask) || fail "no HTTP answer after CRIU's restore"
fi
pass "answered $a after restore"
