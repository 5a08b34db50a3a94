#!/bin/bash
# cgroup controller settings (record LIMITS) on this host's v1 hierarchies
# (pids, memory, cpu; found from /proc/self/mountinfo): the children of
# tests/progs/cglimits sit in sub-groups with pids.max, a memory limit
# (memory.limit_in_bytes, memsw, soft limit) and cpu quota/period/shares.
# Dumped below P/a, restored below P/b with --manage-cgroups: the groups
# are made with the dumped values (read back here) before the children
# join them, and the limits hold: the child in the pids group cannot fork
# past pids.max, the one in the memory group is OOM-killed when it
# allocates past the limit.  Groups that exist already (P/c) are not
# written: their values stay and the restore warns.  Hostile settings
# (unknown file, a path, a value out of range, a file of another
# hierarchy, a group number out of range) are refused in one line, nothing
# created; a value the kernel does not take is refused naming the file and
# the groups made are removed; so are those of a SIGKILLed restore.
. "$(dirname "$0")/lib.sh"
require_cr

for c in pids memory cpu; do
	m=$(cg_mount $c) && [ -n "$m" ] || skip "no v1 $c hierarchy"
	o=$(cg_own $c)
	[ -n "$o" ] || skip "the v1 $c hierarchy is not its own (shared with another controller)"
	declare "P_$c=$m${o%/}/vxcr-lim.$$"
done
ALL="$P_pids $P_memory $P_cpu"
NPROC=6 LIMIT_MB=48

vx_case_cleanup()
{
	local p d
	for d in $ALL; do echo $$ >"${d%/vxcr-lim.*}/cgroup.procs" 2>/dev/null; done
	for p in $VX_PIDS; do kill -9 "$p" 2>/dev/null; done
	for p in $VX_PIDS; do vx_wait_gone "$p" 5; done
	for d in $ALL; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
		[ -d "$d" ] && echo "# could not remove $d"
	done
}

enter() { local d; for d in $ALL; do echo $$ >"$d/$1/cgroup.procs" || fail "cannot join $d/$1"; done; }

for d in $ALL; do mkdir -p "$d/a" "$d/b" || fail "mkdir $d"; done
mkdir "$P_pids/a/pk" "$P_memory/a/mk" "$P_cpu/a/ck" || fail "mkdir the sub-groups"
echo $NPROC >"$P_pids/a/pk/pids.max" &&
	echo $((LIMIT_MB << 20)) >"$P_memory/a/mk/memory.limit_in_bytes" &&
	echo $((LIMIT_MB << 20)) >"$P_memory/a/mk/memory.memsw.limit_in_bytes" &&
	echo $((LIMIT_MB << 19)) >"$P_memory/a/mk/memory.soft_limit_in_bytes" &&
	echo 50000 >"$P_cpu/a/ck/cpu.cfs_period_us" && echo 20000 >"$P_cpu/a/ck/cpu.cfs_quota_us" &&
	echo 512 >"$P_cpu/a/ck/cpu.shares" || fail "cannot set the limits"
enter a
start_prog cglimits $NPROC $LIMIT_MB
read -r _ KA KB < <(grep '^kids ' "$OUT")
echo "$KA" >"$P_pids/a/pk/cgroup.procs" && echo "$KB" >"$P_memory/a/mk/cgroup.procs" &&
	echo "$KB" >"$P_cpu/a/ck/cgroup.procs" || fail "cannot move the children"
vx_track_tree "$PID"
files="pids/pk/pids.max memory/mk/memory.limit_in_bytes memory/mk/memory.memsw.limit_in_bytes
	memory/mk/memory.soft_limit_in_bytes cpu/ck/cpu.cfs_period_us cpu/ck/cpu.cfs_quota_us
	cpu/ck/cpu.shares"
value() { local v=P_${1%%/*} r=${1#*/}; cat "${!v}/$2/${r%%/*}/${r#*/}"; }
for f in $files; do echo "$f $(value "$f" a)"; done >"$T/values.a"
dump "$PID" "$T/img"
"$VXCR" img show "$T/img" >"$T/show" 2>&1 || fail "vxcr img show failed"
grep -q 'memory.limit_in_bytes' "$T/show" || fail "image shows no memory limit: $(grep -A3 LIMITS "$T/show" | head)"
sum=$(sha256sum <"$T/img")

