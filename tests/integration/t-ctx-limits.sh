#!/bin/bash
# A context's limits (ctx create --limit): pids.max (INFO_NPROC), memory.max
# and cpu.max go into the context's groups (v2, else the v1 memory and cpu
# hierarchies found from mountinfo: <mount>/vxcr/XID), ctx info shows them;
# a bad --limit is refused in one line and leaves no group.  The context
# (a bash loop) is dumped and restored: the new context has the same limits
# (info, the group files) and they hold for its restored tasks: the loop,
# told to, starts a python that forks until EAGAIN below pids.max and one
# that allocates past memory.max and is OOM-killed.  The groups go with
# the context.  A hostile limits text in the image is refused in one line.
. "$(dirname "$0")/ctx-lib.sh"
command -v python3 >/dev/null || skip "needs python3"
v1dir() { awk -v c="$1" '{ for (i = 7; $i != "-"; i++) ;
	if ($(i+1) == "cgroup" && index("," $(i+3) ",", "," c ",")) { print $5; exit } }' /proc/self/mountinfo; }
MEM1=$(v1dir memory) CPU1=$(v1dir cpu)
[ -n "$MEM1" ] && [ -n "$CPU1" ] || skip "no v1 memory and cpu hierarchies (the v2 path is not tested here)"
vx_case_cleanup()
{
	local d
	for d in "$MEM1/vxcr/$XID" "$CPU1/vxcr/$XID"; do
		[ -n "${d%/vxcr/*}" ] && [ -d "$d" ] || continue
		for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		sleep 0.2
		rmdir "$d" 2>/dev/null
	done
}
NPROC=12 MEM=$((64 << 20))

"$VXCR" ctx create "$XID" --limit memory.max=12x -- true 2>"$T/bad.err" && fail "a bad --limit accepted"
[ "$(wc -l <"$T/bad.err")" = 1 ] && grep -q "memory.max=12x" "$T/bad.err" ||
	fail "bad --limit: $(cat "$T/bad.err")"
"$VXCR" ctx create "$XID" --limit release_agent=/x -- true 2>"$T/bad.err" && fail "--limit release_agent accepted"
ls -d "$MEM1/vxcr/$XID" "$CPU1/vxcr/$XID" 2>/dev/null && fail "a refused create left a group"

LOOP="while :; do
	if [ -e $T/fork ]; then rm -f $T/fork; python3 $T/fork.py >$T/fork.out 2>&1; fi
	if [ -e $T/eat ]; then rm -f $T/eat; python3 -c 'b = bytearray($((4 * MEM)))' 2>/dev/null; echo \$? >$T/eat.rc; fi
	sleep 0.05; done"
fork_py "$T/fork.py"
"$VXCR" ctx create "$XID" --limit "pids.max=$NPROC,memory.max=$MEM,cpu.max=40000 100000" \
	-- bash -c "$LOOP" </dev/null >"$T/main.out" 2>&1 || fail "ctx create: $(cat "$T/main.out")"
"$VXCR" ctx info "$XID" >"$T/info.before" || fail "ctx info"
grep -q "^limits: .*=$MEM" "$T/info.before" && grep -qx "nproc: $NPROC" "$T/info.before" ||
	fail "ctx info does not show the limits: $(cat "$T/info.before")"
log "$(grep -E '^(limits|nproc):' "$T/info.before" | tr '\n' ' ')"
INIT0=$(awk '$1 == "initpid:" {print $2}' "$T/info.before")

"$VXDUMP" --ctx "$XID" -o "$T/img" >"$T/dump.out" 2>"$T/dump.err" ||
	fail "vxdump --ctx: $(head -n 3 "$T/dump.err")"
vx_wait_gone "$INIT0" 5 || fail "init $INIT0 still there after the dump"
ls -d "$MEM1/vxcr/$XID" "$CPU1/vxcr/$XID" 2>/dev/null && fail "the dumped context's groups stayed"
"$VXCR" img show "$T/img" | grep -q "limits" || fail "the image shows no limits"
EDIT=$VX_BUILD/tests/fuzz/edit-image
for bad in "memory.limit_in_bytes=../x" "cgroup.procs=1" "memory.max=-5" "pids.max=3"; do
	"$EDIT" "$T/img" "$T/bad.img" "CONTEXT[0].limits=$bad" || fail "edit-image"
	expect_refused_by "limits '$bad'" "not a memory, cpu or io limit|its limits are not valid" "$VXRESTORE" "$T/bad.img"
done
t0=$(date +%s%N)
"$VXRESTORE" "$T/img" >"$T/restore.out" 2>"$T/restore.err" ||
	fail "vxrestore: $(head -n 3 "$T/restore.err")"
log "context restored with its limits in $(( ($(date +%s%N) - t0) / 1000000 )) ms (wall)"
"$VXCR" ctx info "$XID" >"$T/info.after" || fail "ctx info after the restore"
diff <(grep -E '^(limits|nproc|flags):' "$T/info.before") \
	<(grep -E '^(limits|nproc|flags):' "$T/info.after") || fail "limits differ after the restore"
LOOPPID=$(for p in $(cat "$MEM1/vxcr/$XID/cgroup.procs"); do
	[ "$(cat /proc/$p/comm)" = bash ] && echo "$p"; done | head -n 1)
[ -n "$LOOPPID" ] || fail "the restored loop is not in $MEM1/vxcr/$XID"
grep -q "cpu:/vxcr/$XID\$" "/proc/$LOOPPID/cgroup" || fail "the loop is not in the cpu group"

touch "$T/fork"
vx_wait_line "$T/fork.out" '^[0-9]+ ' 20 || fail "the loop did not fork: $(cat "$T/fork.out" 2>/dev/null)"
read -r N ERR <"$T/fork.out"
[ "$ERR" = EAGAIN ] && [ "$N" -lt "$NPROC" ] || fail "restored context forked $N ($ERR) under pids.max $NPROC"
touch "$T/eat"
vx_wait_line "$T/eat.rc" '^[0-9]+$' 30 || fail "the loop did not try to allocate"
[ "$(cat "$T/eat.rc")" = 137 ] || fail "allocating $((4 * MEM)) bytes under memory.max $MEM: exit $(cat "$T/eat.rc")"
log "after the restore: $N forks then $ERR; allocation past the limit killed (exit 137)"
"$VXCR" ctx kill "$XID" && "$VXCR" ctx wait "$XID" >/dev/null
for ((i = 0; i < 50; i++)); do
	[ -d "$MEM1/vxcr/$XID" ] || [ -d "$CPU1/vxcr/$XID" ] || break
	sleep 0.1
done
[ "$i" -lt 50 ] || fail "the limit groups stayed after the context ended"
pass
