#!/bin/bash
# Dump and restore time of a tree (one sleep) in a network namespace of
# 1, 10 and 100 links (veth pairs inside, each end with an address; one
# end of each pair with a route; "1" is a single bridge).  Prints, per
# size, the medians of RUNS runs: the whole vxdump and vxrestore (wall
# clock, to the restored process running), and the namespace part of each
# as vxcr logs it (read / built).  usage: bench/netns.sh [BUILD] [RUNS]
# With CRIU=path/to/criu, the same trees are dumped and restored by CRIU
# too (--network-lock nftables; its dump of a netns runs ip and nft).
# Needs root; every namespace is the bench's own and dies with its tree.
BUILD=${1:-build}
RUNS=${2:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$(cd "$ROOT/$BUILD" && pwd) || exit 1
export LD_LIBRARY_PATH=$B/lib-test:$B/lib
T=$(mktemp -d /tmp/vxcr-bench-netns.XXXXXX)
trap 'rm -rf "$T"' EXIT

setup()
{
	local n=$1 i
	echo "ip link set lo up"
	if [ "$n" = 1 ]; then
		echo "ip link add br0 type bridge; ip addr add 10.0.0.1/24 dev br0; ip link set br0 up"
		return
	fi
	for ((i = 0; i < n / 2; i++)); do
		echo "ip link add a$i type veth peer name b$i"
		echo "ip addr add 10.$((i / 200)).$((i % 200)).1/24 dev a$i"
		echo "ip addr add 10.$((100 + i / 200)).$((i % 200)).1/24 dev b$i"
		echo "ip link set a$i up; ip link set b$i up"
		echo "ip route add 172.$((16 + i / 200)).$((i % 200)).0/24 via 10.$((i / 200)).$((i % 200)).2"
	done
}

median()
{
	sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}

ms() { echo $(( ($2 - $1) / 1000000 )); }

# start_tree: the tree of $T/setup.sh under a subreaper; sets sr and pid
start_tree()
{
	"$B/tests/progs/subreaper" -t 60 unshare --net bash -e "$T/setup.sh" </dev/null >/dev/null 2>&1 &
	sr=$!
	for ((i = 0; i < 200; i++)); do
		pid=$(pgrep -P "$sr" -x sleep || true)
		[ -n "$pid" ] && return 0
		sleep 0.05
	done
	echo "tree did not start"
	exit 1
}

# criu_runs N: CRIU's dump and restore of the tree, medians of RUNS
criu_runs()
{
	local run t0 t1 t2
	: >"$T/cd"; : >"$T/cr"
	for ((run = 0; run < RUNS; run++)); do
		start_tree
		rm -rf "$T/criu"; mkdir "$T/criu"
		t0=$(date +%s%N)
		"$CRIU" dump -t "$pid" -D "$T/criu" --shell-job --network-lock nftables >/dev/null 2>&1 ||
			{ echo "criu dump of $1 links failed"; return; }
		t1=$(date +%s%N)
		wait "$sr" 2>/dev/null
		"$B/tests/progs/subreaper" -t 5 "$CRIU" restore -D "$T/criu" --shell-job --network-lock nftables -d \
			--pidfile "$T/cpid" >"$T/criu.out" 2>&1 ||
			{ echo "criu restore of $1 links failed: $(grep -i error "$T/criu.out" | grep -v "rlimit\|already assigned" | head -n 3)"; return; }
		t2=$(date +%s%N)
		ms "$t0" "$t1" >>"$T/cd"
		ms "$t1" "$t2" >>"$T/cr"
		sleep 0.3
	done
	printf "%4s links: CRIU dump %4s ms, restore %4s ms, image %s bytes\n" "$1" \
		"$(median <"$T/cd")" "$(median <"$T/cr")" "$(du -sb "$T/criu" | cut -f1)"
}

for n in 1 10 100; do
	setup "$n" >"$T/setup.sh"
	echo "exec sleep 1000" >>"$T/setup.sh"
	: >"$T/d" ; : >"$T/r" ; : >"$T/dn" ; : >"$T/rn"
	for ((run = 0; run < RUNS; run++)); do
		start_tree
		t0=$(date +%s%N)
		"$B/bin/vxdump" -v -o "$T/img" "$pid" 2>"$T/dump.log" || { cat "$T/dump.log"; exit 1; }
		t1=$(date +%s%N)
		wait "$sr" 2>/dev/null
		"$B/bin/vxrestore" -v -d --pidfile "$T/pid" "$T/img" >/dev/null 2>"$T/restore.log" ||
			{ tail -n 3 "$T/restore.log"; exit 1; }
		t2=$(date +%s%N)
		kill -9 "$(cat "$T/pid")" 2>/dev/null
		ms "$t0" "$t1" >>"$T/d"
		ms "$t1" "$t2" >>"$T/r"
		sed -n 's/.*network namespace of pid [0-9]* read in \([0-9.]*\) ms.*/\1/p' "$T/dump.log" >>"$T/dn"
		sed -n 's/.*network namespace built in \([0-9.]*\) ms.*/\1/p' "$T/restore.log" >>"$T/rn"
		[ -n "${VERBOSE:-}" ] && grep -h "read:\|built:" "$T/dump.log" "$T/restore.log"
		sleep 0.3 # the namespace is torn down in the background
	done
	printf "%4s links: dump %4s ms (namespace %6s ms), restore %4s ms (namespace %6s ms), image %s bytes\n" \
		"$n" "$(median <"$T/d")" "$(median <"$T/dn")" "$(median <"$T/r")" "$(median <"$T/rn")" \
		"$(stat -c %s "$T/img")"
	[ -n "${CRIU:-}" ] && criu_runs "$n"
done
