#!/bin/bash
# The network lock of a dump (lib/dump/netlock.c, lib/net/netlock.c): a
# tree holding an established loopback TCP connection whose peer, outside
# the tree, sends a byte every 50 ms and logs its unacknowledged bytes
# (SIOCOUTQ, tcp-peer.py).  While vxdump holds the lock (the "netlocked"
# test hook) the peer's data is not acknowledged, the lock's owner table
# is listed; once the dump ends (refused: no --tcp-established,
# or failed at the lock, or vxdump killed there) the host's whole ruleset
# is as before, the target runs on and the connection resumes.  Also
# vxcr netlock's refusals of hostile ids, and --keep-net-lock with
# --leave-running refused as a usage error.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netlock-lib.sh"
require_cr
command -v nft >/dev/null || fail "nft not installed (contrib/install-deps.sh)"
PEER=$VX_ROOT/tests/integration/tcp-peer.py

nft list ruleset >"$T/rs.before" 2>&1 || fail "nft list ruleset failed: $(head -n 1 "$T/rs.before")"
# ruleset_same WHEN: the host's whole ruleset is what it was at the start.
ruleset_same()
{
	nft list ruleset >"$T/rs.now" 2>&1
	cmp -s "$T/rs.before" "$T/rs.now" ||
		fail "$1: the ruleset changed: $(diff "$T/rs.before" "$T/rs.now" | head -n 6)"
}
target_runs()
{
	vx_alive "$PID" && [ "$(vx_starttime "$PID")" = "$ORIG_START" ] ||
		fail "$1: target $PID gone"
}

python3 "$PEER" listen "$T/port" "$T/outq" </dev/null >"$T/peer.out" 2>&1 &
PEERPID=$!
vx_track "$PEERPID"
vx_wait_line "$T/port" '^[0-9]+$' 10 || fail "the peer did not listen: $(cat "$T/peer.out")"
start_cmd "$T/ready" python3 "$PEER" connect "$(cat "$T/port")" "$T/ready"
vx_wait_line "$T/ready" '^ready$' 10 || fail "the target did not connect: $(cat "$T/prog.err")"
vx_remember
outq_drains 5 || fail "the peer's data is not acknowledged before any dump (outq $(outq))"

# paused_dump STAGE_MS: vxdump of $PID paused at "netlocked" (STAGE_MS:
# for that many ms, else 60 s), in the background as DPID; returns once
# it pauses, after checking the lock is in place.
paused_dump()
{
	local ms=$1
	if [ -n "$ms" ]; then
		VXCR_TEST_PAUSE=netlocked VXCR_TEST_PAUSE_MS=$ms VXCR_LOG=2 \
			"$VXDUMP" -o "$T/img" "$PID" >"$T/d.out" 2>"$T/d.err" &
	else
		VXCR_TEST_PAUSE=netlocked VXCR_LOG=2 \
			"$VXDUMP" -o "$T/img" "$PID" >"$T/d.out" 2>"$T/d.err" &
	fi
	DPID=$!
	vx_track "$DPID"
	vx_wait_line "$T/d.err" 'pausing at netlocked' 20 ||
		fail "vxdump did not pause at netlocked: $(head -n 3 "$T/d.err")"
	nft list tables | grep -q "^table inet vxcr_lock_${DPID}_" ||
		fail "no lock table of vxdump $DPID: $(nft list tables | tr '\n' ' ')"
	nft list table inet "$(nft list tables | sed -n "s/^table inet \(vxcr_lock_${DPID}_[0-9a-f_]*\)$/\1/p")" |
		grep -q 'flags owner' || fail "the lock table is not an owner table"
	outq_held "locked"
}

# 1. Lock observed, then the dump goes on and is refused (an established
# connection without --tcp-established): the lock goes with it.
paused_dump 1500
wait "$DPID"
st=$?
vx_untrack "$DPID"
[ "$st" = 1 ] || fail "vxdump of a tree with a TCP connection exited $st, expected 1"
grep -q "cannot be checkpointed" "$T/d.err" || fail "no refusal summary: $(tail -n 2 "$T/d.err")"
[ ! -e "$T/img" ] || fail "the refused dump left an image"
ruleset_same "after the refused dump"
target_runs "after the refused dump"
outq_drains 15 || fail "the connection did not resume after the refused dump (outq $(outq))"
log "resumed after the refused dump"

