#!/bin/bash
# nginx (Debian's nginx-light): a master (root) and one worker (www-data)
# serving a file on a UNIX socket in the temp dir, started by a python3
# client that holds a keep-alive connection to it (the client is the
# tree's root: a peer outside the tree is refused for UNIX sockets).
# After restore the same connection serves a second request (and a third
# after CRIU's cycle when $CRIU is given).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/real-lib.sh"
require_cr
command -v nginx >/dev/null || skip "needs nginx-light (contrib/install-deps.sh)"
id www-data >/dev/null 2>&1 || skip "needs the www-data user"
. "$(dirname "$0")/real-nginx.sh"
real_nginx_conf "unix:$T/nginx.sock"
start_cmd "$T/clients.out" /usr/bin/python3 "$VX_ROOT/tests/integration/real-clients.py" \
	"$T/clients.out" http "$T/nginx.sock" /f.txt "$NGINX_BODY" \
	--spawn nginx -p "$T/ng" -c "$T/ng/nginx.conf" -e stderr
CPID=$PID COUT=$T/clients.out
vx_wait_line "$COUT" '^(ready|FAIL)' 60 || fail "no ready: $(cat "$T/server.out" | tail -n 3)"
grep -q '^FAIL' "$COUT" && fail "clients: $(grep '^FAIL' "$COUT"): $(tail -n 3 "$T/server.out")"
sleep 0.5	# the worker settles in epoll_wait
vx_track_tree "$PID"
real_nginx_check_users "$PID"
real_fds "$PID"
real_dump "$PID" "$T/img"
real_restore "$T/img"
real_round "after restore"
real_nginx_check_users "$PID"
real_criu "$PID"
[ "$REAL_CRIU_OK" = 1 ] && real_round "after CRIU's restore"
real_end
pass "the keep-alive connection served a request after restore"
