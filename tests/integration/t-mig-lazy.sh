#!/bin/bash
# Post-copy migration (vxcr migrate --lazy) between two "hosts" (this
# network namespace and one the test makes): a process rewriting its
# memory runs on the destination at once, its private pages fetched on
# fault and streamed in the background from the source's frozen copy,
# which dies only once every page is in; its frozen time does not grow
# with its memory (16 vs 64 MiB); it checks every page afterwards, and so
# does a child it forks while its pages are still missing, after it
# dropped part of its memory and moved the rest with mremap.  A tree of two.  A link cut during post-copy: the documented loss (both
# copies gone, exit status 4), never two copies.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mig-lib.sh"
require_cr
mig_setup

# lazy_ok WHAT: the migration worked, the source is gone, the copy
# checks out; sets FROZEN (ms) and LAZY (pages sent after COMMIT).
lazy_ok()
{
	[ "$MIG_RC" = 0 ] || fail "$1: vxcr migrate --lazy exited $MIG_RC: $(tail -n 3 "$T/mig.err")"
	DPID=$(cat "$T/mig.out")
	[ -n "$DPID" ] && [ "$DPID" != "$PID" ] || fail "$1: no pid from vxcr migrate: '$DPID'"
	vx_track "$DPID"
	serve_wait
	[ "$SERVE_RC" = 1 ] || fail "$1: vxcr serve did not report the migration: $(cat "$T/serve.err")"
	grep -q 'post-copy: .* pages copied in' "$T/serve.err" || fail "$1: serve reports no post-copy: $(cat "$T/serve.err")"
	vx_wait_gone "$PID" 10 || fail "$1: the source $PID still runs after the migration"
	vx_alive "$DPID" || fail "$1: the migrated process $DPID does not run"
	FROZEN=$(json_field "$T/mig.err" frozen_ms)
	LAZY=$(json_field "$T/mig.err" lazy_pages)
	LAZY_MS=$(json_field "$T/mig.err" lazy_ms)
	[ "$LAZY" -gt 1000 ] || fail "$1: only $LAZY pages after COMMIT"
	kill -USR1 "$DPID"
	vx_wait_line "$OUT" '^(PASS|FAIL) ' 20 || fail "$1: the migrated process did not check itself"
	grep -q '^PASS mig-dirty' "$OUT" || fail "$1: $(grep FAIL "$OUT")"
	vx_wait_gone "$DPID" 10 || fail "$1: the migrated process did not exit"
}

# 1. 64 MiB rewritten at 16 MiB/s; paused in post-copy: both copies exist,
#    the source frozen (stopped), the destination's running
start_prog mig-dirty 64 16 nofork move
serve_start
MIG_ENV="VXCR_TEST_PAUSE=lazy-serve VXCR_TEST_PAUSE_MS=2000" migrate_bg -v --lazy --stats "$PID"
vx_wait_line "$T/mig.err" 'pausing at lazy-serve' 20 || fail "post-copy did not start: $(cat "$T/mig.err")"
n=$(mig_procs | wc -l)
[ "$n" = 2 ] || fail "during post-copy: $n copies, not the frozen source and the running destination"
st=$(awk '/^State:/ {print $2}' "/proc/$PID/status")
case "$st" in t|T) ;; *) fail "the source is not frozen during post-copy (state $st)" ;; esac
# while its pages are missing: it drops its first MiB (MADV_DONTNEED),
# moves the whole area (mremap), then forks a child that checks every page
DPID=$(mig_procs | grep -vx "$PID")
kill -HUP "$DPID"
sleep 0.1
kill -USR2 "$DPID"
wait_rc=0
for ((i = 0; i < 600; i++)); do vx_alive "$MIG_PID" || break; sleep 0.05; done
vx_alive "$MIG_PID" && fail "vxcr migrate --lazy did not end"
wait "$MIG_PID" 2>/dev/null; MIG_RC=$?
[ -s "$T/mig.out" ] && MIG_RC=0
lazy_ok "64 MiB"
grep -q '^moved$' "$OUT" || fail "the area was not dropped and moved during post-copy: $(grep '^moved' "$OUT")"
vx_wait_line "$OUT" '^forked (PASS|FAIL)' 20 || fail "the child forked during post-copy did not check itself"
grep -q '^forked PASS' "$OUT" || fail "forked during post-copy: $(grep '^forked' "$OUT")"
F64=$FROZEN
log "64 MiB: frozen $F64 ms ($LAZY pages after COMMIT)"

