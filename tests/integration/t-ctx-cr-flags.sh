#!/bin/bash
# Whole-context checkpoint/restart keeps every flag in force.  One context
# with PERSISTENT, VIRT_UPTIME, HIDE_NETIF, INFO_NPROC (--nproc 12), a
# hostname, ccaps SYSLOG,RAW_ICMP and bcaps without NET_RAW/SYS_TIME runs a
# counting shell loop (which on request also tries sethostname, refused by
# the ccaps filter); it is given INFO_PRIVATE and paused (SCHED_PAUSE).
#   - vxdump --ctx --leave-running: still paused, same init, counter still;
#   - vxdump --ctx: context gone; vxrestore: same flags, caps, bcaps, uname,
#     cgroup frozen, counter still for 0.5 s, exec refused (INFO_PRIVATE);
#   - --clear SCHED_PAUSE: the loop counts on from its old value, its
#     bounding set lacks NET_RAW/SYS_TIME, its sethostname is still refused;
#   - --clear INFO_PRIVATE, then from inside: /proc/uptime goes on from the
#     value before the dump (not the host's), an own network namespace with
#     only lo, up (SIOCGIFFLAGS: /sys inside is the host's sysfs), fork stops
#     with EAGAIN at the limit, every task in the v1 pids group, pids.max 12;
#   - PERSISTENT: with its loop killed the restored init stays; cleared, the
#     context ends and wait reports the loop's 137.
. "$(dirname "$0")/ctx-lib.sh"
command -v python3 >/dev/null || skip "needs python3"
require_cr
CG=""

count() { cat "$T/count" 2>/dev/null; }
flags() { "$VXCR" ctx flags "$XID"; }
has_flag() { flags | tr , '\n' | grep -qx "$1"; }
# Host pid of the context's (only) task named $1, from its v2 group.
task_of()
{
	local p
	for p in $(cat "$CG/cgroup.procs" 2>/dev/null); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$1" ] && { echo "$p"; return 0; }
	done
	return 1
}
frozen() { grep -qx 'frozen 1' "$CG/cgroup.events"; }
# Fails unless the counter stays the same for 0.5 s.
expect_still()
{
	local c0
	c0=$(count)
	sleep 0.5
	[ "$(count)" = "$c0" ] || fail "$*: counter moved from '$c0' to '$(count)'"
}
# The loop tries sethostname; its exit status (non-zero: refused).
try_hostname()
{
	rm -f "$T/try.rc"
	touch "$T/try"
	vx_wait_line "$T/try.rc" '^[0-9]+$' 5 || fail "the loop did not try sethostname"
	cat "$T/try.rc"
}
uptime_inside() { "$VXCR" ctx exec "$XID" -- cat /proc/uptime | cut -d' ' -f1; }
# Snapshot of what the restore must give back.
settings() { flags; "$VXCR" ctx caps "$XID"; "$VXCR" ctx bcaps "$XID"; "$VXCR" ctx uname "$XID"; }

LOOP="i=0; while :; do i=\$((i+1)); echo \$i >$T/count;
	if [ -e $T/try ]; then rm -f $T/try; hostname hacked 2>/dev/null; echo \$? >$T/try.rc; fi;
	sleep 0.05; done"
"$VXCR" ctx create "$XID" --flags PERSISTENT,VIRT_UPTIME,HIDE_NETIF,INFO_NPROC --nproc 12 \
	--hostname crflags --ccaps SYSLOG,RAW_ICMP --bcaps '~NET_RAW,~SYS_TIME' -- bash -c "$LOOP" \
	</dev/null >"$T/main.out" 2>&1 || fail "ctx create: $(cat "$T/main.out")"
