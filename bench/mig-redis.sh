#!/bin/bash
# Live migration of a context running redis-server under load: host A,
# host B and the clients' host C are network namespaces made here (as
# t-mig-ctx); 4 clients in C send INCR one request at a time through the
# move; C's route follows the context to B once vxcr migrate returns.
# Prints the frozen time, the clients' requests answered and lost (must
# be 0), the longest wait for one answer, and whether every counter
# matches the answers (no request lost or applied twice).  Median of
# REPS runs (default 3).  usage: bench/mig-redis.sh BUILD [REPS]
set -u
B=$(cd "${1:-build}" && pwd); REPS=${2:-3}
V=$B/bin/vxcr; ROOT=$(cd "$(dirname "$0")/.." && pwd)
command -v redis-server >/dev/null || { echo "mig-redis: no redis-server"; exit 0; }
T=$(mktemp -d /tmp/vxcr-bredis.XXXXXX)
N=$(( $$ % 200 + 20 ))
A=vxbr-a-$$ Bn=vxbr-b-$$ C=vxbr-c-$$ XID=$(( 3000 + $$ % 20000 ))
CA=10.91.$N.2 CB=10.91.$N.1 CL=10.96.$N.1
export VXCR_RUNDIR=$T/run-a
cleanup()
{
	for f in "$T"/run-*/*.ctx; do
		[ -f "$f" ] || continue
		for p in $(sed -n 's/^\(init\|super\)=//p' "$f"); do kill -9 "$p" 2>/dev/null; done
		for g in $(sed -n 's/^cgroup=//p' "$f"); do echo 1 >"$g/cgroup.kill" 2>/dev/null; sleep 0.2; rmdir "$g" 2>/dev/null; done
	done
	[ -n "${LPID:-}" ] && kill -9 "$LPID" 2>/dev/null
	ip netns del "$A" 2>/dev/null; ip netns del "$Bn" 2>/dev/null; ip netns del "$C" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
nsx() { local ns=$1; shift; nsenter --net="/run/netns/$ns" "$@"; }
for h in a b; do mkdir -m 700 -p "$T/$h/trusted"; "$V" key new "$T/$h/host" >/dev/null; done
cp "$T/b/host.pub" "$T/a/trusted/"; cp "$T/a/host.pub" "$T/b/trusted/"
for ns in "$A" "$Bn" "$C"; do
	ip netns add "$ns"; ip -n "$ns" link set lo up
	nsx "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
done
link() { ip -n "$1" link add "$5a" type veth peer name "$5b" netns "$3"; ip -n "$1" addr add "$2/24" dev "$5a"
	ip -n "$3" addr add "$4/24" dev "$5b"; ip -n "$1" link set "$5a" up; ip -n "$3" link set "$5b" up; }
link "$A" 10.92.$N.1 "$Bn" 10.92.$N.2 vxbrab$N
link "$A" 10.93.$N.1 "$C" 10.93.$N.2 vxbrac$N
link "$Bn" 10.94.$N.1 "$C" 10.94.$N.2 vxbrbc$N
ip -n "$C" addr add "$CL/32" dev lo
ip -n "$A" route add "$CL/32" via 10.93.$N.2
ip -n "$Bn" route add "$CL/32" via 10.94.$N.2
echo "redis-server in a context (--net veth), 4 clients in a third namespace, $REPS runs"
printf "%-4s %9s %9s %9s %6s %9s %s\n" run "frozen ms" "total ms" answered lost "stall ms" consistent
for ((r = 1; r <= REPS; r++)); do
	ip -n "$C" route replace "$CA/32" via 10.93.$N.1
	nsx "$A" "$V" ctx create "$XID" --flags PERSISTENT --net "veth:vxbr$N,addr=$CA/24,host-addr=$CB/24" -- \
		redis-server --port 6379 --bind "$CA" --protected-mode no --save "" --appendonly no --dir "$T" --daemonize no \
		>"$T/create.out" 2>&1 || { echo "ctx create failed: $(cat "$T/create.out")"; exit 1; }
	init=$(sed -n 's/^init=//p' "$VXCR_RUNDIR/$XID.ctx")
	nsenter --net="/proc/$init/ns/net" ip route add default via "$CB"
	for ((i = 0; i < 100; i++)); do
		nsenter --net="/proc/$init/ns/net" ss -Hltn "sport = :6379" | grep -q . && break; sleep 0.1
	done
	nsenter --net="/run/netns/$C" python3 "$ROOT/bench/mig-load.py" "$CA" 6379 4 "$T/load.out" "$CL" & LPID=$!
	sleep 2
	nsx "$Bn" env VXCR_RUNDIR="$T/run-b" VXCR_CGROUP="vxcr-br$$" "$V" serve --once --keys "$T/b" \
		--listen 10.92.$N.2:7411 2>"$T/serve.err" & SPID=$!
	sleep 0.3
	nsx "$A" "$V" migrate --keys "$T/a" --stats --ctx "$XID" 10.92.$N.2:7411 >"$T/mig.out" 2>"$T/mig.err" ||
		{ echo "migrate failed: $(tail -n 2 "$T/mig.err")"; exit 1; }
	ip -n "$C" route replace "$CA/32" via 10.94.$N.1
	wait "$SPID"
	sleep 2
	kill -TERM "$LPID"; wait "$LPID"; LPID=
	st=$(grep '^{' "$T/mig.err")
	fz=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("%.1f %.1f" % (d["frozen_ms"], d["total_ms"]))' "$st")
	read -r _ ans _ lost _ stall _ cons <"$T/load.out"
	printf "%-4s %9s %9s %9s %6s %9s %s\n" "$r" ${fz% *} ${fz#* } "$ans" "$lost" "$stall" "$cons"
	VXCR_RUNDIR=$T/run-b "$V" ctx kill "$XID" >/dev/null 2>&1
	sleep 0.5
	for f in "$T"/run-b/*.ctx; do [ -f "$f" ] && VXCR_RUNDIR=$T/run-b VXCR_CGROUP=vxcr-br$$ "$V" ctx kill "$XID" >/dev/null 2>&1; done
	sleep 0.5
done
