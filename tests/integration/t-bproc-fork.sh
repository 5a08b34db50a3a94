#!/bin/bash
# BProc's forks onto nodes and exec-moves (vxcr/bproc.h) with two nodes,
# each a `vxcr serve` in a network namespace of its own, and a third
# node that is down.  vx_rfork: the child checks its memory on the node,
# the parent's waitpid gets its exit code; a node down leaves no child.
# vx_vrfork: ranks, pids, exit codes; a node down in the list is -errno
# for its rank only, no child left of it.  vx_vexecmove and vx_execmove
# of /bin/sh -c 'echo rank=$BPROC_RANK; exit 7': each rank's line, exit 7
# through the ghost.  vxcr nodes: two up (one running a moved process),
# one down; a bad node list refused naming its line.  The times of vrfork
# with 1, 2, 3 children are logged (not asserted).
# vx-timeout: 300
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mig-lib.sh"
require_cr
mig_setup
NSC=vxcr-migc-$$
C_IP=10.87.$N.2
vx_case_cleanup()
{
	local ns p
	for ns in "$NSB" "$NSC"; do # every serve and what it runs, by pid
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	done
	mig_cleanup
	ip netns del "$NSC" 2>/dev/null
	true
}
ip netns add "$NSC" || skip "cannot make a network namespace"
ip -n "$NSC" link set lo up
ip link add "vxn$N" type veth peer name "vxn${N}b" netns "$NSC" || fail "veth"
ip addr add "10.87.$N.1/24" dev "vxn$N"
ip link set "vxn$N" up
ip -n "$NSC" addr add "$C_IP/24" dev "vxn${N}b"
ip -n "$NSC" link set "vxn${N}b" up

# node NS IP NAME: a vxcr serve (not --once) there with B's keys
node()
{
	( nsenter --net="/run/netns/$1" "$VXCR" serve --listen "$2:$PORT" --keys "$T/b" --pidns \
		--timeout 10 </dev/null >"$T/$3.out" 2>"$T/$3.err" & echo $! >"$T/$3.pid" )
	vx_track "$(cat "$T/$3.pid")"
	vx_wait_line "$T/$3.err" listening 10 || fail "node $3 did not start: $(cat "$T/$3.err")"
}
node "$NSB" "$DST_IP" node0
node "$NSC" "$C_IP" node1
export VXCR_KEYS=$T/a VXCR_GHOST=$VXCR VXCR_NODES=$T/nodes
printf '0 %s:%s b\n1 %s:%s b\n2 %s:%s\n' "$DST_IP" "$PORT" "$C_IP" "$PORT" "$C_IP" \
	"$((PORT + 1))" >"$VXCR_NODES"
OUT=$T/out

# run ARGS...: bproc-move $OUT ARGS as our child, waited for; RC
run()
{
	rm -f "$OUT"
	: >"$T/prog.out"
	"$PROGS/bproc-move" "$OUT" "$@" </dev/null >>"$T/prog.out" 2>"$T/prog.err" &
	local p=$!
	vx_track "$p"
	wait "$p"
	RC=$?
}
has() { grep -q "$1" "$OUT" || fail "$2: no '$1' in: $(cat "$OUT" "$T/prog.err")"; }

# 1. rfork
run rfork 0 5
has '^PASS rforked node=0 pid=[0-9]* mem=ok' rfork
has '^RFORK status=exit 5' rfork
run rfork 2 5
has '^RFORK failed errno=111 children=0' "rfork to a node down"
log "rfork: exit 5 from node 0; node 2 down: ECONNREFUSED, no child"

