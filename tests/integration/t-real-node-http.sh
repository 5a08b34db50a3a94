#!/bin/bash
# node's HTTP server (Debian's nodejs) on ::1 (IPv6) with keep-alive
# connections kept without a timeout, two of them held by a client outside
# the dumped tree; node is dumped with --tcp-established, restored, and
# each connection serves a second request on the same socket.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/real-lib.sh"
require_cr
command -v node >/dev/null || skip "needs nodejs (contrib/install-deps.sh)"
PORT=$(real_port 6)
BODY="hello from node $$"
cat >"$T/srv.js" <<'JS'
const http = require("http");
const [port, body] = process.argv.slice(2);
const srv = http.createServer((req, res) => {
	res.setHeader("Content-Length", Buffer.byteLength(body));
	res.end(body);
});
srv.keepAliveTimeout = 0;	// keep idle connections open
srv.requestTimeout = 0;
srv.listen(Number(port), "::1");
JS
start_cmd "$T/out" node "$T/srv.js" "$PORT" "$BODY"
real_clients http "[::1]:$PORT" /f.txt "$BODY" --conns 2
sleep 0.3
vx_track_tree "$PID"
real_fds "$PID"
real_dump "$PID" "$T/img" --tcp-established --keep-net-lock
real_restore "$T/img"
real_round "after restore"
real_criu "$PID"
[ "$REAL_CRIU_OK" = 1 ] && real_round "after CRIU's restore"
real_end
pass "two keep-alive connections served a second request after restore"
