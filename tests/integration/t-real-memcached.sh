#!/bin/bash
# memcached (Debian's) running as nobody on 127.0.0.1 over TCP (UDP off),
# two clients outside the dumped tree (1000 keys, read back on the same
# connections after restore).  CRIU cannot dump a process of another uid
# here (it fails setting RLIMIT_NOFILE without CAP_SYS_RESOURCE).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/real-lib.sh"
require_cr
command -v memcached >/dev/null || skip "needs memcached (contrib/install-deps.sh)"
id nobody >/dev/null 2>&1 || skip "needs the nobody user"
PORT=$(real_port)
start_cmd "$T/out" memcached -u nobody -l 127.0.0.1 -p "$PORT" -U 0 -t 2 -c 64 -m 16
real_clients memcached "127.0.0.1:$PORT" --conns 2 --busy
sleep 0.3
[ "$(awk '/^Uid:/ { print $2 }' "/proc/$PID/status")" = "$(id -u nobody)" ] ||
	fail "memcached does not run as nobody"
vx_track_tree "$PID"
real_fds "$PID"
real_dump "$PID" "$T/img" --tcp-established --keep-net-lock
real_restore "$T/img"
[ "$(awk '/^Uid:/ { print $2 }' "/proc/$PID/status")" = "$(id -u nobody)" ] ||
	fail "restored memcached does not run as nobody"
real_round "after restore"
real_criu "$PID"
[ "$REAL_CRIU_OK" = 1 ] && real_round "after CRIU's restore"
real_end
pass "two clients kept their connections to memcached (as nobody) across the restore"