# 2. vrfork: ranks, one node down
run vrfork 0,1 10
has '^PASS vrforked rank=0 node=0 mem=ok' vrfork
has '^PASS vrforked rank=1 node=1 mem=ok' vrfork
has '^FAN rank=0 status=exit 10' vrfork
has '^FAN rank=1 status=exit 11' vrfork
has '^FAN children-left=0' vrfork
run vrfork 0,2,1 20
has '^FAN rank=1 errno=111' "vrfork with a node down"
has '^FAN rank=0 status=exit 20' "vrfork with a node down"
has '^FAN rank=2 status=exit 22' "vrfork with a node down"
has '^FAN children-left=0' "vrfork with a node down"
[ "$(grep -c '^PASS vrforked' "$OUT")" = 2 ] || fail "vrfork: $(cat "$OUT")"
for list in 0 0,1 0,1,0; do
	run vrfork "$list" 0
	has '^FAN vrfork' "vrfork $list"
	log "vrfork of 8 MiB to nodes $list: $(sed -n 's/^FAN vrfork n=\([0-9]*\) made=[0-9]* ms=\(.*\)/\1 children, \2 ms/p' "$OUT")"
done

# 3. vexecmove and execmove of a program that knows nothing of vxcr
run vexecmove 0,1 0
has '^FAN rank=0 status=exit 7' vexecmove
has '^FAN rank=1 status=exit 7' vexecmove
grep -qx 'rank=0' "$T/prog.out" && grep -qx 'rank=1' "$T/prog.out" ||
	fail "vexecmove: the programs' output: $(cat "$T/prog.out")"
run execmove 1 -
[ "$RC" = 7 ] || fail "execmove: the ghost ended with $RC, not 7: $(cat "$OUT" "$T/prog.out")"
grep -qx 'rank=0' "$T/prog.out" || fail "execmove: the program's output: $(cat "$T/prog.out")"
log "vexecmove to 0,1 and execmove to 1: rank lines, exit 7 through the ghosts"

# 4. vxcr nodes: 0 and 1 up (a process moved to 0 runs there), 2 down
rm -f "$OUT"
"$PROGS/bproc-move" "$OUT" move 0 wait </dev/null >"$T/prog.out" 2>"$T/prog.err" &
MPID=$!
vx_track "$MPID"
vx_wait_line "$OUT" '^PASS moved node=0' 20 || fail "did not move: $(cat "$OUT" "$T/prog.err")"
"$VXCR" nodes >"$T/nodes.out" 2>"$T/nodes.err"
rc=$?
kill -TERM "$MPID"
wait "$MPID"
[ $? = 143 ] || fail "the moved process did not end by SIGTERM"
[ "$rc" = 1 ] || fail "vxcr nodes exited $rc with a node down: $(cat "$T/nodes.out" "$T/nodes.err")"
grep -Eq "^0 +$DST_IP:$PORT +up +[0-9.]+ +1 " "$T/nodes.out" || fail "nodes: $(cat "$T/nodes.out")"
grep -Eq "^1 +$C_IP:$PORT +up +[0-9.]+ +0 " "$T/nodes.out" || fail "nodes: $(cat "$T/nodes.out")"
grep -Eq "^2 +$C_IP:$((PORT + 1)) +down +\(.*refused" "$T/nodes.out" || fail "nodes: $(cat "$T/nodes.out")"
printf '0 %s:%s b\n0 %s:%s\n' "$DST_IP" "$PORT" "$C_IP" "$PORT" >"$T/bad-nodes"
"$VXCR" nodes --nodes "$T/bad-nodes" >"$T/nodes.out" 2>"$T/nodes.err"
rc=$?
[ "$rc" = 1 ] && [ "$(wc -l <"$T/nodes.err")" = 1 ] &&
	grep -q 'line 2: the node number is given twice' "$T/nodes.err" ||
	fail "vxcr nodes with a bad list: $rc: $(cat "$T/nodes.err")"
"$VXCR" nodes --bogus >/dev/null 2>&1
[ $? = 2 ] || fail "vxcr nodes --bogus: not a usage error"
pass "rfork, vrfork (ranks, a node down), vexecmove, execmove, vxcr nodes"
