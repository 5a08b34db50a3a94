#!/bin/bash
# vxcr ctx: a context running a shell loop is created with its own hostname;
# list shows it (first column the xid), info/stat are sane, exec inside
# sees the context's hostname (the host's unchanged) and a new pid namespace
# (NSpid), ccaps without SET_UTSNAME refuse sethostname inside, kill --pid
# of a task outside the context is refused, kill of all ends the context and
# wait returns its exit status (137); the record and cgroup are gone.
. "$(dirname "$0")/ctx-lib.sh"

"$VXCR" ctx create "$XID" --hostname ctx-$XID -- \
	sh -c "while :; do echo tick >>$T/loop.out; sleep 0.1; done" >"$T/create.out" 2>"$T/create.err" ||
	fail "ctx create exited $?: $(cat "$T/create.err")"
[ "$(cat "$T/create.out")" = "$XID" ] || fail "create printed '$(cat "$T/create.out")'"
[ -f "$VXCR_RUNDIR/$XID.ctx" ] || fail "no record $VXCR_RUNDIR/$XID.ctx"

"$VXCR" ctx list >"$T/list.out" 2>"$T/list.err" || fail "ctx list: $(cat "$T/list.err")"
awk '{print $1}' "$T/list.out" | grep -qx "$XID" || fail "list lacks $XID: $(cat "$T/list.out")"

"$VXCR" ctx info "$XID" >"$T/info.out" || fail "ctx info failed"
INIT=$(awk '$1 == "initpid:" {print $2}' "$T/info.out")
vx_alive "$INIT" || fail "init $INIT from info is not alive"
grep -q '^NSpid:.*[[:space:]]1$' "/proc/$INIT/status" || fail "init $INIT is not pid 1 of its namespace"
grep -qx "nodename: ctx-$XID" "$T/info.out" || fail "info: $(grep nodename "$T/info.out")"

"$VXCR" ctx stat "$XID" >"$T/stat.out" || fail "ctx stat failed"
TASKS=$(awk '$1 == "tasks:" {print $2}' "$T/stat.out")
[ "$TASKS" -ge 2 ] || fail "stat: tasks $TASKS, expected init + shell at least"

HOST=$(hostname)
IN=$("$VXCR" ctx exec "$XID" -- hostname 2>"$T/exec.err") || fail "exec hostname: $(cat "$T/exec.err")"
[ "$IN" = "ctx-$XID" ] || fail "hostname inside is '$IN', expected ctx-$XID"
[ "$(hostname)" = "$HOST" ] || fail "host hostname changed to $(hostname)"

"$VXCR" ctx exec "$XID" -- cat /proc/self/status >"$T/status.out" || fail "exec cat failed"
NSPID=$(awk '$1 == "NSpid:" {print $NF}' "$T/status.out")
[ -n "$NSPID" ] && [ "$NSPID" -gt 1 ] && [ "$NSPID" -lt 100 ] ||
	fail "NSpid inside is '$NSPID', not a small pid of a new namespace"
IN_NS=$("$VXCR" ctx exec "$XID" -- readlink /proc/self/ns/pid)
[ "$IN_NS" != "$(readlink /proc/self/ns/pid)" ] || fail "exec ran in the host pid namespace"

# exit status passes through exec; default ccaps lack SET_UTSNAME
"$VXCR" ctx exec "$XID" -- sh -c 'exit 7'
[ $? = 7 ] || fail "exec did not pass exit status 7 through"
"$VXCR" ctx exec "$XID" -- hostname other 2>/dev/null && fail "sethostname inside allowed without SET_UTSNAME"
[ "$("$VXCR" ctx exec "$XID" -- hostname)" = "ctx-$XID" ] || fail "hostname changed inside"

# a task outside the context is refused
"$VXCR" ctx kill "$XID" --pid $$ --sig 0 2>"$T/kout.err" && fail "kill --pid $$ (outside) accepted"
grep -q "not a task of context $XID" "$T/kout.err" || fail "unexpected refusal: $(cat "$T/kout.err")"
vx_alive $$ || fail "we died"
# unknown xid: one line, exit 1
"$VXCR" ctx info 1 2>"$T/unk.err"; st=$?
[ "$st" = 1 ] && [ "$(wc -l <"$T/unk.err")" = 1 ] || fail "info of unknown xid: exit $st, $(cat "$T/unk.err")"

"$VXCR" ctx wait "$XID" >"$T/wait.out" 2>"$T/wait.err" &
WPID=$!
vx_track "$WPID"
sleep 0.3
"$VXCR" ctx kill "$XID" || fail "ctx kill $XID failed"
wait "$WPID"
st=$?
vx_untrack "$WPID"
[ "$st" = 137 ] && [ "$(cat "$T/wait.out")" = 137 ] ||
	fail "wait exited $st printing '$(cat "$T/wait.out")', expected 137: $(cat "$T/wait.err")"
vx_wait_gone "$INIT" 5 || fail "init $INIT survived kill"
for ((i = 0; i < 40; i++)); do [ -e "$VXCR_RUNDIR/$XID.ctx" ] || break; sleep 0.05; done
[ -e "$VXCR_RUNDIR/$XID.ctx" ] && fail "record of $XID left behind"
"$VXCR" ctx list | awk '{print $1}' | grep -qx "$XID" && fail "list still shows $XID"
pass "context $XID: list, info, stat, exec, kill, wait"
