#!/bin/bash
# vxrestore --pidns: the tree of tests/progs/tree-basic.c is dumped with
# --leave-running and the original kept (stopped) so every recorded pid is
# busy here.  A plain restore must refuse, naming the pid and --pidns; with
# --pidns the tree comes back inside a new PID namespace where each process
# has its recorded pid (last NSpid field), the same parents there, and the
# members' own checks (getpid/getppid as recorded, memory, counters) pass.
# Killing the namespace's init ends the restored tree.
. "$(dirname "$0")/lib.sh"
require_cr
start_prog tree-basic
ORIG=$PID
guard_allow 'ns.pid*' "restored into a new PID namespace on purpose (--pidns)"
guard_allow 'ns.mnt' "--pidns also gives the tree a mount namespace of its own (its /proc)"
guard_allow 'mount./proc.1' "--pidns mounts a /proc of the new PID namespace over /proc"
guard_allow 'propagation.*' "--pidns makes the new mount namespace a slave of the host's (shared:N becomes master:N) so its /proc never propagates back"
vx_tree_snapshot "$ORIG" "$T/tree.before"
vx_track_tree "$ORIG"
dump "$ORIG" "$T/img" --leave-running
for p in $(awk '$1 == "pid" {print $2}' "$T/tree.before"); do
	kill -STOP "$p"
done
"$VXRESTORE" -d "$T/img" >"$T/plain.out" 2>"$T/plain.err" &&
	fail "plain restore succeeded although pid $ORIG is busy"
[ "$(wc -l <"$T/plain.err")" = 1 ] || fail "not a one-line error: $(cat "$T/plain.err")"
grep -q "pid [0-9]* is in use.*--pidns" "$T/plain.err" ||
	fail "unexpected error: $(cat "$T/plain.err")"
sum=$(sha256sum <"$T/img")
: >"$OUT"	# the original counted on after the dump: start afresh
"$VXRESTORE" --pidns -d "$T/img" >"$T/restore.out" 2>"$T/restore.err" ||
	fail "vxrestore --pidns exited $?: $(head -n 3 "$T/restore.err")"
R=$(tail -n 1 "$T/restore.out")
[ -d "/proc/$R" ] || fail "restored root $R not found"
INIT=$(awk '$1 == "PPid:" {print $2}' "/proc/$R/status")
vx_track "$INIT"
vx_track_tree "$R"
[ "$R" != "$ORIG" ] || fail "restored root has the original's host pid"
# pid and ppid inside the namespace, for every process of the new tree
nspid() { awk '$1 == "NSpid:" {print $NF}' "/proc/$1/status"; }
for p in $(vx_tree_pids "$R"); do
	pp=$(awk '$1 == "PPid:" {print $2}' "/proc/$p/status")
	if [ "$p" = "$R" ]; then
		echo "pid $(nspid "$p") ppid -"
	else
		echo "pid $(nspid "$p") ppid $(nspid "$pp")"
	fi
done | sort >"$T/ns.now"
awk '$1 == "pid" {print "pid", $2, "ppid", $4}' "$T/tree.before" | sort >"$T/ns.want"
cmp -s "$T/ns.want" "$T/ns.now" ||
	fail "pids in the namespace differ: $(diff "$T/ns.want" "$T/ns.now" | grep '^[<>]' | head -n 6 | tr '\n' ' ')"
grep -q "^NSpid:.*[[:space:]]1$" "/proc/$INIT/status" || fail "init $INIT is not pid 1 of the namespace"
vx_guard_check_pidns "$R"
PID=$R
for ((i = 0; i < 200; i++)); do	# the root's check wants two count lines
	[ "$(grep -c '^count' "$OUT")" -ge 2 ] && break
	sleep 0.05
done
go_and_check
kill -KILL "$INIT"
vx_wait_gone "$R" 10 || fail "restored root $R survived its namespace's init"
[ "$(sha256sum <"$T/img")" = "$sum" ] || fail "vxrestore modified the image"
for p in $(awk '$1 == "pid" {print $2}' "$T/tree.before"); do
	kill -CONT "$p" 2>/dev/null
done
pass "$(vx_tree_summary "$T/tree.before") restored in a new PID namespace"