# 2. vxdump killed while it holds the lock: the owner table goes with it.
paused_dump ""
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
vx_untrack "$DPID"
ruleset_same "after vxdump was killed at netlocked"
target_runs "after vxdump was killed at netlocked"
[ ! -e "$T/img" ] || fail "the killed dump left an image"
outq_drains 15 || fail "the connection did not resume after vxdump was killed (outq $(outq))"
log "resumed after vxdump was killed holding the lock"

# 3. The lock cannot be taken (VXCR_TEST_FAIL=netlock): one line, no rule.
VXCR_TEST_FAIL=netlock "$VXDUMP" -o "$T/img" "$PID" >"$T/f.out" 2>"$T/f.err"
st=$?
[ "$st" = 1 ] || fail "vxdump failing at the lock exited $st, expected 1"
[ "$(wc -l <"$T/f.err")" = 1 ] || fail "a failed lock: expected one line, got: $(head -n 3 "$T/f.err")"
grep -q "cannot lock the network of the tree" "$T/f.err" || fail "a failed lock said: $(cat "$T/f.err")"
ruleset_same "after a failed lock"
target_runs "after a failed lock"
log "lock failure: $(cat "$T/f.err")"

# Without nftables (VXCR_TEST_SKIP=nftables) TCP connections cannot be
# locked: the dump fails, the target runs on.
VXCR_TEST_SKIP=nftables "$VXDUMP" -o "$T/img" "$PID" >/dev/null 2>"$T/f.err"
[ $? = 1 ] || fail "a dump of TCP connections without nftables did not fail"
grep -q "cannot lock the network of the tree: nftables cannot be used here" "$T/f.err" ||
	fail "without nftables: $(cat "$T/f.err")"
target_runs "after a dump without nftables"

# A tree holding only a listener: its port is locked by a dump that
# kills, not by one with --leave-running (that would only delay new
# clients).  TCP listeners are dumped (i13-tcp): both dumps succeed, the
# first leaves the listener running, the second kills it.
MAIN_PID=$PID MAIN_START=$ORIG_START
start_cmd "$T/lready" python3 "$PEER" listener "$T/lready"
vx_wait_line "$T/lready" '^ready$' 10 || fail "the listener did not start: $(cat "$T/prog.err")"
vx_remember
for mode in --leave-running kill; do
	opt=${mode#kill}
	VXCR_TEST_PAUSE=netlocked VXCR_TEST_PAUSE_MS=1 VXCR_LOG=2 \
		"$VXDUMP" $opt -o "$T/img" "$PID" >/dev/null 2>"$T/l.err" ||
		fail "the dump of a listener ($mode) failed: $(tail -n 2 "$T/l.err")"
	if [ "$mode" = kill ]; then
		grep -q "pausing at netlocked" "$T/l.err" || fail "a listener's port was not locked"
	else
		grep -q "pausing at netlocked" "$T/l.err" &&
			fail "a listener's port was locked for a --leave-running dump"
		target_runs "after the dump of a listener ($mode)"
	fi
	ruleset_same "after the dump of a listener ($mode)"
done
vx_wait_gone "$PID" 5 || fail "the listener survived the dump that kills"
PID=$MAIN_PID ORIG_START=$MAIN_START

# 4. Usage: --keep-net-lock with --leave-running; hostile ids.
"$VXDUMP" --keep-net-lock --leave-running -o "$T/img" "$PID" >/dev/null 2>"$T/u.err"
[ $? = 2 ] || fail "--keep-net-lock --leave-running: not a usage error: $(cat "$T/u.err")"
for id in 'zz' 'ab;flush ruleset' '' '-1' "$(printf 'a%.0s' {1..33})" 'AB CD'; do
	"$VXCR" netlock drop "$id" >/dev/null 2>"$T/h.err"
	st=$?
	[ "$st" = 2 ] || fail "netlock drop '$id' exited $st, expected 2: $(cat "$T/h.err")"
	[ "$(wc -l <"$T/h.err")" = 1 ] || fail "netlock drop '$id': not one line"
done
"$VXCR" netlock drop 0123456789abcdef0123456789abcdef >/dev/null 2>"$T/h.err"
[ $? = 1 ] || fail "dropping a lock that is not there did not fail"
grep -q "no network lock" "$T/h.err" || fail "dropping a missing lock said: $(cat "$T/h.err")"
ruleset_same "after the hostile ids"
target_runs "at the end"
pass
