#!/bin/bash
# The network lock of a tree whose root is in a network namespace of its
# own (ip netns add vxt-PID, deleted at the end): vxdump locks the whole
# namespace (both hooks drop everything, its loopback too) from outside
# it, and the host's ruleset never changes.  Traffic is watched on a
# loopback connection inside the namespace held by a process outside the
# tree (tcp-peer.py pair: unacknowledged bytes while locked).
#  1. a --leave-running dump paused at "netlocked": the namespace's lock
#     table is there, the pair's data stays unacknowledged; after the dump
#     the table is gone and the data flows;
#  2. vxdump killed at "netlocked": the namespace's ruleset as before;
#  3. --keep-net-lock on a dump that fails at the commit step: nothing
#     kept, the target runs on; one whose lock cannot be kept (the hook
#     netlock-keep, once the tree is dead): the dump stands with a
#     warning, nothing kept, traffic flows;
#  4. --keep-net-lock on a second target: the lock stays after vxdump
#     exits (traffic still held), `vxcr netlock list` names the image,
#     `vxcr netlock drop` removes it;
#  5. --keep-net-lock, then vxrestore of the image in the namespace: a
#     restore that fails leaves the kept lock (traffic still held); the
#     next one removes it once the tree is back, the counter carries on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netlock-lib.sh"
require_cr
command -v nft >/dev/null || fail "nft not installed (contrib/install-deps.sh)"
command -v ip >/dev/null || fail "ip not installed"
PEER=$VX_ROOT/tests/integration/tcp-peer.py
NS=vxt-$$
vx_case_cleanup() { ip netns del "$NS" 2>/dev/null; }
ip netns add "$NS" || fail "cannot make network namespace $NS"
IN="nsenter --net=/run/netns/$NS"
$IN ip link set lo up || fail "cannot bring lo up in $NS"

nft list ruleset >"$T/host.before" 2>&1 || fail "nft list ruleset failed"
$IN nft list ruleset >"$T/ns.before" 2>&1 || fail "nft list ruleset in $NS failed"
rulesets_same()
{
	nft list ruleset >"$T/host.now" 2>&1
	cmp -s "$T/host.before" "$T/host.now" ||
		fail "$1: the host's ruleset changed: $(diff "$T/host.before" "$T/host.now" | head -n 6)"
	$IN nft list ruleset >"$T/ns.now" 2>&1
	cmp -s "$T/ns.before" "$T/ns.now" ||
		fail "$1: the ruleset of $NS changed: $(diff "$T/ns.before" "$T/ns.now" | head -n 6)"
}
# ns_start: a counter in $NS as PID, OUT (nsenter execs it: same pid).
ns_start()
{
	OUT=$T/out.$1
	( $IN "$PROGS/counter" "$OUT" </dev/null >"$T/prog.out" 2>"$T/prog.err" &
	  echo $! >"$T/prog.pid" )
	PID=$(cat "$T/prog.pid")
	vx_track "$PID"
	vx_wait_line "$OUT" '^ready$' 20 || fail "counter in $NS did not get ready"
	vx_remember
}
# paused_dump MS OPTS...: vxdump paused at netlocked (MS ms, or 60 s if
# empty) in the background as DPID; returns once the namespace is locked.
paused_dump()
{
	local ms=$1
	shift
	env VXCR_TEST_PAUSE=netlocked ${ms:+VXCR_TEST_PAUSE_MS=$ms} VXCR_LOG=2 \
		"$VXDUMP" "$@" -o "$T/img.p" "$PID" >"$T/d.out" 2>"$T/d.err" &
	DPID=$!
	vx_track "$DPID"
	vx_wait_line "$T/d.err" 'pausing at netlocked' 20 ||
		fail "vxdump did not pause at netlocked: $(head -n 3 "$T/d.err")"
	$IN nft list tables | grep -q "^table inet vxcr_lock_${DPID}_" ||
		fail "no lock table of vxdump $DPID in $NS: $($IN nft list tables | tr '\n' ' ')"
	nft list tables | grep -q "vxcr_lock_${DPID}_" && fail "the lock is in the host's namespace"
}

$IN python3 "$PEER" pair "$T/outq" </dev/null >"$T/pair.out" 2>&1 &
PAIR=$!
vx_track "$PAIR"
vx_wait_line "$T/outq" '^outq' 10 || fail "the pair did not start: $(cat "$T/pair.out")"
outq_drains 5 || fail "the pair's data is not acknowledged before any dump"
ns_start a

