#!/bin/bash
# redis-server (Debian's) on 127.0.0.1 over TCP, with two clients outside
# the dumped tree (tests/integration/real-clients.py: 1000 keys set, each
# connection reads them all back every round).  The server alone is
# dumped with --tcp-established and restored: both clients carry on on
# their sockets of before (same addresses, no reconnect).  After CRIU's
# cycle (when $CRIU is given) they check again; then a --leave-running
# dump: the original keeps answering them.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/real-lib.sh"
require_cr
command -v redis-server >/dev/null || skip "needs redis-server (contrib/install-deps.sh)"
PORT=$(real_port)
start_cmd "$T/out" redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no \
	--dir "$T" --daemonize no
real_clients redis "127.0.0.1:$PORT" --conns 2 --busy
sleep 0.3
vx_track_tree "$PID"
real_fds "$PID"
real_dump "$PID" "$T/img" --tcp-established
real_restore "$T/img"
real_round "after restore"
real_criu "$PID"
[ "$REAL_CRIU_OK" = 1 ] && real_round "after CRIU's restore"
real_dump "$PID" "$T/img2" --tcp-established --leave-running
log "--leave-running: dump $REAL_DUMP_S s, frozen $REAL_FROZEN_S s"
real_round "after a --leave-running dump, the original"
real_end
pass "two clients kept their TCP connections to redis across the restore"
