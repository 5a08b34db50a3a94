#!/bin/bash
# Whole-context checkpoint/restart.  A context with its own hostname runs a
# shell loop that sends numbered requests through a FIFO to a python3 server
# holding its state in memory (requests served, running total) and trying
# sethostname on each request (refused: the context lacks SET_UTSNAME).
# vxdump --ctx refuses while a `ctx exec` task runs inside and leaves the
# context alone, then checkpoints it and kills it; vxrestore recreates it:
# the same xid in `ctx list`, the same flags, caps and uname, the same pids
# inside (init 1, the shell, the server), the loop's counter and the
# server's state carry on without a gap, the server is still refused
# sethostname; a second restore of the image while it lives is refused in
# one line and leaves nothing behind; kill ends it and removes its record; a
# restore failing once every task exists leaves no task, record or group.
. "$(dirname "$0")/ctx-lib.sh"
command -v python3 >/dev/null || skip "python3 not installed"

mkfifo "$T/req"
cat >"$T/server.py" <<'PY'
import os, socket, sys
req, out = sys.argv[1], sys.argv[2]
served = total = 0
f = os.fdopen(os.open(req, os.O_RDWR), "r")
for line in f:
    n = int(line)
    served += 1
    total += n
    try:
        socket.sethostname(socket.gethostname())
        uts = "allowed"
    except PermissionError:
        uts = "denied"
    ok = "ok" if n == served and total == n * (n + 1) // 2 else "GAP"
    with open(out, "a") as o:
        o.write("%d %d %d %d %s %s %s\n" % (n, served, total, os.getpid(),
                                           socket.gethostname(), uts, ok))
PY
cat >"$T/main.sh" <<EOF
python3 $T/server.py $T/req $T/served &
i=0
while :; do
	i=\$((i + 1))
	echo \$i >$T/req
	echo "\$i \$\$" >$T/loop.tmp && mv $T/loop.tmp $T/loop
	sleep 0.05
done
EOF

"$VXCR" ctx create "$XID" --hostname ctx-$XID --flags PERSISTENT --ccaps SYSLOG -- \
	sh "$T/main.sh" >"$T/create.out" 2>"$T/create.err" || fail "ctx create: $(cat "$T/create.err")"
vx_wait_line "$T/served" ' ok$' 20 || fail "the server does not answer"

# "pid comm" of the init, shells and python3 inside (not the exec'd shell)
pids_inside()
{
	"$VXCR" ctx exec "$XID" -- sh -c \
		'for p in /proc/[0-9]*; do [ "${p#/proc/}" = $$ ] ||
			echo "${p#/proc/} $(cat $p/comm 2>/dev/null)"; done' |
		awk '$2 == "vxcr-init" || $2 == "sh" || $2 == "python3"' | sort -n
}
pids_inside >"$T/pids.before"
grep -q '^1 vxcr-init$' "$T/pids.before" || fail "no init as pid 1: $(cat "$T/pids.before")"
PY_PID=$(awk '$2 == "python3" {print $1}' "$T/pids.before")
[ -n "$PY_PID" ] || fail "no python3 inside: $(cat "$T/pids.before")"
read -r _ LOOP_PID <"$T/loop"
"$VXCR" ctx info "$XID" | grep -v '^\(initpid\|supervisor\):' >"$T/info.before"
INIT_BEFORE=$("$VXCR" ctx info "$XID" | awk '$1 == "initpid:" {print $2}')

# a task entered with ctx exec (its parent is outside) makes the dump refuse
"$VXCR" ctx exec "$XID" -- sleep 30 &
EPID=$!
vx_track "$EPID"
# until its child has exec'd sleep: before that ctx exec is in vfork, a
# refusal of its own (a loaded machine took more than the 0.3 s once waited)
for _ in $(seq 100); do
	ESLEEP=$(cat "/proc/$EPID/task/$EPID/children" 2>/dev/null)
	[ -n "$ESLEEP" ] && [ "$(cat "/proc/${ESLEEP%% *}/comm" 2>/dev/null)" = sleep ] && break
	sleep 0.1