CG=$(sed -n 's/^cgroup=//p' "$VXCR_RUNDIR/$XID.ctx")
vx_wait_line "$T/count" '^[3-9]|^[0-9]{2,}' 10 || fail "the loop does not count"
[ "$(try_hostname)" != 0 ] || fail "sethostname allowed before the dump (no SET_UTSNAME)"
U0=$(uptime_inside) && [ -n "$U0" ] || fail "cannot read /proc/uptime inside"
W0=$(date +%s.%N)
"$VXCR" ctx flags "$XID" --set INFO_PRIVATE,SCHED_PAUSE >/dev/null || fail "cannot pause"
frozen || fail "SCHED_PAUSE: $CG not frozen"
expect_still "paused before the dump"
BASH_NS=$(awk '/^NSpid:/ {print $NF}' "/proc/$(task_of bash)/status")
settings >"$T/settings.before"
INIT0=$(sed -n 's/^init=//p' "$VXCR_RUNDIR/$XID.ctx")
START0=$(vx_starttime "$INIT0")
log "context $XID: init $INIT0, loop pid $BASH_NS inside, counter $(count), uptime inside $U0"

# --leave-running of a paused context: paused, same init, still
"$VXDUMP" --ctx "$XID" --leave-running -o "$T/img.live" >"$T/dump.out" 2>"$T/dump.err" ||
	fail "vxdump --ctx --leave-running: $(head -n 3 "$T/dump.err")"
[ "$(sed -n 's/^init=//p' "$VXCR_RUNDIR/$XID.ctx")" = "$INIT0" ] && vx_alive "$INIT0" &&
	[ "$(vx_starttime "$INIT0")" = "$START0" ] || fail "--leave-running: init $INIT0 not the same"
has_flag SCHED_PAUSE || fail "--leave-running: flags are $(flags)"
frozen || fail "--leave-running: $CG not frozen again"
expect_still "paused after --leave-running"

# dump (kills), restore
V=$(count)
"$VXDUMP" --ctx "$XID" -o "$T/img" >"$T/dump.out" 2>"$T/dump.err" ||
	fail "vxdump --ctx: $(head -n 3 "$T/dump.err")"
[ -e "$VXCR_RUNDIR/$XID.ctx" ] && fail "record still there after vxdump --ctx"
vx_wait_gone "$INIT0" 5 || fail "init $INIT0 still there after vxdump --ctx"
t0=$(date +%s%N)
"$VXRESTORE" "$T/img" >"$T/restore.out" 2>"$T/restore.err" ||
	fail "vxrestore exited $?: $(head -n 3 "$T/restore.err")"
log "vxrestore returned in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
INIT1=$(sed -n 's/^init=//p' "$VXCR_RUNDIR/$XID.ctx" 2>/dev/null)
[ -n "$INIT1" ] && vx_alive "$INIT1" || fail "no live record after vxrestore"
settings >"$T/settings.after"
cmp -s "$T/settings.before" "$T/settings.after" || {
	diff "$T/settings.before" "$T/settings.after" | grep '^[<>]'
	fail "flags/caps/bcaps/uname differ after the restore"
}
for f in SCHED_PAUSE PERSISTENT INFO_PRIVATE VIRT_UPTIME HIDE_NETIF INFO_NPROC; do
	has_flag "$f" || fail "$f lost: flags are $(flags)"
done
frozen || fail "SCHED_PAUSE: $CG not frozen after the restore"
expect_still "paused after the restore"
"$VXCR" ctx exec "$XID" -- true 2>"$T/priv.err" && fail "exec into INFO_PRIVATE allowed after the restore"
grep -q INFO_PRIVATE "$T/priv.err" || fail "refusal does not name INFO_PRIVATE: $(cat "$T/priv.err")"
LOOPPID=$(task_of bash) || fail "no bash in $CG after the restore"
[ "$(awk '/^NSpid:/ {print $NF}' "/proc/$LOOPPID/status")" = "$BASH_NS" ] ||
	fail "the loop is not pid $BASH_NS inside any more"

# unpaused: counts on from where it stood
"$VXCR" ctx flags "$XID" --clear SCHED_PAUSE >/dev/null || fail "cannot clear SCHED_PAUSE"
has_flag SCHED_PAUSE && fail "SCHED_PAUSE still reported after --clear"
for ((i = 0; i < 100; i++)); do
	c=$(count)
	[ -z "$c" ] || [ "$c" -ge "$V" ] || fail "counter restarted: $c after $V"
	[ -n "$c" ] && [ "$c" -ge $((V + 5)) ] && break
	sleep 0.05
