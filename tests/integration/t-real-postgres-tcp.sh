#!/bin/bash
# PostgreSQL 15 (Debian's) listening on 127.0.0.1 over TCP (and a UNIX
# socket in the temp dir for the checks), initdb'd in the temp dir as the
# postgres user; a psql outside the dumped tree, fed through a FIFO, is in
# the middle of a transaction (BEGIN; INSERT) over TCP when the server's
# tree (the postmaster, its helpers and the session's backend) is dumped
# with --tcp-established and restored.  The same session then commits, a
# new session sees the row.  CRIU cannot dump processes of another uid
# here (RLIMIT_NOFILE without CAP_SYS_RESOURCE).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/real-lib.sh"
require_cr
PGBIN=/usr/lib/postgresql/15/bin
[ -x "$PGBIN/postgres" ] || skip "needs postgresql-15 (contrib/install-deps.sh)"
id postgres >/dev/null 2>&1 || skip "needs the postgres user"
asp() { setpriv --reuid postgres --regid postgres --init-groups "$@"; }
PORT=$(real_port)
chmod 755 "$T"
mkdir "$T/pg" && chown postgres:postgres "$T/pg"
asp "$PGBIN/initdb" -D "$T/pg/data" -A trust -U postgres >"$T/initdb.log" 2>&1 ||
	fail "initdb failed: $(tail -n 3 "$T/initdb.log")"
start_cmd "$T/out" setpriv --reuid postgres --regid postgres --init-groups \
	"$PGBIN/postgres" -D "$T/pg/data" -c listen_addresses=127.0.0.1 -c port="$PORT" \
	-c unix_socket_directories="$T/pg"
vx_wait_line "$T/prog.err" 'ready to accept connections' 60 ||
	fail "postgres did not start: $(tail -n 3 "$T/prog.err")"
mkfifo "$T/cmds" && chown postgres "$T/cmds"
exec 8<>"$T/cmds"	# psql never sees EOF meanwhile
( setpriv --reuid postgres --regid postgres --init-groups psql -h 127.0.0.1 -p "$PORT" \
	-U postgres -X -q -v ON_ERROR_STOP=1 postgres <"$T/cmds" >"$T/psql.out" \
	2>"$T/psql.err" 8>&- & echo $! >"$T/psql.pid" )
vx_track "$(cat "$T/psql.pid")"
printf '%s\n' "CREATE TABLE t(x int);" "BEGIN;" "INSERT INTO t VALUES (42);" \
	"SELECT 'held ' || count(*) FROM t;" >&8
vx_wait_line "$T/psql.out" 'held 1' 60 ||
	fail "psql did not open its transaction: $(tail -n 3 "$T/psql.err")"
sleep 1	# the postmaster's helpers settle
vx_track_tree "$PID"
outside() { asp psql -h "$T/pg" -p "$PORT" -U postgres -X -At -c "SELECT count(*) FROM t" postgres; }
[ "$(outside)" = 0 ] || fail "the uncommitted row is visible outside"
real_fds "$PID"
real_dump "$PID" "$T/img" --tcp-established --keep-net-lock
real_restore "$T/img"
[ "$(outside)" = 0 ] || fail "after restore: the uncommitted row is visible outside"
printf '%s\n' "COMMIT;" "SELECT 'done ' || count(*) FROM t;" >&8
vx_wait_line "$T/psql.out" 'done 1' 60 ||
	fail "the restored session did not commit: $(tail -n 3 "$T/psql.err")"
[ "$(outside)" = 1 ] || fail "the committed row is not seen by a new session"
real_criu "$PID"
real_end
pass "the TCP session held across the restore committed its row"
