#!/bin/bash
# Dump and restore time of a process in an IPC namespace of its own
# (tests/progs/ipcns: two SysV queues, a semaphore set, two segments, a
# POSIX queue) with 0 and 1000 more messages in a SysV queue and 1000 in
# a POSIX queue (64 bytes each).  Prints, per size, the medians of RUNS
# runs: the whole vxdump and vxrestore (wall clock, to the restored
# process running), and the namespace part of each as vxcr logs it (read
# / built); the last restored process checks everything and must PASS.
# usage: bench/ipcns.sh [BUILD] [RUNS]
# With CRIU=path/to/criu, the same process is dumped and restored by CRIU
# too, and what its restored copy finds is printed.
BUILD=${1:-build}
RUNS=${2:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$(cd "$ROOT/$BUILD" && pwd) || exit 1
export LD_LIBRARY_PATH=$B/lib-test:$B/lib
T=$(mktemp -d /tmp/vxcr-bench-ipcns.XXXXXX)
trap 'rm -rf "$T"' EXIT

median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
ms() { echo $(( ($2 - $1) / 1000000 )); }

# start N: the program with N bulk messages under a subreaper; sets pid
start()
{
	rm -f "$T/out"
	"$B/tests/progs/subreaper" -t 60 "$B/tests/progs/ipcns" "$T/out" bulk "$1" \
		</dev/null >/dev/null 2>"$T/prog.err" &
	sr=$!
	for ((i = 0; i < 200; i++)); do
		grep -q '^ready$' "$T/out" 2>/dev/null && break
		sleep 0.05
	done
	pid=$(pgrep -P "$sr" -x ipcns)
	[ -n "$pid" ] || { echo "the program did not start: $(cat "$T/prog.err")"; exit 1; }
}

# verdict PID: its PASS or FAIL line after "go"
verdict()
{
	for ((i = 0; i < 100; i++)); do
		kill -USR1 "$1" 2>/dev/null
		grep -Eq '^(PASS|FAIL)' "$T/out" && break
		sleep 0.1
	done
	grep -E '^(PASS|FAIL)' "$T/out" | tail -n 1
}

criu_run()
{
	start "$1"
	rm -rf "$T/criu"; mkdir "$T/criu"
	t0=$(date +%s%N)
	"$CRIU" dump -t "$pid" -D "$T/criu" --shell-job >"$T/criu-dump.out" 2>&1 ||
		{ echo "$1 messages: CRIU dump failed: $(grep -i error "$T/criu-dump.out" | head -n 2)"; return; }
	t1=$(date +%s%N)
	wait "$sr" 2>/dev/null
	"$CRIU" restore -D "$T/criu" --shell-job -d \
		--pidfile "$T/cpid" >"$T/criu.out" 2>&1 ||
		{ echo "$1 messages: CRIU restore failed: $(grep -i error "$T/criu.out" | head -n 2)"; return; }
	t2=$(date +%s%N)
	printf "%5s messages: CRIU dump %4s ms, restore %4s ms, image %s bytes; restored: %s\n" "$1" \
		"$(ms "$t0" "$t1")" "$(ms "$t1" "$t2")" "$(du -sb "$T/criu" | cut -f1)" \
		"$(verdict "$(cat "$T/cpid")")"
	kill -9 "$(cat "$T/cpid")" 2>/dev/null
}

for n in 0 1000; do
	: >"$T/d"; : >"$T/r"; : >"$T/dn"; : >"$T/rn"
	for ((run = 0; run < RUNS; run++)); do
		start "$n"
		t0=$(date +%s%N)
		"$B/bin/vxdump" -v -o "$T/img" "$pid" 2>"$T/dump.log" || { cat "$T/dump.log"; exit 1; }
		t1=$(date +%s%N)
		wait "$sr" 2>/dev/null
		"$B/bin/vxrestore" -v -d --pidfile "$T/pid" "$T/img" >/dev/null 2>"$T/restore.log" ||
			{ tail -n 3 "$T/restore.log"; exit 1; }
		t2=$(date +%s%N)
		ms "$t0" "$t1" >>"$T/d"
		ms "$t1" "$t2" >>"$T/r"
		sed -n 's/.*IPC namespace of pid [0-9]* read in \([0-9.]*\) ms.*/\1/p' "$T/dump.log" >>"$T/dn"
		sed -n 's/.*IPC namespace built in \([0-9.]*\) ms.*/\1/p' "$T/restore.log" >>"$T/rn"
		if ((run == RUNS - 1)); then
			v=$(verdict "$(cat "$T/pid")")
		fi
		kill -9 "$(cat "$T/pid")" 2>/dev/null
	done
	printf "%5s messages: dump %4s ms (namespace %6s ms), restore %4s ms (namespace %6s ms), image %s bytes; restored: %s\n" \
		"$n" "$(median <"$T/d")" "$(median <"$T/dn")" "$(median <"$T/r")" "$(median <"$T/rn")" \
		"$(stat -c %s "$T/img")" "$v"
	[ -n "${CRIU:-}" ] && criu_run "$n"
done