done
[ "$i" -lt 100 ] || fail "counter does not count on after --clear SCHED_PAUSE (at '$(count)', was $V)"
BND=$(awk '/^CapBnd:/ {print $2}' "/proc/$LOOPPID/status")
(( (0x$BND >> 13 & 1) == 0 && (0x$BND >> 25 & 1) == 0 )) ||
	fail "bcaps: restored loop has CapBnd $BND (NET_RAW/SYS_TIME kept)"
[ "$(try_hostname)" != 0 ] || fail "ccaps: restored loop may sethostname (filter lost)"
"$VXCR" ctx uname "$XID" | grep -qx NODENAME=crflags || fail "nodename changed"

# from inside
"$VXCR" ctx flags "$XID" --clear INFO_PRIVATE >/dev/null || fail "cannot clear INFO_PRIVATE"
U1=$(uptime_inside) && [ -n "$U1" ] || fail "cannot read /proc/uptime inside after the restore"
W1=$(date +%s.%N)
HOSTUP=$(cut -d' ' -f1 /proc/uptime)
log "uptime inside: $U0 before the dump, $U1 after the restore (host $HOSTUP)"
awk -v u0="$U0" -v u1="$U1" -v w0="$W0" -v w1="$W1" -v h="$HOSTUP" \
	'BEGIN { exit !(u1 >= u0 && u1 <= u0 + (w1 - w0) + 1 && (h < 120 || u1 + 60 < h)) }' ||
	fail "VIRT_UPTIME: /proc/uptime inside is $U1 after $U0 (host $HOSTUP)"
"$VXCR" ctx exec "$XID" -- python3 -c '
import fcntl, os, socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
req = fcntl.ioctl(s, 0x8913, struct.pack("16sH22x", b"lo", 0))	# SIOCGIFFLAGS
print(os.readlink("/proc/self/ns/net"), ",".join(n for _, n in socket.if_nameindex()),
      struct.unpack("16sH22x", req)[1])
' >"$T/net.out" 2>"$T/net.err" || fail "python inside: $(cat "$T/net.err")"
read -r NETNS IFS_IN LOFLAGS <"$T/net.out"
[ "$NETNS" != "$(readlink /proc/self/ns/net)" ] || fail "HIDE_NETIF: the host's network namespace inside"
[ "$IFS_IN" = lo ] || fail "HIDE_NETIF: interfaces inside: $IFS_IN"
(( LOFLAGS & 1 )) || fail "HIDE_NETIF: lo is down inside (flags $LOFLAGS)"

PCG=$(sed -n 's/^pids_cgroup=//p' "$VXCR_RUNDIR/$XID.ctx")
[ -z "$PCG" ] && PCG=$CG	# pids in v2
[ "$(cat "$PCG/pids.max")" = 12 ] || fail "INFO_NPROC: $PCG/pids.max is $(cat "$PCG/pids.max")"
for p in $(cat "$CG/cgroup.procs"); do
	# (a task of the loop may exit between the two reads)
	grep -qx "$p" "$PCG/cgroup.procs" || [ ! -e "/proc/$p" ] ||
		fail "INFO_NPROC: pid $p ($(cat /proc/$p/comm 2>/dev/null)) not in $PCG"
done
fork_inside "$XID"
read -r N ERR <"$T/fork.out"
# init, loop (+ its sleep), the entered vxcr and python hold 4-5 of the 12
[ "$ERR" = EAGAIN ] && [ "$N" -ge 1 ] && [ "$N" -le 8 ] ||
	fail "INFO_NPROC: forked $N children, then '$ERR' (limit 12)"

# PERSISTENT: the restored init stays without its loop, until cleared
kill -9 "$LOOPPID"
sleep 1
"$VXCR" ctx list | grep -q "^$XID " || fail "PERSISTENT: context ended with its loop"
"$VXCR" ctx stat "$XID" | grep -qx 'tasks: 1' || fail "PERSISTENT: tasks other than its init"
"$VXCR" ctx flags "$XID" --clear PERSISTENT >/dev/null || fail "cannot clear PERSISTENT"
CODE=$(timeout 10 "$VXCR" ctx wait "$XID")
[ "$CODE" = 137 ] || fail "wait printed '$CODE', expected 137 (loop killed)"
pass "paused, --leave-running, restored: flags, caps, uname, pause, counter, uptime, netns, nproc, persistent"