done
[ "$(cat "/proc/${ESLEEP%% *}/comm" 2>/dev/null)" = sleep ] || fail "ctx exec did not start sleep"
"$VXDUMP" --ctx "$XID" -o "$T/img" 2>"$T/busy.err" && fail "dump with a ctx exec inside succeeded"
[ "$(wc -l <"$T/busy.err")" = 1 ] && grep -q "ctx exec" "$T/busy.err" ||
	fail "refusal is not one clear line: $(cat "$T/busy.err")"
[ -e "$T/img" ] && fail "a refused dump left an image"
# its sleep, born inside, would be reparented to our subreaper: kill both
ESLEEP=$(cat "/proc/$EPID/task/$EPID/children")
kill -9 $ESLEEP "$EPID"
wait "$EPID" 2>/dev/null
vx_alive "$INIT_BEFORE" || fail "the refused dump hurt the context"
N0=$(awk '{print $1}' "$T/loop")
sleep 0.3
[ "$(awk '{print $1}' "$T/loop")" -gt "$N0" ] || fail "the loop stopped after the refused dump"
sleep 0.2

"$VXDUMP" --ctx "$XID" -o "$T/img" 2>"$T/dump.err" || fail "vxdump --ctx: $(cat "$T/dump.err")"
[ -f "$VXCR_RUNDIR/$XID.ctx" ] && fail "the record is still there after the dump"
vx_alive "$INIT_BEFORE" && fail "the context still runs after the dump"
N_DUMP=$(awk '{print $1}' "$T/loop")
S_DUMP=$(tail -n 1 "$T/served" | awk '{print $2}')
sleep 0.3
[ "$(awk '{print $1}' "$T/loop")" = "$N_DUMP" ] || fail "the loop runs on after the dump"
"$VXCR" img show "$T/img" | grep -q "CONTEXT .*xid=$XID" || fail "no CONTEXT record in the image"
cp "$T/img" "$T/img.orig"

"$VXRESTORE" "$T/img" 2>"$T/restore.err" || fail "vxrestore: $(cat "$T/restore.err")"
"$VXCR" ctx list | awk '{print $1}' | grep -qx "$XID" || fail "ctx list lacks $XID after restore"
vx_wait_line "$T/served" "^$((S_DUMP + 10)) " 20 || fail "the server does not serve after restore"

pids_inside >"$T/pids.after"
diff "$T/pids.before" "$T/pids.after" >/dev/null ||
	fail "pids inside changed: before $(tr '\n' ' ' <"$T/pids.before"), after $(tr '\n' ' ' <"$T/pids.after")"
read -r N_AFTER LOOP_AFTER <"$T/loop"
[ "$LOOP_AFTER" = "$LOOP_PID" ] || fail "the loop's \$\$ is $LOOP_AFTER, was $LOOP_PID"
[ "$N_AFTER" -gt "$N_DUMP" ] || fail "the loop's counter $N_AFTER did not go on from $N_DUMP"
"$VXCR" ctx info "$XID" | grep -v '^\(initpid\|supervisor\):' >"$T/info.after"
diff "$T/info.before" "$T/info.after" >"$T/info.diff" || fail "ctx info changed: $(cat "$T/info.diff")"
INIT_AFTER=$("$VXCR" ctx info "$XID" | awk '$1 == "initpid:" {print $2}')
[ "$(awk '$1 == "NSpid:" {print $NF}' "/proc/$INIT_AFTER/status")" = 1 ] ||
	fail "the restored init is not pid 1 of its namespace"
[ "$("$VXCR" ctx exec "$XID" -- hostname)" = "ctx-$XID" ] || fail "hostname inside changed"

# the server's memory went on: every request served once, in order, and
# sethostname still refused by the context caps in the restored server
awk -v py="$PY_PID" -v x="ctx-$XID" '
	$7 != "ok" { print "gap: " $0; exit 1 }
	$4 != py || $5 != x { print "wrong pid/hostname: " $0; exit 1 }
	$6 != "denied" { print "sethostname " $6 ": " $0; exit 1 }' "$T/served" >"$T/check" ||
	fail "server log: $(cat "$T/check")"
