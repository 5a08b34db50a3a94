#!/bin/bash
# Live migration of a whole context with its own network namespace and
# address (ctx create --net veth) from host A to host B (three network
# namespaces the test makes: A, B and the client's C, each joined to the
# other two).  A TCP client in C talks to a server inside the context
# all along, on one connection: the context moves with its connection
# (the network lock holds it on A until B has the sockets), C's route to
# the context's address is switched to B afterwards (what a routing
# protocol or an ARP update does between real hosts), and the same server
# process answers every request in order, its running total intact.  The
# context is gone from A's run directory and runs in B's, its groups in
# B's cgroup folder (VXCR_CGROUP).
. "$(dirname "$0")/ctx-lib.sh"
. "$(dirname "$0")/mig-lib.sh"
require_cr
command -v python3 >/dev/null || skip "python3 not installed"
NSA=vxcr-miga-$$
NSC=vxcr-migc-$$
CA=10.81.$N.2 CB=10.81.$N.1 CLIENT=10.86.$N.1 SPORT=7070
RUN_B=$T/run-b
CG_B=vxcr-migb-$$
vx_case_cleanup()
{
	local f p
	for f in "$RUN_B"/*.ctx; do # the migrated context, by its record
		[ -f "$f" ] || continue
		for p in $(sed -n 's/^\(init\|super\)=//p' "$f"); do kill -9 "$p" 2>/dev/null; done
		for p in $(sed -n 's/^cgroup=//p' "$f"); do
			echo 1 >"$p/cgroup.kill" 2>/dev/null
			sleep 0.2
			rmdir "$p" 2>/dev/null
		done
	done
	mig_cleanup
	ip netns del "$NSA" 2>/dev/null
	ip netns del "$NSC" 2>/dev/null
	true
}
nsx() { local ns=$1; shift; nsenter --net="/run/netns/$ns" "$@"; }

# hosts A, B (the migration's ends) and C (the client), pairwise linked
mig_keys
for ns in "$NSA" "$NSB" "$NSC"; do
	ip netns add "$ns" || skip "cannot make a network namespace"
	ip -n "$ns" link set lo up
	nsx "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 || fail "sysctl in $ns"
done
link() # NS1 IP1 NS2 IP2 NAME
{
	ip -n "$1" link add "$5a" type veth peer name "$5b" netns "$3" || fail "veth $5"
	ip -n "$1" addr add "$2/24" dev "$5a"
	ip -n "$3" addr add "$4/24" dev "$5b"
	ip -n "$1" link set "$5a" up
	ip -n "$3" link set "$5b" up
}
link "$NSA" "$SRC_IP" "$NSB" "$DST_IP" "vxab$N"
link "$NSA" "10.84.$N.1" "$NSC" "10.84.$N.2" "vxac$N"
link "$NSB" "10.85.$N.1" "$NSC" "10.85.$N.2" "vxbc$N"
ip -n "$NSC" addr add "$CLIENT/32" dev lo
ip -n "$NSA" route add "$CLIENT/32" via "10.84.$N.2"
ip -n "$NSB" route add "$CLIENT/32" via "10.85.$N.2"
ip -n "$NSC" route add "$CA/32" via "10.84.$N.1"

TCPT=$VX_ROOT/tests/integration/tcp-total.py

nsx "$NSA" "$VXCR" ctx create "$XID" --flags PERSISTENT --net "veth:vxc$N,addr=$CA/24,host-addr=$CB/24" -- \
	python3 -S "$TCPT" server "$CA" "$SPORT" >"$T/create.out" 2>"$T/create.err" ||
	fail "ctx create: $(cat "$T/create.err")"
init=$(sed -n 's/^init=//p' "$VXCR_RUNDIR/$XID.ctx")
[ -n "$init" ] || fail "no init in the context's record"
nsenter --net="/proc/$init/ns/net" ip route add default via "$CB" || fail "default route in the context"
for ((i = 0; i < 100; i++)); do # the server listens
	nsenter --net="/proc/$init/ns/net" ss -Hltn "sport = :$SPORT" 2>/dev/null | grep -q . && break
	sleep 0.1
done
( nsx "$NSC" python3 -S "$TCPT" client "$CA" "$SPORT" "$T/client.out" "$CLIENT" \
	</dev/null >/dev/null 2>"$T/client.err" & echo $! >"$T/client.pid" )
CPID=$(cat "$T/client.pid")
vx_track "$CPID"
vx_wait_line "$T/client.out" '^10 ' 20 || fail "the client got no answers: $(cat "$T/client.err")"
spid=$(awk 'NR == 2 {print $4}' "$T/client.out")

SERVE_PIDNS= SERVE_ENV="VXCR_RUNDIR=$RUN_B VXCR_CGROUP=$CG_B" serve_start
MIG_ENV="VXCR_RUNDIR=$VXCR_RUNDIR" nsx "$NSA" env VXCR_RUNDIR="$VXCR_RUNDIR" "$VXCR" migrate \
	--keys "$T/a" --timeout 10 --stats --ctx "$XID" "$DST_IP:$PORT" >"$T/mig.out" 2>"$T/mig.err" ||
	fail "vxcr migrate --ctx exited $?: $(tail -n 3 "$T/mig.err")"
ip -n "$NSC" route replace "$CA/32" via "10.85.$N.1"
serve_wait
[ "$SERVE_RC" = 1 ] || fail "vxcr serve did not report the context: $(cat "$T/serve.err")"
[ -e "$VXCR_RUNDIR/$XID.ctx" ] && fail "context $XID still recorded on A"
[ -e "$RUN_B/$XID.ctx" ] || fail "context $XID not recorded on B"
grep -q "^cgroup=.*/$CG_B/$XID\$" "$RUN_B/$XID.ctx" || fail "B's context is not in B's cgroup folder"
vx_alive "$CPID" || fail "the client died: $(tail -n 3 "$T/client.out")"
before=$(wc -l <"$T/client.out")
vx_wait_line "$T/client.out" "^$((before + 19)) " 20 || fail "the client got no answers after the move: $(tail -n 2 "$T/client.out")"
grep -q EOF "$T/client.out" && fail "the client saw its connection end"
awk -v p="$spid" 'NR > 1 { if ($4 != p || $1 != NR - 1 || $2 != NR - 1 || $3 != $1 * ($1 + 1) / 2) bad = 1 }
	END { exit bad }' "$T/client.out" || fail "answers out of order, a total wrong or another server"
frozen=$(json_field "$T/mig.err" frozen_ms)
kill "$CPID"
pass "context $XID moved A->B with its address and connection (frozen $frozen ms, $(wc -l <"$T/client.out") answers in order)"