# 1.
paused_dump 1500 --leave-running
outq_held "a --leave-running dump at netlocked"
wait "$DPID" || fail "vxdump --leave-running exited $?: $(grep -v ': info: \|: debug: ' "$T/d.err" | head -n 3)"
vx_untrack "$DPID"
grep -q "network locked: the tree's own namespace" "$T/d.err" || fail "vxdump did not lock the namespace"
rulesets_same "after a --leave-running dump"
vx_alive "$PID" || fail "target died despite --leave-running"
outq_drains 15 || fail "traffic in $NS did not resume after the dump (outq $(outq))"

# without nftables (VXCR_TEST_SKIP=nftables) a tree holding no TCP
# socket is dumped unlocked, with a warning
VXCR_TEST_SKIP=nftables "$VXDUMP" --leave-running -o "$T/img.n" "$PID" >/dev/null 2>"$T/n.err" ||
	fail "without nftables, the dump of a tree with no TCP socket failed: $(cat "$T/n.err")"
grep -q "is not locked (the tree holds no TCP socket)" "$T/n.err" || fail "no warning: $(cat "$T/n.err")"
rulesets_same "after a dump without nftables"

# 2.
paused_dump ""
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
vx_untrack "$DPID"
rulesets_same "after vxdump was killed at netlocked"
[ "$(vx_starttime "$PID")" = "$ORIG_START" ] || fail "target gone after vxdump was killed"
outq_drains 15 || fail "traffic in $NS did not resume after vxdump was killed (outq $(outq))"

# 3.
VXCR_TEST_FAIL=commit "$VXDUMP" --keep-net-lock -o "$T/img.f" "$PID" >/dev/null 2>"$T/f.err"
[ $? = 1 ] || fail "a dump failing at commit did not fail: $(cat "$T/f.err")"
rulesets_same "after a --keep-net-lock dump that failed"
[ "$(vx_starttime "$PID")" = "$ORIG_START" ] || fail "target gone after a failed dump"
outq_drains 15 || fail "traffic in $NS did not resume after a failed dump"
A=$PID A_OUT=$OUT A_START=$ORIG_START A_COMM=$ORIG_COMM
ns_start k
VXCR_TEST_FAIL=netlock-keep "$VXDUMP" --keep-net-lock -o "$T/img.k" "$PID" >/dev/null 2>"$T/k.err" ||
	fail "a dump whose lock cannot be kept failed: $(head -n 3 "$T/k.err")"
grep -q "network lock could not be kept" "$T/k.err" || fail "no warning: $(cat "$T/k.err")"
vx_wait_gone "$PID" 10 || fail "target k still there after vxdump"
vx_untrack "$PID"
rulesets_same "after a dump whose lock could not be kept"
outq_drains 15 || fail "traffic in $NS did not resume after a lock that could not be kept"

# 4.
ns_start b
"$VXDUMP" --keep-net-lock -o "$T/img.b" "$PID" >/dev/null 2>"$T/b.err" ||
	fail "vxdump --keep-net-lock exited $?: $(head -n 3 "$T/b.err")"
vx_wait_gone "$PID" 10 || fail "target b still there after vxdump"
vx_untrack "$PID"
outq_held "after vxdump --keep-net-lock exited"
ids=$($IN "$VXCR" netlock list) || fail "vxcr netlock list failed"
[ "$(echo "$ids" | wc -l)" = 1 ] && [[ $ids =~ ^[0-9a-f]{32}$ ]] ||
	fail "vxcr netlock list: expected one image id, got '$ids'"
nft list tables | grep -q vxcr_img_ && fail "a kept lock is in the host's namespace"
$IN "$VXCR" netlock drop "$ids" || fail "vxcr netlock drop $ids failed"
rulesets_same "after vxcr netlock drop"
outq_drains 15 || fail "traffic in $NS did not resume after vxcr netlock drop"
log "kept lock $ids listed and dropped"

# 5.
PID=$A OUT=$A_OUT ORIG_START=$A_START ORIG_COMM=$A_COMM
dump "$PID" "$T/img" --keep-net-lock
outq_held "between the dump and the restore"
[ -n "$($IN "$VXCR" netlock list)" ] || fail "no kept lock after vxdump --keep-net-lock"
# a restore that fails leaves the kept lock for the next try
VXCR_TEST_FAIL=tree $IN "$VXRESTORE" "$T/img" >/dev/null 2>"$T/rf.err"
[ $? = 1 ] || fail "a restore failing at the tree stage did not fail: $(head -n 2 "$T/rf.err")"
[ -n "$($IN "$VXCR" netlock list)" ] || fail "a failed restore removed the kept lock"
outq_held "after a failed restore"
$IN "$VXRESTORE" "$T/img" >"$T/restore.out" 2>"$T/restore.err" &
RPID=$!
vx_track "$RPID"
wait_restored
rulesets_same "after the restore"
outq_drains 15 || fail "traffic in $NS did not resume after the restore (outq $(outq))"
go_and_check
wait_restore_exit
pass
