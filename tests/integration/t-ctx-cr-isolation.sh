#!/bin/bash
# A context's isolation comes back after a checkpoint/restart (issue 14):
# the restored init recreates it from the image's CONTEXT: /proc/sys
# read-only, a cgroup namespace at its own group (/proc/self/cgroup "0::/",
# nothing of the host's groups), the run directory hidden (only its own
# view), ctx info unchanged; for a context on the host's / and one with
# --root (a busybox guest whose stderr is a host file: an outside_root
# fd), whose counter goes on after the restore from where it stopped.
. "$(dirname "$0")/ctx-lib.sh"
G=$T/guest
mkguest "$G" guest
R=$XID H=$((XID + 1))

"$VXCR" ctx create "$R" --root "$G" -- /bin/sh -c \
	'i=0; while :; do i=$((i + 1)); echo $i >/tmp/n.new; mv /tmp/n.new /tmp/n; sleep 0.05; done' \
	>/dev/null 2>"$T/create.err" || fail "create --root: $(cat "$T/create.err")"
"$VXCR" ctx create "$H" -- sleep 600 >/dev/null 2>"$T/create.err" ||
	fail "create: $(cat "$T/create.err")"
vx_wait_line "$G/tmp/n" . 10 || fail "the counter in the guest does not run"

# what a context sees of its isolation (one line per check)
probe()
{
	"$VXCR" ctx exec "$1" -- /bin/sh -c "
		cat /proc/1/root/etc/mine 2>/dev/null || echo shared
		echo x >/proc/sys/kernel/core_pattern 2>/dev/null && echo sysctl-writable || echo sysctl-ro
		grep '^0::' /proc/self/cgroup
		ls /sys/fs/cgroup/unified | grep -c '^vxcr\$'
		ls $VXCR_RUNDIR 2>/dev/null | tr '\n' ' '; echo
		cat /proc/mounts | grep -c ' /proc/sys proc ro'" 2>&1
}
for x in "$R" "$H"; do
	probe "$x" >"$T/probe.$x.before"
	"$VXCR" ctx info "$x" | grep -v '^\(initpid\|supervisor\):' >"$T/info.$x.before"
done
log "before: $(tr '\n' '|' <"$T/probe.$R.before") / $(tr '\n' '|' <"$T/probe.$H.before")"
grep -qx guest "$T/probe.$R.before" && grep -qx sysctl-ro "$T/probe.$R.before" &&
	grep -qx '0::/' "$T/probe.$R.before" && grep -qx shared "$T/probe.$H.before" &&
	grep -qx "$H.ctx self.xid " "$T/probe.$H.before" ||
	fail "isolation before the dump: $(cat "$T/probe.$R.before" "$T/probe.$H.before")"
grep -qx "namespaces: own pid,uts,ipc,mnt,cgroup; shared net,time,user" "$T/info.$R.before" ||
	fail "ctx info namespaces: $(grep namespaces "$T/info.$R.before")"

"$VXDUMP" --ctx "$R" -o "$T/img.$R" 2>"$T/dump.err" || fail "vxdump --ctx $R: $(cat "$T/dump.err")"
N_DUMP=$(cat "$G/tmp/n")
sleep 0.3
[ "$(cat "$G/tmp/n")" = "$N_DUMP" ] || fail "the guest's counter went on after its dump"
"$VXRESTORE" "$T/img.$R" 2>"$T/restore.err" || fail "vxrestore $R: $(cat "$T/restore.err")"
for i in $(seq 200); do [ "$(cat "$G/tmp/n")" -gt $((N_DUMP + 2)) ] && break; sleep 0.05; done
[ "$(cat "$G/tmp/n")" -gt $((N_DUMP + 2)) ] || fail "the guest's counter did not go on from $N_DUMP"
"$VXDUMP" --ctx "$H" -o "$T/img.$H" 2>"$T/dump.err" || fail "vxdump --ctx $H: $(cat "$T/dump.err")"
"$VXRESTORE" "$T/img.$H" 2>"$T/restore.err" || fail "vxrestore $H: $(cat "$T/restore.err")"
for x in "$R" "$H"; do
	probe "$x" >"$T/probe.$x.after"
	diff "$T/probe.$x.before" "$T/probe.$x.after" >"$T/probe.diff" ||
		fail "context $x: isolation changed by the restore: $(cat "$T/probe.diff")"
	"$VXCR" ctx info "$x" | grep -v '^\(initpid\|supervisor\):' >"$T/info.$x.after"
	diff "$T/info.$x.before" "$T/info.$x.after" >"$T/info.diff" ||
		fail "context $x: ctx info changed: $(cat "$T/info.diff")"
	"$VXCR" ctx kill "$x" && "$VXCR" ctx wait "$x" >/dev/null
done
pass "masks, cgroup namespace, hidden run directory back after restore, with and without --root"
