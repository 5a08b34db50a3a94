#!/bin/bash
# PostgreSQL 15 (Debian's) with listen_addresses='' (a UNIX socket in the
# temp dir only), initdb'd in the temp dir as the postgres user, and a
# psql session fed through a FIFO that is in the middle of a transaction
# (BEGIN; INSERT) when the whole tree (a bash that started both, the
# postmaster with its helper processes, psql) is dumped and restored.
# After restore the same session commits, and a new psql sees the row.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/real-lib.sh"
require_cr
PGBIN=/usr/lib/postgresql/15/bin
[ -x "$PGBIN/postgres" ] || skip "needs postgresql-15 (contrib/install-deps.sh)"
id postgres >/dev/null 2>&1 || skip "needs the postgres user"
asp() { setpriv --reuid postgres --regid postgres --init-groups "$@"; }
chmod 755 "$T"
mkdir "$T/pg" && chown postgres:postgres "$T/pg"
asp "$PGBIN/initdb" -D "$T/pg/data" -A trust -U postgres >"$T/initdb.log" 2>&1 ||
	fail "initdb failed: $(tail -n 3 "$T/initdb.log")"
mkfifo "$T/cmds" && chown postgres "$T/cmds"
exec 8<>"$T/cmds"	# psql never sees EOF meanwhile
cat >"$T/run.sh" <<EOF2
setpriv --reuid postgres --regid postgres --init-groups $PGBIN/postgres -D $T/pg/data \
	-c listen_addresses= -c unix_socket_directories=$T/pg >$T/pg/log 2>&1 &
for i in \$(seq 200); do [ -S $T/pg/.s.PGSQL.5432 ] && break; sleep 0.1; done
setpriv --reuid postgres --regid postgres --init-groups psql -h $T/pg -U postgres -X -q \
	-v ON_ERROR_STOP=1 postgres <$T/cmds >$T/psql.out 2>$T/psql.err
wait
EOF2
( setsid bash "$T/run.sh" </dev/null >"$T/prog.out" 2>"$T/prog.err" 8>&- & echo $! >"$T/prog.pid" )
PID=$(cat "$T/prog.pid")
vx_track "$PID"
OUT=$T/psql.out
printf '%s\n' "CREATE TABLE t(x int);" "BEGIN;" "INSERT INTO t VALUES (42);" \
	"SELECT 'held ' || count(*) FROM t;" >&8
vx_wait_line "$OUT" 'held 1' 60 || fail "psql did not open its transaction: $(cat "$T/psql.err" "$T/pg/log" | tail -n 3)"
sleep 1	# the postmaster's helpers settle
vx_track_tree "$PID"
outside() { asp psql -h "$T/pg" -U postgres -X -At -c "SELECT count(*) FROM t" postgres; }
[ "$(outside)" = 0 ] || fail "the uncommitted row is visible outside"
real_fds "$PID"
real_dump "$PID" "$T/img"
real_restore "$T/img"
[ "$(outside)" = 0 ] || fail "after restore: the uncommitted row is visible outside"
printf '%s\n' "COMMIT;" "SELECT 'done ' || count(*) FROM t;" >&8
vx_wait_line "$OUT" 'done 1' 30 || fail "the restored session did not commit: $(tail -n 3 "$T/psql.err")"
[ "$(outside)" = 1 ] || fail "the committed row is not seen by a new session"
real_criu "$PID"
pass "the session held across the restore committed its row"
