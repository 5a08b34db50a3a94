#!/bin/bash
# cgroup membership (tests/progs/cgroup.c): a child in a sub-group (v2 and
# the v1 pids hierarchy), the child's thread in a threaded v2 sub-group,
# the root's thread in a v1 sub-group.  The groups live under a temporary
# parent group this case makes (and removes): the tree is dumped below
# P/a and restored below P/b, where the groups do not exist: refused
# without --manage-cgroups, created with it; the programs check their own
# /proc/thread-self/cgroup relative to the restored root's.  A restore
# that fails removes the groups it made, a killed one's janitor too; existing groups of another type
# are refused, of the right type used without the option (in a new PID
# namespace, --pidns: the base is the namespace's init's groups).  Hostile
# CGROUP paths (.., absolute, a/../..) and members are refused in one
# line; a child in a group outside the root's subtree is refused at dump.
# Contexts: one whose group has sub-groups is removed whole when it ends;
# a context member in a sub-group of the context's group comes back
# there (below the new context's group) with --manage-cgroups.
. "$(dirname "$0")/lib.sh"
require_cr

# mount point of the hierarchy: "cgroup2", or a v1 controller name
cg_mount()
{
	awk -v want="$1" '{
		for (i = 7; $i != "-"; i++) ;
		ok = 0
		if (want == "cgroup2" && $(i+1) == "cgroup2") ok = 1
		if (want != "cgroup2" && $(i+1) == "cgroup" && index("," $(i+3) ",", "," want ",")) ok = 1
		if (!ok) next
		if ($4 != "/") exit 1
		print $5
		exit
	}' /proc/self/mountinfo
}
V2M=$(cg_mount cgroup2) && [ -n "$V2M" ] || skip "no cgroup2 mount (with root /)"
V1M=$(cg_mount pids) && [ -n "$V1M" ] || skip "no v1 pids hierarchy (with root /)"
OWN2=$(awk -F: '$1 == 0 {print $3}' /proc/self/cgroup)
OWN1=$(awk -F: '$2 == "pids" {print $3}' /proc/self/cgroup)
OWN2=${OWN2%/}
OWN1=${OWN1%/}
P2=$V2M$OWN2/vxcr-cg.$$
P1=$V1M$OWN1/vxcr-cg.$$

vx_case_cleanup()
{
	local p
	[ -n "${XID:-}" ] && "$VXCR" ctx kill "$XID" >/dev/null 2>&1
	echo $$ >"$V2M$OWN2/cgroup.procs" 2>/dev/null
	echo $$ >"$V1M$OWN1/cgroup.procs" 2>/dev/null
	for p in $VX_PIDS; do kill -9 "$p" 2>/dev/null; done
	for p in $VX_PIDS; do vx_wait_gone "$p" 5; done
	[ -d "$P2" ] && find "$P2" -depth -type d -exec rmdir {} \; 2>/dev/null
	[ -d "$P1" ] && find "$P1" -depth -type d -exec rmdir {} \; 2>/dev/null
	[ -d "$P2" ] || [ -d "$P1" ] && echo "# could not remove $P2 or $P1"
}

# enter DIR2 DIR1: this shell (and what it starts from now on) joins them
enter() { echo $$ >"$1/cgroup.procs" && echo $$ >"$2/cgroup.procs" || fail "cannot join $1 $2"; }

mkdir -p "$P2/a/kid/thr" "$P2/b" "$P1/a/kid" "$P1/a/rt" "$P1/b" || fail "cannot make the groups"
echo threaded >"$P2/a/kid/thr/cgroup.type" || fail "cannot make $P2/a/kid/thr threaded"
enter "$P2/a" "$P1/a"
start_prog cgroup "$P2/a" "$P1/a"
vx_tree_snapshot "$PID" "$T/tree.before"
vx_track_tree "$PID"
log "tree of $PID: $(vx_tree_summary "$T/tree.before")"
dump "$PID" "$T/img"
vx_tree_gone "$T/tree.before"
"$VXCR" img show "$T/img" >"$T/show" 2>&1 || fail "vxcr img show failed: $(head -n 3 "$T/show")"
grep -q 'kid/thr' "$T/show" || fail "image shows no kid/thr group: $(grep -i cgroup "$T/show" | head -3)"
sum=$(sha256sum <"$T/img")

enter "$P2/b" "$P1/b"
guard_allow 'cgroup.*' "restored below P/b by design (dumped below P/a): the programs check their groups relative to the root's themselves"
expect_refused_by "groups missing without --manage-cgroups" \
	"does not exist \(vxrestore --manage-cgroups creates it\)" "$VXRESTORE" "$T/img"
[ -e "$P2/b/kid" ] || [ -e "$P1/b/kid" ] && fail "a refused restore created a group"

