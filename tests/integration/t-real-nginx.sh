#!/bin/bash
# nginx (Debian's nginx-light): a master (root) and one worker (www-data)
# serving a file on 127.0.0.1 over TCP, with two keep-alive connections of
# a python client outside the dumped tree.  The nginx tree is dumped with
# --tcp-established and restored: each connection serves a second request
# on the same socket (and a third after CRIU's cycle when $CRIU is given;
# CRIU cannot dump the worker here, of another uid).  No --busy client
# here: the worker's heap grows while it answers pipelined requests
# between the restore and the /proc guard's comparison (redis-tcp and
# memcached have one).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/real-lib.sh"
require_cr
command -v nginx >/dev/null || skip "needs nginx-light (contrib/install-deps.sh)"
command -v curl >/dev/null || skip "needs curl (contrib/install-deps.sh)"
id www-data >/dev/null 2>&1 || skip "needs the www-data user"
. "$(dirname "$0")/real-nginx.sh"
PORT=$(real_port)
real_nginx_conf "127.0.0.1:$PORT"
start_cmd "$T/out" nginx -p "$T/ng" -c "$T/ng/nginx.conf" -e stderr
real_clients http "127.0.0.1:$PORT" /f.txt "$NGINX_BODY" --conns 2
sleep 0.5	# the worker settles in epoll_wait
vx_track_tree "$PID"
real_nginx_check_users "$PID"
real_fds "$PID"
real_dump "$PID" "$T/img" --tcp-established --keep-net-lock
real_restore "$T/img"
real_round "after restore"
got=$(curl -sS --max-time 30 "http://127.0.0.1:$PORT/f.txt") ||
	fail "a new connection (curl) to the restored listener failed"
[ "$got" = "$NGINX_BODY" ] || fail "curl got '$got' from the restored listener"
real_nginx_check_users "$PID"
real_criu "$PID"
[ "$REAL_CRIU_OK" = 1 ] && real_round "after CRIU's restore"
real_end
pass "two keep-alive connections served a second request after restore"
