#!/bin/bash
# redis-server (Debian's) on 127.0.0.1 over TCP, with two clients outside
# the dumped tree (tests/integration/real-clients.py: 1000 keys set, each
# connection reads them all back every round).  The server alone is
# dumped with --tcp-established and restored: both clients carry on on
# their sockets of before (same addresses, no reconnect).  After CRIU's
# cycle (when $CRIU is given) they check again; then a --leave-running
# dump: the original keeps answering them, and the image restored in a
# network namespace of its own (and --pidns) answers a new client there.
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
real_dump "$PID" "$T/img" --tcp-established --keep-net-lock
real_restore "$T/img"
real_round "after restore"
real_criu "$PID"
[ "$REAL_CRIU_OK" = 1 ] && real_round "after CRIU's restore"
real_dump "$PID" "$T/img2" --tcp-established --leave-running
log "--leave-running: dump $REAL_DUMP_S s, frozen $REAL_FROZEN_S s"
real_round "after a --leave-running dump, the original"
# The copy, restored beside the running original in a network namespace
# of its own (--netns: only its loopback) and a PID namespace (--pidns:
# the original holds the pids): it answers a new client there
# with the 1000 keys; its copies of the three connections lead nowhere
# (the busy one gets a reset when redis answers what was queued on it).
# No /proc guard for the copy: its namespaces are new by design, and that
# connection is gone.
"$VXRESTORE" --netns --pidns --pidfile "$T/copy.pid" "$T/img2" >"$T/copy.out" 2>"$T/copy.err" &
COPY_RPID=$!
vx_track "$COPY_RPID"
for ((i = 0; i < 400; i++)); do
	[ -s "$T/copy.pid" ] && break
	kill -0 "$COPY_RPID" 2>/dev/null || fail "restore of the copy failed: $(head -n 3 "$T/copy.err")"
	sleep 0.05
done
[ -s "$T/copy.pid" ] || fail "the copy was not restored within 20 s"
COPY=$(cat "$T/copy.pid")
vx_track_tree "$COPY"
[ "$(readlink "/proc/$COPY/ns/net")" != "$(readlink /proc/self/ns/net)" ] ||
	fail "the copy is in the host's network namespace"
nsenter --net="/proc/$COPY/ns/net" /usr/bin/python3 "$VX_ROOT/tests/integration/real-clients.py" \
	"$T/copy-clients.out" redis "127.0.0.1:$PORT" --check-only >"$T/copy-clients.log" 2>&1 ||
	fail "a new client of the copy: $(tail -n 2 "$T/copy-clients.out" "$T/copy-clients.log")"
log "the copy in its own namespace: $(tail -n 1 "$T/copy-clients.out")"
real_round "with the copy running, the original"
kill -9 "$COPY" 2>/dev/null
wait "$COPY_RPID" 2>/dev/null
vx_untrack "$COPY_RPID"
real_end
pass "two clients kept their TCP connections to redis across the restore"