# hostile paths: nothing outside the base may be named
EDIT=$VX_BUILD/tests/fuzz/edit-image
[ -x "$EDIT" ] || fail "$EDIT not built"
n=0
for bad in .. /etc kid/../.. "kid//thr" . ; do
	n=$((n + 1))
	"$EDIT" "$T/img" "$T/bad$n.img" "CGROUP[0].dirs[0].path=$bad" || fail "edit-image failed"
	expect_refused_by "a cgroup path '$bad'" "not a valid relative cgroup path" \
		"$VXRESTORE" --manage-cgroups "$T/bad$n.img"
done
"$EDIT" "$T/img" "$T/thr.img" "CGROUP[0].dirs[0].threaded=1" "CGROUP[0].dirs[0].hierarchy=0" \
	"CGROUP[0].hierarchies[0].controllers=pids" || fail "edit-image failed"
expect_refused_by "a threaded v1 group" "not a valid relative cgroup path|given twice" \
	"$VXRESTORE" --manage-cgroups "$T/thr.img"
for edit in "tid=1:no thread of a live process" "tid=$PID:the root .* is not in the root's group" \
	"dirs[0]=999:is not one of its groups"; do
	"$EDIT" "$T/img" "$T/member.img" "CGROUP[0].members[0].${edit%%:*}" || fail "edit-image failed"
	expect_refused_by "a member edited to ${edit%%:*}" "${edit#*:}" \
		"$VXRESTORE" --manage-cgroups "$T/member.img"
done
[ -e "$P2/b/kid" ] || [ -e "$P1/b/kid" ] && fail "a refused restore created a group"
ls -a /etc/cgroup.procs /cgroup.procs "$V2M$OWN2/kid" "$V2M/kid" >/dev/null 2>&1 &&
	fail "a hostile image created something"

# a restore that fails once every process exists removes the groups it made
VXCR_TEST_FAIL=tree "$VXRESTORE" --manage-cgroups "$T/img" >"$T/fail.out" 2>"$T/fail.err" &&
	fail "injected failure ignored"
grep -q "VXCR_TEST_FAIL" "$T/fail.err" || fail "restore failed otherwise: $(head -n 2 "$T/fail.err")"
[ -e "$P2/b/kid" ] || [ -e "$P1/b/kid" ] || [ -e "$P1/b/rt" ] &&
	fail "a failed restore left its groups: $(ls "$P2/b" "$P1/b")"

# a SIGKILLed restore: its janitor removes the groups it made
VXCR_TEST_PAUSE=tree VXCR_LOG=2 "$VXRESTORE" --manage-cgroups "$T/img" >"$T/kill.out" \
	2>"$T/kill.err" &
K=$!
vx_track "$K"
vx_wait_line "$T/kill.err" "pausing at tree" 20 || fail "vxrestore did not pause: $(head -n 2 "$T/kill.err")"
[ -d "$P2/b/kid/thr" ] && [ -d "$P1/b/rt" ] || fail "no groups made before the pause"
kill -9 "$K"
wait "$K" 2>/dev/null
vx_untrack "$K"
vx_tree_gone "$T/tree.before"
for ((i = 0; i < 100; i++)); do
	[ -e "$P2/b/kid" ] || [ -e "$P1/b/kid" ] || [ -e "$P1/b/rt" ] || break
	sleep 0.05
done
[ "$i" -lt 100 ] || fail "a killed restore left its groups: $(ls "$P2/b" "$P1/b")"

restore_bg --manage-cgroups "$T/img"
vx_tree_expect "$T/tree.before" "$PID"
[ "$(cat "$P2/b/kid/thr/cgroup.type")" = threaded ] || fail "$P2/b/kid/thr is not threaded"
want="0::$OWN2/vxcr-cg.$$/b"
grep -qx "$want" "/proc/$PID/cgroup" || fail "restored root not in $want: $(cat /proc/$PID/cgroup)"
go_and_check
wait_restore_exit 0
[ "$(sha256sum <"$T/img")" = "$sum" ] || fail "vxrestore modified the image"
vx_wait_gone "$PID" 10 || fail "cgroup $PID did not exit after its check"

# existing groups of another type are refused; existing groups of the
# right type are used without --manage-cgroups (those the restore made)
mkdir -p "$P2/c/kid/thr" "$P1/c/kid" "$P1/c/rt" || fail "mkdir c"
enter "$P2/c" "$P1/c"
expect_refused_by "a group that is not threaded here" "kid/thr is not threaded here" \
	"$VXRESTORE" "$T/img"
enter "$P2/b" "$P1/b"
rm -f "$OUT"
# ... and inside a new PID namespace (--pidns): its init runs the restore
"$VXRESTORE" --pidns -d "$T/img" >"$T/restore.out" 2>"$T/restore.err" ||
	fail "vxrestore --pidns exited $?: $(head -n 3 "$T/restore.err")"