# 2. 16 MiB: the frozen time does not grow with the memory
rm -f "$OUT"
start_prog mig-dirty 16 4
serve_start
migrate --lazy --stats "$PID"
lazy_ok "16 MiB"
F16=$FROZEN
log "16 MiB: frozen $F16 ms, every page in after $LAZY_MS ms"
python3 -c "import sys; f16, f64 = float(sys.argv[1]), float(sys.argv[2]); sys.exit(0 if f64 < 2 * f16 + 100 else 1)" "$F16" "$F64" ||
	fail "the frozen time grows with memory: $F16 ms for 16 MiB, $F64 ms for 64 MiB"

# 3. a tree of two, each with 16 MiB of its own, both lazy
rm -f "$OUT"
start_prog mig-dirty 16 4 fork
serve_start
migrate --lazy --stats "$PID"
[ "$MIG_RC" = 0 ] || fail "tree: vxcr migrate --lazy exited $MIG_RC: $(tail -n 3 "$T/mig.err")"
DPID=$(cat "$T/mig.out")
vx_track "$DPID"
serve_wait
vx_wait_gone "$PID" 10 || fail "tree: the source $PID still runs after the migration"
lp=$(json_field "$T/mig.err" lazy_pages)
[ "$lp" -ge 8192 ] || fail "tree: only $lp pages after COMMIT (both processes' 16 MiB are lazy)"
kill -USR1 "$DPID"
vx_wait_line "$OUT" '^(PASS|FAIL) ' 20 || fail "tree: the migrated tree did not check itself"
grep -q '^child PASS' "$OUT" || fail "tree: child: $(grep child "$OUT")"
grep -q '^PASS mig-dirty' "$OUT" || fail "tree: $(grep FAIL "$OUT")"
vx_wait_gone "$DPID" 10 || fail "tree: the migrated process did not exit"

# 4. the link cut during post-copy (the source's side at 32 MiB, the
#    destination's before its first fault request): the process is lost,
#    both copies are gone, vxcr migrate says so with status 4
lost()
{
	rm -f "$OUT"
	start_prog mig-dirty 64 16
	SERVE_ENV=$3 serve_start
	MIG_ENV=$2 migrate --lazy "$PID"
	SERVE_ENV=
	[ "$MIG_RC" = 4 ] || fail "$1: vxcr migrate exited $MIG_RC, not 4: $(tail -n 3 "$T/mig.err")"
	grep -q "post-copy" "$T/mig.err" || fail "$1: the error does not name post-copy: $(cat "$T/mig.err")"
	serve_wait
	[ "$SERVE_RC" = 0 ] || [ "$SERVE_RC" = 1 ] || fail "$1: serve: $(cat "$T/serve.err")"
	grep -q "migration failed" "$T/serve.err" || fail "$1: serve does not report the loss: $(cat "$T/serve.err")"
	vx_wait_gone "$PID" 10 || fail "$1: the source still exists"
	for ((i = 0; i < 100; i++)); do [ "$(mig_procs | wc -l)" = 0 ] && break; sleep 0.1; done
	[ "$(mig_procs | wc -l)" = 0 ] || fail "$1: copies left: $(mig_procs | tr '\n' ' ')"
}
lost "source cut at 32 MiB" "VXCR_TEST_CHAN=client:cut@33554432" ""
lost "destination cut before its first request" "" "VXCR_TEST_CHAN=server:cut@msg:12"
# 5. an image with lazy ranges (written by lazy-dump, a migration's dump
#    into a file) is refused by vxrestore: its pages would never come
rm -f "$OUT"
start_prog mig-dirty 16 0
"$PROGS/lazy-dump" "$PID" "$T/lazy.img" >"$T/ld.out" 2>"$T/ld.err" || fail "lazy-dump: $(cat "$T/ld.err")"
grep -q '^lazy [1-9]' "$T/ld.out" || fail "lazy-dump wrote no lazy range: $(cat "$T/ld.out")"
vx_wait_gone "$PID" 10 || fail "lazy-dump did not kill its target"
"$VXCR" img show "$T/lazy.img" 2>/dev/null | grep -q "lazy=" || fail "vxcr img show does not show the lazy range"
"$VXRESTORE" -d "$T/lazy.img" >"$T/r.out" 2>"$T/r.err"
rc=$?
[ "$rc" = 1 ] || fail "vxrestore of a lazy image exited $rc: $(cat "$T/r.err")"
grep -q "only vxcr serve restores this image" "$T/r.err" || fail "the refusal does not say why: $(cat "$T/r.err")"
[ "$(wc -l <"$T/r.err")" -le 2 ] || fail "the refusal is not one line: $(cat "$T/r.err")"
[ "$(mig_procs | wc -l)" = 0 ] || fail "a refused restore left a process: $(mig_procs | tr '\n' ' ')"
pass "post-copy: 64 MiB frozen $F64 ms 16 MiB frozen $F16 ms; tree; cut links lose it; a lazy image refused by vxrestore"
