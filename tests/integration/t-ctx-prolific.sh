#!/bin/bash
# PROLIFIC: a context may create contexts only with PROLIFIC.  From inside a
# context without it, `vxcr ctx create` fails with EPERM naming PROLIFIC
# (and without the mount cap its nested init needs, naming SECURE_MOUNT);
# PROLIFIC decides the context's isolation (issue 14: it keeps the run
# directory and the host's cgroups), so it is chosen at creation and
# refused later; a context created with it creates contexts: the nested init is pid 1 of
# a pid namespace below the parent's (NSpid of 3 levels), the host lists
# it with host pids, the parent lists it with its own; killing it from the
# host ends it (wait 137).  Killing the parent ends a nested context too,
# and its record and cgroup go with the parent's.
. "$(dirname "$0")/ctx-lib.sh"
P=$XID C=$((XID + 1)) Q=$((XID + 2)) D=$((XID + 3)) N=$((XID + 4))

"$VXCR" ctx create "$N" --ccaps SECURE_MOUNT -- sleep 600 >/dev/null 2>"$T/create.err" ||
	fail "create $N: $(cat "$T/create.err")"
"$VXCR" ctx exec "$N" -- "$VXCR" ctx create "$C" -- sleep 600 >/dev/null 2>"$T/nested.err" &&
	fail "nested create allowed without PROLIFIC"
grep -q "context $N may not create contexts: it lacks the PROLIFIC flag" "$T/nested.err" ||
	fail "refusal: $(cat "$T/nested.err")"
"$VXCR" ctx flags "$N" --set PROLIFIC >/dev/null 2>"$T/setp.err" && fail "PROLIFIC set after creation"
grep -q "PROLIFIC can only be chosen when the context is created" "$T/setp.err" ||
	fail "refusal of a late PROLIFIC: $(cat "$T/setp.err")"
[ -e "$VXCR_RUNDIR/$C.ctx" ] && fail "a record of $C was written"
"$VXCR" ctx create "$Q" --flags PROLIFIC -- sleep 600 >/dev/null 2>"$T/create.err" ||
	fail "create $Q: $(cat "$T/create.err")"
"$VXCR" ctx exec "$Q" -- "$VXCR" ctx create "$D" -- sleep 600 >/dev/null 2>"$T/nomount.err" &&
	fail "nested create allowed without SECURE_MOUNT"
grep -q SECURE_MOUNT "$T/nomount.err" || fail "refusal: $(cat "$T/nomount.err")"

"$VXCR" ctx create "$P" --flags PROLIFIC --bcaps all --ccaps SECURE_MOUNT -- sleep 600 >/dev/null \
	2>"$T/create.err" || fail "create $P: $(cat "$T/create.err")"
"$VXCR" ctx exec "$P" -- "$VXCR" ctx create "$C" -- sleep 600 >"$T/nested.out" 2>"$T/nested.err" ||
	fail "nested create with PROLIFIC: $(cat "$T/nested.err")"
[ "$(cat "$T/nested.out")" = "$C" ] || fail "nested create printed '$(cat "$T/nested.out")'"
"$VXCR" ctx list >"$T/list.out"
awk '{print $1}' "$T/list.out" | grep -qx "$C" || fail "host list lacks $C: $(cat "$T/list.out")"
CINIT=$("$VXCR" ctx info "$C" | awk '$1 == "initpid:" {print $2}')
grep -Eq '^NSpid:[[:space:]]+[0-9]+[[:space:]]+[0-9]+[[:space:]]+1$' "/proc/$CINIT/status" ||
	fail "nested init $CINIT: $(grep NSpid "/proc/$CINIT/status")"
"$VXCR" ctx exec "$P" -- "$VXCR" ctx list >"$T/inlist.out" 2>"$T/inlist.err" ||
	fail "list inside $P: $(cat "$T/inlist.err")"
INNER=$(awk -v c="$C" '$1 == c {print $2}' "$T/inlist.out")
[ -n "$INNER" ] && [ "$INNER" -lt 100 ] || fail "list inside $P: $(cat "$T/inlist.out")"
"$VXCR" ctx kill "$C" || fail "kill $C from the host failed"
"$VXCR" ctx wait "$C" >"$T/wait.out" 2>"$T/wait.err"
[ "$(cat "$T/wait.out")" = 137 ] || fail "wait $C: $(cat "$T/wait.out" "$T/wait.err")"
"$VXCR" ctx list | grep -q "^$P " || fail "parent $P ended with its nested context"

# a nested context dies with its parent; nothing of it is left
"$VXCR" ctx exec "$P" -- "$VXCR" ctx create "$C" -- sleep 600 >/dev/null 2>"$T/nested.err" ||
	fail "second nested create: $(cat "$T/nested.err")"
CG=$(sed -n 's/^cgroup=//p' "$VXCR_RUNDIR/$C.ctx")
CINIT=$("$VXCR" ctx info "$C" | awk '$1 == "initpid:" {print $2}')
"$VXCR" ctx kill "$P" && "$VXCR" ctx wait "$P" >/dev/null
vx_wait_gone "$CINIT" 5 || fail "nested init $CINIT survived its parent"
for ((i = 0; i < 40; i++)); do [ -e "$VXCR_RUNDIR/$C.ctx" ] || break; sleep 0.05; done
[ -e "$VXCR_RUNDIR/$C.ctx" ] && fail "record of $C left after its parent ended"
[ -d "$CG" ] && fail "cgroup $CG left after its parent ended"
pass "PROLIFIC: nested create refused without it (EPERM), works with it"
