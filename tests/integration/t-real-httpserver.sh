#!/bin/bash
# python3 -m http.server (Debian's python3, HTTP/1.1 so connections are
# kept alive) on 127.0.0.1, two keep-alive connections of a client outside
# the dumped tree (each held by one of the server's handler threads); the
# server is dumped with --tcp-established, restored, and each connection
# serves a second request on the same socket.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/real-lib.sh"
require_cr
command -v curl >/dev/null || skip "needs curl (contrib/install-deps.sh)"
PORT=$(real_port)
mkdir "$T/www"
BODY="hello from http.server $$"
printf '%s' "$BODY" >"$T/www/f.txt"
start_cmd "$T/out" /usr/bin/python3 -m http.server "$PORT" --bind 127.0.0.1 \
	--directory "$T/www" --protocol HTTP/1.1
real_clients http "127.0.0.1:$PORT" /f.txt "$BODY" --conns 2
sleep 0.3
vx_track_tree "$PID"
real_fds "$PID"
real_dump "$PID" "$T/img" --tcp-established --keep-net-lock
real_restore "$T/img"
real_round "after restore"
got=$(curl -sS --max-time 30 "http://127.0.0.1:$PORT/f.txt") ||
	fail "a new connection (curl) to the restored listener failed"
[ "$got" = "$BODY" ] || fail "curl got '$got' from the restored listener"
real_criu "$PID"
[ "$REAL_CRIU_OK" = 1 ] && real_round "after CRIU's restore"
real_end
pass "two keep-alive connections served a second request after restore"