R=$(tail -n 1 "$T/restore.out")
[ -d "/proc/$R" ] || fail "restored root $R not found"
INIT=$(awk '$1 == "PPid:" {print $2}' "/proc/$R/status")
vx_track "$INIT"
vx_track_tree "$R"
grep -qx "$want" "/proc/$R/cgroup" || fail "root restored in a pid ns not in $want"
PID=$R
go_and_check
kill -KILL "$INIT" 2>/dev/null
vx_wait_gone "$R" 10 || fail "restored root $R survived its namespace's init"
for p in $(awk '$1 == "pid" {print $2}' "$T/tree.before"); do vx_untrack "$p"; done

# a child outside the root's subtree: refused at dump, the tree runs on
enter "$P2/a" "$P1/a"
mkdir "$P2/a/top" || fail "mkdir top"
rm -f "$T/out"
start_prog cgroup "$P2/a" "$P1/a" outside
vx_track_tree "$PID"
"$VXDUMP" -o "$T/out.img" "$PID" >"$T/dump.out" 2>"$T/dump.err" && fail "vxdump of a child outside the root's group succeeded"
grep -q "outside the root's" "$T/dump.err" || fail "vxdump did not say why: $(head -n 3 "$T/dump.err")"
vx_alive "$PID" || fail "the refused tree died"
log "refused: $(head -n 1 "$T/dump.err")"
kill -9 "$PID" $(vx_tree_pids "$PID") 2>/dev/null

# a context whose group has sub-groups (as --manage-cgroups makes them in
# a context's restore) is removed whole when it ends
export VXCR_RUNDIR=$T/run
XID=$((2000 + $$ % 30000))
"$VXCR" ctx create "$XID" -- sleep 1000 </dev/null >"$T/ctx.out" 2>"$T/ctx.err" ||
	fail "ctx create exited $?: $(head -n 2 "$T/ctx.err")"
CG=$V2M/vxcr/$XID
[ -d "$CG" ] || fail "context $XID has no group $CG"
mkdir -p "$CG/sub/deeper" || fail "mkdir in $CG"
"$VXCR" ctx kill "$XID" || fail "ctx kill $XID failed"
for ((i = 0; i < 100; i++)); do [ -d "$CG" ] || break; sleep 0.05; done
[ ! -d "$CG" ] || { rmdir "$CG/sub/deeper" "$CG/sub" "$CG"; fail "context group with sub-groups left behind"; }

# a context whose member is in a sub-group of the context's group: the
# base is the context's own group, after and before
"$VXCR" ctx create "$XID" -- sh -c 'sleep 1000 & exec sleep 1001' </dev/null \
	>"$T/ctx.out" 2>"$T/ctx.err" || fail "ctx create exited $?: $(head -n 2 "$T/ctx.err")"
mkdir "$CG/sub" || fail "mkdir $CG/sub"
for ((i = 0; i < 100; i++)); do
	m=$(for p in $(cat "$CG/cgroup.procs"); do
		[ "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" = "sleep 1000 " ] && echo "$p"
	done)
	[ -n "$m" ] && break
	sleep 0.05
done
[ -n "$m" ] || fail "no sleep 1000 in context $XID"
echo "$m" >"$CG/sub/cgroup.procs" || fail "cannot move $m into $CG/sub"
"$VXDUMP" --ctx "$XID" -o "$T/ctx.img" 2>"$T/ctxdump.err" || fail "vxdump --ctx: $(head -n 2 "$T/ctxdump.err")"
"$VXCR" img show "$T/ctx.img" | grep -q 'CGROUP.*path="sub"' || fail "context image has no CGROUP sub"
for ((i = 0; i < 100; i++)); do [ -d "$CG" ] || break; sleep 0.05; done
expect_refused_by "a context's missing sub-group" "sub does not exist" "$VXRESTORE" "$T/ctx.img"
"$VXRESTORE" --manage-cgroups "$T/ctx.img" 2>"$T/ctxrestore.err" ||
	fail "vxrestore --manage-cgroups of the context: $(head -n 2 "$T/ctxrestore.err")"
m=$(cat "$CG/sub/cgroup.procs" 2>/dev/null)
[ -n "$m" ] && [ "$(tr '\0' ' ' <"/proc/$m/cmdline")" = "sleep 1000 " ] ||
	fail "restored context's member not in $CG/sub: '$m' (context: $(cat "$CG/cgroup.procs" | tr '\n' ' '))"
"$VXCR" ctx kill "$XID" || fail "ctx kill $XID failed"
for ((i = 0; i < 100; i++)); do [ -d "$CG" ] || break; sleep 0.05; done
[ ! -d "$CG" ] || fail "restored context's groups left behind"
pass "restored below another group and in a context, created; hostile images and a group outside refused"
