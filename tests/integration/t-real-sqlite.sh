#!/bin/bash
# The real sqlite3, driven through a FIFO, holds a write transaction
# (BEGIN EXCLUSIVE + INSERT: POSIX locks on the database file) when it is
# dumped and restored.  After restore a second sqlite3 writer must still
# get "database is locked" (before locks were dumped it got in), then the
# first one commits and its row is there, with the database intact.
. "$(dirname "$0")/lib.sh"
require_cr
command -v sqlite3 >/dev/null || skip "needs sqlite3 (contrib/install-deps.sh)"

db=$T/test.db
sqlite3 "$db" "CREATE TABLE t(x); INSERT INTO t VALUES (1);" || fail "cannot create the database"
mkfifo "$T/cmds"
exec 8<>"$T/cmds"	# keeps the FIFO open: sqlite3 never sees EOF meanwhile
# (setsid: own session and group, so it does not share ours)
( setsid sqlite3 "$db" <"$T/cmds" >"$T/sql.out" 2>"$T/sql.err" & echo $! >"$T/prog.pid" )
PID=$(cat "$T/prog.pid")
vx_track "$PID"
echo "BEGIN EXCLUSIVE; INSERT INTO t VALUES (2); SELECT 'held';" >&8
vx_wait_line "$T/sql.out" '^held$' 20 || fail "sqlite3 did not take the transaction"

# second writer: must be refused now, and again after the restore
second()
{
	sqlite3 "$db" "INSERT INTO t VALUES (99);" >"$T/second.out" 2>&1
}
second && fail "second writer got in before the dump"
grep -q "database is locked" "$T/second.out" || fail "second writer: $(cat "$T/second.out")"
log "locks of sqlite3: $(awk -v p="$PID" '$5 == p' /proc/locks | wc -l) in /proc/locks"

dump "$PID" "$T/img"
# sqlite3 also holds our fd 8 on the FIFO, so its fd 0 is reopened by
# path; were it external, vxrestore would hand over its own fd 0: the FIFO
"$VXRESTORE" "$T/img" <"$T/cmds" >"$T/restore.out" 2>"$T/restore.err" &
RPID=$!
vx_track "$RPID"
wait_restored
second && fail "second writer got in after the restore (locks lost)"
grep -q "database is locked" "$T/second.out" ||
	fail "second writer after restore: $(cat "$T/second.out")"

printf '%s\n' "COMMIT; SELECT 'n=' || count(*) FROM t;" .quit >&8
vx_wait_line "$T/sql.out" "^n=" 20 || fail "restored sqlite3 did not commit: $(cat "$T/sql.err")"
exec 8>&-
grep -q '^n=2$' "$T/sql.out" || fail "restored sqlite3 counted $(grep '^n=' "$T/sql.out")"
wait_restore_exit 0
rows=$(sqlite3 "$db" "SELECT group_concat(x) FROM t;")
[ "$rows" = "1,2" ] || fail "rows after commit: $rows"
[ "$(sqlite3 "$db" "PRAGMA integrity_check;")" = ok ] || fail "integrity_check failed"
pass "second writer locked out after restore; rows $rows"