enter b
guard_allow 'cgroup.*' "restored below P/b by design (dumped below P/a); the groups are checked here"
EDIT=$VX_BUILD/tests/fuzz/edit-image
[ -x "$EDIT" ] || fail "$EDIT not built"
s=0 # the first setting: pids.max of the pids group
for e in "file=release_agent:not a known file" "file=../../pids.max:not a known file" \
	"file=memory.limit_in_bytes:not a known file" "value=-1:value is not valid" \
	"value=4194305:value is not valid" "value= 5:value is not valid" "value=max\n:value is not valid" \
	"dir=0:not a known file" "dir=99:not a known file"; do
	"$EDIT" "$T/img" "$T/bad.img" "LIMITS[0].settings[$s].${e%%:*}" || fail "edit-image ${e%%:*}"
	expect_refused_by "a setting edited to ${e%%:*}" "${e#*:}" \
		"$VXRESTORE" --manage-cgroups "$T/bad.img"
	for d in $ALL; do find "$d/b" -mindepth 1 -type d | grep -q . &&
		fail "a refused restore made a group in $d/b"; done
done
# a value the kernel refuses (memsw below the memory limit): named, groups removed
idx=$(limits_idx "$T/img" memory.memsw.limit_in_bytes)
[ -n "$idx" ] || fail "no memsw setting found in the image's json"
"$EDIT" "$T/img" "$T/memsw.img" "LIMITS[0].settings[$idx].value=4096" || fail "edit-image memsw"
expect_refused_by "memsw below the limit" "cannot set memory.memsw.limit_in_bytes=4096" \
	"$VXRESTORE" --manage-cgroups "$T/memsw.img"
[ -e "$P_memory/b/mk" ] || [ -e "$P_pids/b/pk" ] && fail "a failed restore left its groups"

# a SIGKILLed restore, paused once the groups are made and set: its janitor removes them
VXCR_TEST_PAUSE=tree VXCR_LOG=2 "$VXRESTORE" --manage-cgroups "$T/img" >"$T/kill.out" 2>"$T/kill.err" &
K=$!
vx_track "$K"
vx_wait_line "$T/kill.err" "pausing at tree" 20 || fail "vxrestore did not pause: $(head -n 2 "$T/kill.err")"
[ "$(cat "$P_pids/b/pk/pids.max")" = $NPROC ] || fail "no pids.max set before the pause"
kill -9 "$K"
wait "$K" 2>/dev/null
vx_untrack "$K"
for ((i = 0; i < 100; i++)); do
	[ -e "$P_pids/b/pk" ] || [ -e "$P_memory/b/mk" ] || [ -e "$P_cpu/b/ck" ] || break
	sleep 0.05
done
[ "$i" -lt 100 ] || fail "a killed restore left its groups"

t0=$(date +%s%N)
restore_bg -v --manage-cgroups "$T/img"
log "restored with the groups and their settings in $(( ($(date +%s%N) - t0) / 1000000 )) ms (wall)"
log "time of the settings: $(grep -o '[0-9]* settings in [0-9.]* us' "$T/restore.err" | tr '\n' ' ')"
for f in $files; do echo "$f $(value "$f" b)"; done >"$T/values.b"
diff "$T/values.a" "$T/values.b" >"$T/values.diff" || fail "settings differ: $(cat "$T/values.diff")"
log "settings restored: $(awk '{print $1 "=" $2}' "$T/values.b" | tr '\n' ' ')"
grep -qx "[0-9]*:pids:${P_pids#$(cg_mount pids)}/b/pk" /proc/$KA/cgroup ||
	fail "child $KA not in b/pk: $(grep pids /proc/$KA/cgroup)"
go_and_check
log "$(grep '^forks' "$OUT")"
wait_restore_exit 0
[ "$(sha256sum <"$T/img")" = "$sum" ] || fail "vxrestore modified the image"
vx_wait_gone "$PID" 10 || fail "cglimits $PID did not exit after its check"

# groups that exist already are not written: their values stay, a warning says so
for d in $ALL; do mkdir -p "$d/c" || fail "mkdir $d/c"; done
mkdir "$P_pids/c/pk" "$P_memory/c/mk" "$P_cpu/c/ck" || fail "mkdir c's sub-groups"
enter c
restore_bg "$T/img"
[ "$(cat "$P_pids/c/pk/pids.max")" = max ] || fail "an existing group's pids.max was written"
grep -q "pids.max is max here, $NPROC in the image (not written" "$T/restore.err" ||
	fail "no warning for an existing group's other pids.max: $(head -n 3 "$T/restore.err")"
kill -9 "$PID" 2>/dev/null
wait_restore_exit 137
pass
