#!/bin/bash
# BProc moves (vx_move, vxcr/bproc.h) between "nodes": this network
# namespace is the origin, node 0 a `vxcr serve` in a namespace the test
# makes (mig-lib.sh).  A process with 8 MiB of state moves itself: on the
# node its memory checks out and it writes its output; its parent (this
# shell) waits for the ghost and gets the node's exit status; a signal to
# the ghost reaches it there and SIGTERM ends it there, the ghost dying by
# the same signal (also with no ghost program to exec: its loop runs in
# the original).  The ghost is the same pid running `vxcr ghost`, its
# memory gone, and vxcr ps --nodes shows where it runs.  Failures leave
# the caller as before: node down, the node's key not trusted, the
# restore refused on the node.  The origin's
# relay killed: the ghost dies by SIGKILL and the node kills the process.
# vx-timeout: 240
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mig-lib.sh"
require_cr
mig_setup
vx_case_cleanup()
{
	local p
	for p in $(ip netns pids "$NSB" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	mig_cleanup
}
OUT=$T/out
export VXCR_KEYS=$T/a VXCR_GHOST=$VXCR VXCR_NODES=$T/nodes
cat >"$VXCR_NODES" <<NODES
# the test's nodes
0 $DST_IP:$PORT b
1 $DST_IP:$((PORT + 1))
NODES

# move_bg NODE CODE: bproc-move as our child; sets MPID
move_bg()
{
	"$PROGS/bproc-move" "$OUT" move "$1" "$2" </dev/null >"$T/prog.out" 2>"$T/prog.err" &
	MPID=$!
	vx_track "$MPID"
}

# 1. vx_move, exit 42 on the node: our wait of the ghost gets 42
serve_start
move_bg 0 42
wait "$MPID"
rc=$?
[ "$rc" = 42 ] || fail "waitpid of the ghost: $rc, not 42: $(cat "$OUT" "$T/prog.err")"
grep -q "^before pid=$MPID node=-1" "$OUT" || fail "no 'before' line: $(cat "$OUT")"
grep -q '^PASS moved node=0 pid=[0-9]* mem=ok' "$OUT" || fail "on the node: $(cat "$OUT")"
serve_wait
grep -q 'moved here, running as pid' "$T/serve.err" || fail "serve: $(cat "$T/serve.err")"
grep -q 'the moved process [0-9]* ended (exit 42)' "$T/serve.err" ||
	fail "serve did not see its end: $(cat "$T/serve.err")"
log "moved, exit 42 on the node reached the origin's waitpid; the move of 8 MiB took $(sed -n 's/^PASS moved.* ms=//p' "$OUT") ms"

# 1b. no ghost program to exec: the ghost's loop runs in the original
rm -f "$OUT"
serve_start
VXCR_GHOST=$T/no-such-vxcr move_bg 0 43
wait "$MPID"
rc=$?
[ "$rc" = 43 ] || fail "in-process ghost: $rc, not 43: $(cat "$OUT" "$T/prog.err")"
serve_wait

# 2. signals: USR1 to the ghost reaches it, TERM kills it there and here
rm -f "$OUT"
serve_start
move_bg 0 wait
vx_wait_line "$OUT" '^PASS moved node=0' 20 || fail "did not move: $(cat "$OUT" "$T/prog.err")"
sleep 0.3
[ "$(readlink "/proc/$MPID/exe")" = "$(readlink -f "$VXCR")" ] ||
	fail "the ghost $MPID runs $(readlink "/proc/$MPID/exe"), not vxcr ghost"
[ "$(cat "/proc/$MPID/comm")" = bproc-move ] || fail "the ghost's comm: $(cat "/proc/$MPID/comm")"
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$MPID/status")
[ "$rss" -lt 8192 ] || fail "the ghost holds $rss kB: its 8 MiB did not go"
vx_wait_line "$T/serve.err" 'moved here, running as pid' 10 || fail "serve: $(cat "$T/serve.err")"
NPID=$(sed -n 's/.*moved here, running as pid \([0-9]*\).*/\1/p' "$T/serve.err")
vx_track "$NPID"
vx_alive "$NPID" || fail "the moved process $NPID does not run on the node"
# /dev/null on 0-2, its socket to the relay, its signalfd
nfd=$(ls "/proc/$MPID/fd" | wc -l)
[ "$nfd" = 5 ] || fail "the ghost has $nfd fds: $(ls -l "/proc/$MPID/fd")"
"$VXCR" ps --nodes >"$T/ps.out" 2>"$T/ps.err" || fail "vxcr ps --nodes: $(cat "$T/ps.err")"
grep -Eq "^$MPID +0 +$NPID +bproc-move\$" "$T/ps.out" || fail "vxcr ps --nodes: $(cat "$T/ps.out")"
"$VXCR" ps >/dev/null 2>&1
[ $? = 2 ] || fail "vxcr ps without --nodes: not a usage error"
kill -USR1 "$MPID"
vx_wait_line "$OUT" '^got USR1 node=0' 10 || fail "USR1 did not reach the node: $(cat "$OUT")"
kill -TERM "$MPID"
wait "$MPID"
rc=$?
[ "$rc" = 143 ] || fail "the ghost ended with $rc, not by SIGTERM (143)"
vx_wait_gone "$NPID" 10 || fail "the moved process $NPID still runs on the node"
serve_wait
grep -q 'ended (signal 15)' "$T/serve.err" || fail "serve: $(cat "$T/serve.err")"
log "USR1 and TERM to the ghost reached the node"

# 3. the origin's relay killed: the ghost dies by SIGKILL, the node kills
# the process (nobody could wait for it)
rm -f "$OUT"
serve_start
move_bg 0 wait
vx_wait_line "$OUT" '^PASS moved node=0' 20 || fail "did not move: $(cat "$OUT" "$T/prog.err")"
vx_wait_line "$T/serve.err" 'moved here, running as pid' 10 || fail "serve: $(cat "$T/serve.err")"
NPID=$(sed -n 's/.*moved here, running as pid \([0-9]*\).*/\1/p' "$T/serve.err")
vx_track "$NPID"
RELAY=""
for p in $(mig_procs); do # the helper is a fork of the program: its command line names $OUT
	[ "$(cat "/proc/$p/comm" 2>/dev/null)" = vxcr-relay ] && RELAY=$p
done
[ -n "$RELAY" ] || fail "no relay process found"
kill -9 "$RELAY"
wait "$MPID" 2>/dev/null
rc=$?
[ "$rc" = 137 ] || fail "relay killed: the ghost ended with $rc, not by SIGKILL (137)"
vx_wait_gone "$NPID" 10 || fail "relay killed: the moved process $NPID still runs on the node"
serve_wait
log "relay killed: the ghost died by SIGKILL, the node killed its process"

# 4. failures: the caller goes on as before (exit 0 after its checks)
fail_case() # WHAT NODE: one failed move
{
	rm -f "$OUT"
	move_bg "$2" 9
	wait "$MPID"
	rc=$?
	[ "$rc" = 0 ] || fail "$1: the caller ended with $rc: $(cat "$OUT" "$T/prog.err")"
	grep -q "^BACK errno=[0-9]* node=-1 mem=ok" "$OUT" || fail "$1: $(cat "$OUT")"
	log "$1: $(grep BACK "$OUT" | cut -c1-160)"
}
fail_case "node down" 1
grep -q 'BACK errno=111 ' "$OUT" || fail "node down: not ECONNREFUSED: $(cat "$OUT")"
fail_case "no such node" 7
grep -q 'BACK errno=2 ' "$OUT" || fail "no such node: not ENOENT: $(cat "$OUT")"
rm -f "$OUT"
"$PROGS/bproc-move" "$OUT" move-threaded 0 0 </dev/null >"$T/prog.out" 2>"$T/prog.err"
grep -q "^BACK errno=16 node=-1 mem=ok" "$OUT" || fail "threaded: not EBUSY: $(cat "$OUT")"
chmod 666 "$VXCR_NODES"
fail_case "a node list others may write" 0
grep -q 'BACK errno=.*node list' "$OUT" || fail "writable node list: $(cat "$OUT")"
chmod 600 "$VXCR_NODES"
# the node's key: not the one the list names
serve_start
sed -i 's/ b$/ x/' "$VXCR_NODES"
fail_case "the node's key is not the list's" 0
grep -q 'BACK errno=13 ' "$OUT" || fail "key name: not EACCES: $(cat "$OUT")"
sed -i 's/ x$/ b/' "$VXCR_NODES"
serve_wait
# the node's key not trusted at all
mkdir -m 700 -p "$T/c/trusted"
cp "$T/a/host.key" "$T/a/host.pub" "$T/c/"
"$VXCR" key new "$T/c/trusted/other" >/dev/null 2>&1 || fail "vxcr key new"
rm -f "$T/c/trusted/other.key"
serve_start
VXCR_KEYS=$T/c fail_case "untrusted node" 0
grep -q 'BACK errno=13 ' "$OUT" || fail "untrusted: not EACCES: $(cat "$OUT")"
serve_wait
# the restore refused on the node
SERVE_ENV=VXCR_TEST_FAIL=restore-commit serve_start
fail_case "restore refused" 0
grep -q 'BACK errno=103 ' "$OUT" || fail "refused: not ECONNABORTED: $(cat "$OUT")"
serve_wait
grep -q 'migration failed' "$T/serve.err" || fail "serve: $(cat "$T/serve.err")"
pass "moved with its memory; wait, USR1, TERM across nodes; relay killed; failures leave it as before"
