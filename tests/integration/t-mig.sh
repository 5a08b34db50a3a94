#!/bin/bash
# Live migration between two "hosts" (this network namespace and one the
# test makes, joined by a veth pair): a process that rewrites its memory
# all along moves with pre-copy (rounds while it runs, frozen only for
# the last dirty set) and checks every page afterwards; a tree of two
# without pre-copy; a destination whose key is not trusted is refused
# before any page moves and the source runs on untouched.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mig-lib.sh"
require_cr
mig_setup

# 1. pre-copy of 64 MiB rewritten at 16 MiB/s
start_prog mig-dirty 64 16
serve_start
migrate --stats "$PID"
[ "$MIG_RC" = 0 ] || fail "vxcr migrate exited $MIG_RC: $(tail -n 3 "$T/mig.err")"
DPID=$(cat "$T/mig.out")
[ -n "$DPID" ] && [ "$DPID" != "$PID" ] || fail "no pid from vxcr migrate: '$DPID'"
vx_track "$DPID"
serve_wait
[ "$SERVE_RC" = 1 ] || fail "vxcr serve did not report the migration: $(cat "$T/serve.err")"
vx_wait_gone "$PID" 10 || fail "the source $PID still runs after the migration"
vx_alive "$DPID" || fail "the migrated process $DPID does not run"
[ "$(readlink "/proc/$DPID/ns/net")" = "$(ip netns exec "$NSB" readlink /proc/self/ns/net)" ] ||
	fail "the migrated process is not in the destination's network namespace"
rounds=$(json_field "$T/mig.err" rounds)
held=$(json_field "$T/mig.err" held_pages)
frozen=$(json_field "$T/mig.err" frozen_ms)
[ "$rounds" -ge 2 ] || fail "only $rounds pre-copy rounds"
[ "$held" -gt 8192 ] || fail "the image took only $held pages from the pre-copy"
log "pre-copy: $rounds rounds, $held pages held, frozen $frozen ms"
# the held pages stayed in the destination's store through the restore and
# went in from it after the commit
filled=$(sed -n 's/.* \([0-9][0-9]*\) pages filled from the store after the commit.*/\1/p' "$T/serve.err")
[ -n "$filled" ] && [ "$filled" -gt 8192 ] ||
	fail "the held pages were not filled from the store after the commit: '$filled': $(cat "$T/serve.err")"
log "pre-copy: $filled pages filled from the store after the commit"
kill -USR1 "$DPID"
vx_wait_line "$OUT" '^(PASS|FAIL) ' 20 || fail "the migrated process did not check itself"
grep -q '^PASS mig-dirty' "$OUT" || fail "$(grep FAIL "$OUT")"
vx_wait_gone "$DPID" 10 || fail "the migrated process did not exit"

# 2. a tree of two, no pre-copy (everything while frozen)
rm -f "$OUT"
start_prog mig-dirty 16 4 fork
serve_start
migrate --no-precopy --stats "$PID"
[ "$MIG_RC" = 0 ] || fail "vxcr migrate --no-precopy exited $MIG_RC: $(tail -n 3 "$T/mig.err")"
DPID=$(cat "$T/mig.out")
vx_track "$DPID"
serve_wait
vx_wait_gone "$PID" 10 || fail "the source $PID still runs after the migration"
[ "$(json_field "$T/mig.err" held_pages)" = 0 ] || fail "held pages without pre-copy"
kill -USR1 "$DPID"
vx_wait_line "$OUT" '^(PASS|FAIL) ' 20 || fail "the migrated tree did not check itself"
grep -q '^child PASS' "$OUT" || fail "child: $(grep child "$OUT")"
grep -q '^PASS mig-dirty' "$OUT" || fail "$(grep FAIL "$OUT")"

# 3. a destination we do not trust: refused before any page moves
rm -f "$OUT"
start_prog mig-dirty 16 4
mv "$T/a/trusted/b.pub" "$T/b.pub.away"
mkdir -m 700 "$T/other"
"$VXCR" key new "$T/other/host" >/dev/null || fail "vxcr key new"
cp "$T/other/host.pub" "$T/a/trusted/other.pub" # trusted: another host, not b
serve_start
migrate "$PID"
[ "$MIG_RC" = 1 ] || fail "migrating to an untrusted host exited $MIG_RC"
grep -q "not trusted\|untrusted" "$T/mig.err" || fail "the refusal does not say the key is not trusted: $(cat "$T/mig.err")"
serve_wait
vx_alive "$PID" || fail "the source died after a refused migration"
[ "$(mig_procs | wc -l)" = 1 ] || fail "a copy of the process exists after a refused migration"
mv "$T/b.pub.away" "$T/a/trusted/b.pub"
grep -q "migration failed" "$T/serve.err" || fail "serve does not report the failed migration: $(cat "$T/serve.err")"
kill -USR1 "$PID"
vx_wait_line "$OUT" '^(PASS|FAIL) ' 20 || fail "the source did not check itself"
grep -q '^PASS mig-dirty' "$OUT" || fail "source after refusal: $(grep FAIL "$OUT")"
pass "pre-copy $rounds rounds, frozen $frozen ms, $filled pages from the store after the commit; tree; untrusted host refused"