awk '$1 != NR { exit 1 }' "$T/served" || fail "requests lost or repeated"
cmp -s "$T/img" "$T/img.orig" || fail "restore changed the image"

# a second restore of the same context is refused and leaves nothing behind.
# The loop forks a sleep and an mv every 50 ms, so the context's lasting
# tasks are compared: "pid comm ppid" of every task but the loop's children.
lasting_procs()
{
	local cg p comm ppid loop=
	cg=$(sed -n 's/^cgroup=//p' "$VXCR_RUNDIR/$XID.ctx")
	for p in $(cat "$cg/cgroup.procs"); do
		comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
		ppid=$(awk '$1 == "PPid:" {print $2}' "/proc/$p/status" 2>/dev/null)
		[ -n "$ppid" ] || continue	# gone meanwhile (a loop child exiting)
		echo "$p $comm $ppid"
	done | sort -n >"$T/procs.raw"
	# the loop shell: the "sh" whose parent is the context's init
	loop=$(awk -v init="$(sed -n 's/^init=//p' "$VXCR_RUNDIR/$XID.ctx")" \
		'$2 == "sh" && $3 == init {print $1}' "$T/procs.raw")
	awk -v loop="$loop" '$3 != loop || $2 == "python3"' "$T/procs.raw"
}
lasting_procs >"$T/procs.before"
cp "$VXCR_RUNDIR/$XID.ctx" "$T/record"
"$VXRESTORE" "$T/img" 2>"$T/again.err"; st=$?
[ "$st" = 1 ] && [ "$(wc -l <"$T/again.err")" = 1 ] && grep -q "already exists" "$T/again.err" ||
	fail "second restore: exit $st, $(cat "$T/again.err")"
cmp -s "$T/record" "$VXCR_RUNDIR/$XID.ctx" || fail "the refused restore changed the record"
lasting_procs >"$T/procs.after"
[ "$(wc -l <"$T/procs.before")" = 3 ] || fail "context tasks before the refused restore: $(cat "$T/procs.before")"
cmp -s "$T/procs.before" "$T/procs.after" ||
	fail "the refused restore changed the context's tasks: $(diff "$T/procs.before" "$T/procs.after" | tr '\n' ' ')"

# errors: unknown xid, bad image
"$VXDUMP" --ctx 1 -o "$T/none" 2>"$T/unk.err" && fail "dump of a bad xid succeeded"
"$VXDUMP" --ctx 3 -o "$T/none" 2>"$T/unk.err"; st=$?
[ "$st" = 1 ] && [ "$(wc -l <"$T/unk.err")" = 1 ] && grep -q "does not exist" "$T/unk.err" ||
	fail "dump of unknown context 3: exit $st, $(cat "$T/unk.err")"
[ -e "$T/none" ] && fail "a failed dump left an image"

CG=$(sed -n 's/^cgroup=//p' "$VXCR_RUNDIR/$XID.ctx")
"$VXCR" ctx kill "$XID" || fail "ctx kill failed"
"$VXCR" ctx wait "$XID" >/dev/null
[ -f "$VXCR_RUNDIR/$XID.ctx" ] && fail "record left after kill"

# a restore that fails once every task exists leaves no task, record or group
VXCR_TEST_FAIL=tree "$VXRESTORE" "$T/img" 2>"$T/fail.err" && fail "injected failure ignored"
[ "$(wc -l <"$T/fail.err")" = 1 ] || fail "failed restore: $(cat "$T/fail.err")"
[ -f "$VXCR_RUNDIR/$XID.ctx" ] && fail "a failed restore left a record"
[ -d "$CG" ] && fail "a failed restore left the cgroup $CG"
"$VXCR" ctx list | awk '{print $1}' | grep -qx "$XID" && fail "a failed restore left the context"
cmp -s "$T/img" "$T/img.orig" || fail "the failed restore changed the image"
pass "pids kept ($(tr '\n' ' ' <"$T/pids.after")), loop $N_DUMP -> $N_AFTER, server $(tail -n 1 "$T/served" | awk '{print $2}') requests"
