#!/bin/bash
# vxcr_restore_opts.commit, through tests/progs/restore-commit (linked with
# the library): the hook runs once the whole tree is restored and before it
# runs.  A hook that fails undoes the restore: no process of the tree is
# left, nor a context's record or group, and the image is unchanged; a
# hook waiting on a FIFO holds the tree (restored, not running) until the
# test kills the FIFO's writer (as a killed `vxcr serve` closes its end):
# then the tree is gone too; a hook that lets it go gives a running tree.
# For a plain tree, a --pidns restore (the hook runs in the namespace's
# init) and a context image (it runs in the context's supervisor).
. "$(dirname "$0")/ctx-lib.sh"
require_cr
RC=$PROGS/restore-commit
[ -x "$RC" ] || fail "$RC not built"

# Processes whose first argument is $HOLD: the counter ($OUT) or the
# context's shell loop, restored or not.
# (bash builtins only: a grep would name $OUT itself)
holders()
{
	local f a
	for f in /proc/[0-9]*/cmdline; do
		mapfile -d '' a <"$f" 2>/dev/null || continue
		[ "${a[1]:-}" = "$HOLD" ] && { f=${f#/proc/}; echo -n "${f%/cmdline} "; }
	done
}

# commits: how many times the hook ran.
commits() { grep -c '^commit$' "$T/report" 2>/dev/null; }

# refused_by_hook MODE ARGS...: restore-commit MODE fails, the hook ran
# once more, nothing of the tree is left, the image is unchanged.
refused_by_hook()
{
	local mode=$1 before
	shift
	before=$(commits)
	"$RC" "$mode" "$IMG" "$T/report" "$@" >"$T/rc.out" 2>"$T/rc.err" &&
		fail "$mode: restored despite the hook: $(cat "$T/rc.out")"
	grep -q "^failed" "$T/rc.out" || fail "$mode: $(cat "$T/rc.out" "$T/rc.err")"
	[ "$(commits)" = $((before + 1)) ] || fail "$mode: the hook ran $(commits) times, not $((before + 1))"
	sleep 0.2
	[ -z "$(holders)" ] || fail "$mode $*: left $(holders)"
	cmp -s "$IMG" "$IMG.orig" || fail "$mode: the image changed"
	log "$mode $*: $(cat "$T/rc.out")"
}

# held ARGS...: the hook waits on a FIFO; the tree exists meanwhile and
# does not run; killing the writer makes the hook fail and the tree go.
held()
{
	local w i before
	rm -f "$T/fifo"
	mkfifo "$T/fifo"
	sleep 300 >"$T/fifo" &
	w=$!
	vx_track "$w"
	before=$(commits)
	"$RC" wait "$IMG" "$T/report" "$@" "$T/fifo" >"$T/rc.out" 2>"$T/rc.err" &
	local rc=$!
	vx_track "$rc"
	for ((i = 0; i < 400; i++)); do
		[ "$(commits)" = $((before + 1)) ] && break
		sleep 0.05
	done
	[ "$(commits)" = $((before + 1)) ] || fail "held $*: the hook never ran"
	[ -n "$(holders)" ] || fail "held $*: no tree while the hook waits"
	local n=$(grep -c '^count' "$OUT")
	sleep 0.5
	[ "$(grep -c '^count' "$OUT")" = "$n" ] || fail "held $*: the tree runs before the commit"
	log "held $*: tree $(holders)while the hook waits"
	kill "$w"
	wait "$rc"
	[ $? = 1 ] || fail "held $*: restore-commit did not fail: $(cat "$T/rc.out")"
	vx_untrack "$rc"
	sleep 0.2
	[ -z "$(holders)" ] || fail "held $*: left $(holders) after the writer died"
	cmp -s "$IMG" "$IMG.orig" || fail "held: the image changed"
	log "held $*: $(cat "$T/rc.out")"
}

# A plain tree: the counter.
start_prog counter
HOLD=$OUT
IMG=$T/img
dump "$PID" "$IMG"
cp "$IMG" "$IMG.orig"
refused_by_hook fail
held
"$RC" ok "$IMG" "$T/report" >"$T/rc.out" 2>"$T/rc.err" || fail "ok: $(cat "$T/rc.out" "$T/rc.err")"
[ "$(cat "$T/rc.out")" = "restored $PID" ] || fail "ok: $(cat "$T/rc.out")"
expect_counting "after a committed restore"
go_and_check

# --pidns: the hook runs in the namespace's init.
rm -f "$OUT"
start_prog counter
HOLD=$OUT
dump "$PID" "$IMG"
cp "$IMG" "$IMG.orig"
refused_by_hook fail --pidns
held --pidns
"$RC" ok "$IMG" "$T/report" --pidns >"$T/rc.out" 2>"$T/rc.err" ||
	fail "ok --pidns: $(cat "$T/rc.out" "$T/rc.err")"
R=$(awk '/^restored/ {print $2}' "$T/rc.out")
vx_track "$R"
expect_counting "after a committed --pidns restore"
kill -9 "$R"
vx_wait_gone "$R" 10 || fail "--pidns tree $R not gone after SIGKILL"

# A context: the hook runs in its supervisor.
rm -f "$OUT"
OUT=$T/ctx-out
HOLD=$T/main.sh
cat >"$T/main.sh" <<EOF2
i=0
while :; do i=\$((i + 1)); echo "count \$i" >>$OUT; sleep 0.05; done
EOF2
"$VXCR" ctx create "$XID" -- sh "$T/main.sh" >"$T/create.out" 2>"$T/create.err" ||
	fail "ctx create: $(cat "$T/create.err")"
vx_wait_line "$OUT" '^count' 10 || fail "the context does not count"
CG=$(sed -n 's/^cgroup=//p' "$VXCR_RUNDIR/$XID.ctx")
"$VXDUMP" --ctx "$XID" -o "$IMG" 2>"$T/dump.err" || fail "vxdump --ctx: $(cat "$T/dump.err")"
cp "$IMG" "$IMG.orig"
refused_by_hook fail --rundir "$VXCR_RUNDIR"
[ -f "$VXCR_RUNDIR/$XID.ctx" ] && fail "a refused commit left the context's record"
[ -d "$CG" ] && fail "a refused commit left the cgroup $CG"
held --rundir "$VXCR_RUNDIR"
[ -f "$VXCR_RUNDIR/$XID.ctx" ] && fail "a cut commit left the context's record"
"$RC" ok "$IMG" "$T/report" --rundir "$VXCR_RUNDIR" >"$T/rc.out" 2>"$T/rc.err" ||
	fail "ok ctx: $(cat "$T/rc.out" "$T/rc.err")"
"$VXCR" ctx list | awk '{print $1}' | grep -qx "$XID" || fail "ctx list lacks $XID after the commit"
n=$(grep -c '^count' "$OUT")
sleep 0.5
[ "$(grep -c '^count' "$OUT")" -gt "$n" ] || fail "the committed context does not count"
"$VXCR" ctx kill "$XID" || fail "ctx kill failed"
"$VXCR" ctx wait "$XID" >/dev/null
pass "plain, --pidns and context: refused, held then cut, committed"
