#!/bin/bash
# The dirty tracker of live migration (lib/dump/track.c) on real programs,
# driven by build/tests/unit/test_track's hold/final modes: areas of every
# kind (tests/progs/memory: file COW pages, PROT_NONE with contents, a big
# sparse area, heap, stack), threads (thread-basic) and a tree
# (tree-basic).  The store plus the last dirty set equals each process's
# memory byte for byte; a killed tracker leaves no area registered ("uw"
# in smaps), the programs run on and their own checks pass; a counting
# program keeps counting while tracked.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root"
TT=$VX_BUILD/tests/unit/test_track
[ -x "$TT" ] || fail "$TT not built"

# registered PID...: true if some area of a PID has "uw" in its VmFlags.
registered()
{
	local p
	for p in "$@"; do
		grep -q '^VmFlags:.* uw' "/proc/$p/smaps" 2>/dev/null && return 0
	done
	return 1
}

# hold_and_kill PID...: tracks the tree of the first PID, checks its
# areas registered, kills the tracker, checks them unregistered.
hold_and_kill()
{
	"$TT" hold "$1" >"$T/hold.out" 2>"$T/hold.err" &
	local tp=$!
	vx_track "$tp"
	vx_wait_line "$T/hold.out" '^tracking' 20 || fail "tracker did not start: $(cat "$T/hold.err")"
	registered "$@" || fail "no area of $* registered while tracked"
	sleep 0.2
	kill -KILL "$tp"
	wait "$tp" 2>/dev/null
	vx_untrack "$tp"
	registered "$@" && fail "areas of $* still registered after the tracker was killed"
	return 0
}

# 1. Every kind of area: held and unregistered, contents and protections intact.
rm -f "$T/out"; start_prog memory
hold_and_kill "$PID"
go_and_check memory
kill -KILL "$PID" 2>/dev/null

# 2. The same program: the last round against its memory, byte for byte.
rm -f "$T/out"; start_prog memory
"$TT" final "$PID" >"$T/final.out" 2>&1 || fail "memory: $(tail -n 3 "$T/final.out")"
log "memory: $(tail -n 1 "$T/final.out")"
kill -CONT "$PID"
sleep 0.5
go_and_check memory
kill -KILL "$PID" 2>/dev/null

# 3. Threads, and a tree.
for prog in thread-basic tree-basic; do
	rm -f "$T/out"; start_prog "$prog"
	pids=$(vx_tree_pids "$PID")
	hold_and_kill $pids
	"$TT" final "$PID" >"$T/final.out" 2>&1 || fail "$prog: $(tail -n 3 "$T/final.out")"
	log "$prog: $(tail -n 1 "$T/final.out")"
	for p in $pids; do kill -CONT "$p" 2>/dev/null; done
	sleep 0.5	# woken by SIGCONT: back in their waits before the check
	go_and_check "$prog"
	for p in $pids; do kill -KILL "$p" 2>/dev/null; done
done

# 4. Never blocked: a counter counts on while tracked.
rm -f "$T/out"; start_prog counter 2
"$TT" hold "$PID" >"$T/hold.out" 2>"$T/hold.err" &
TP=$!
vx_track "$TP"
vx_wait_line "$T/hold.out" '^tracking' 20 || fail "tracker did not start on counter"
expect_counting "while tracked"
kill -KILL "$TP"
wait "$TP" 2>/dev/null
registered "$PID" && fail "counter still registered after the tracker was killed"
expect_counting "after the tracker was killed"
go_and_check counter
kill -KILL "$PID" 2>/dev/null

# 5. The memory path of a migration: 64 MiB, a 4 MiB chunk rewritten before
#    rounds 2 and 3 and once more before the freeze; the dump's image
#    refers to the store for what it holds (PARENT ranges), the restore
#    takes them from it, and the program checks every byte.
rm -f "$T/out"; start_prog mem-dirty 64 4
ORIG=$PID
"$PROGS/track-migrate" "$PID" "$T/mig.img" 3 >"$T/mig.out" 2>"$T/mig.err" ||
	fail "track-migrate: $(tail -n 1 "$T/mig.out") $(head -n 2 "$T/mig.err")"
log "$(head -n 1 "$T/mig.out")"
PID=$(sed -n 's/^restored //p' "$T/mig.out")
[ "$PID" = "$ORIG" ] || fail "restored as $PID, not $ORIG"
vx_track "$PID"
read -r _ sent _ held _ bytes < <(head -n 1 "$T/mig.out")
[ "$held" -gt 15000 ] || fail "only $held pages taken from the store"
[ "$bytes" -lt $((8 << 20)) ] || fail "the image has $bytes bytes: the store's pages were written again"
go_and_check mem-dirty
grep -q "^rounds 3" "$OUT" || fail "the restored program saw $(grep '^rounds' "$OUT" | tail -n 1), not 3 rounds"
pass "memory, threads and a tree tracked exactly; a killed tracker leaves nothing; a pre-copied process restored from its store"
