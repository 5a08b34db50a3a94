#!/bin/bash
# A --root context whose guest holds a file open on its own /dev/shm (a
# tmpfs the context's settings make; issue 14): a busybox shell appends a
# counter to /dev/shm/log through fd 3 (opened for append) and keeps a
# second fd open for reading at a position.  Dumped, restored: the log
# holds every number once, in order (its bytes came back from the image
# and the restored fd appends to that restored file, not to another), the
# reading fd is at its position, and the counter goes on.  Hostile images
# of it are refused in one line leaving no context: the fd's tmpfs_node
# naming a node that does not exist, a node at another path, and a host
# file (busybox) claimed as a node.  Then python multiprocessing (fork) in
# a guest of its own: a Semaphore taken once, a named one kept linked
# (sem_open's renamed file), a Value and a Process
# blocked on a semaphore across the restore; after it the child sets the
# Value and releases the parent, the first semaphore's value is 2.
. "$(dirname "$0")/ctx-lib.sh"
G=$T/guest
mkguest "$G"
R=$XID

"$VXCR" ctx create "$R" --root "$G" -- /bin/sh -c \
	'echo header >/dev/shm/log; exec 3>>/dev/shm/log 4</dev/shm/log; read -r h <&4
	i=0; while :; do i=$((i + 1)); echo $i >&3; echo $i >/tmp/n.new; mv /tmp/n.new /tmp/n; sleep 0.05; done' \
	</dev/null >/dev/null 2>"$T/create.err" || fail "create --root: $(cat "$T/create.err")"
vx_wait_line "$G/tmp/n" . 10 || fail "the counter in the guest does not run"
sleep 0.3

"$VXDUMP" --ctx "$R" -o "$T/img" 2>"$T/dump.err" || fail "vxdump --ctx $R: $(cat "$T/dump.err")"
md5sum "$T/img" >"$T/img.md5"
N_DUMP=$(cat "$G/tmp/n")

# hostile images first (the context is not running: nothing of it exists)
file_idx()
{
	"$VXCR" img json "$T/img" | python3 -c '
import json, sys
recs = [r["payload"] for r in json.load(sys.stdin)["records"] if r["type"] == "FILE"]
print(next(i for i, f in enumerate(recs) if eval(sys.argv[1], {"f": f})))' "$1"
}
LOGF=$(file_idx 'f.get("path") == "/dev/shm/log" and f.get("flags", 0) & 1')
BB=$(file_idx 'f.get("path") == "/bin/busybox"')
LOGN=$("$VXCR" img json "$T/img" | python3 -c '
import json, sys
recs = [r["payload"] for r in json.load(sys.stdin)["records"] if r["type"] == "FILE"]
print(recs[int(sys.argv[1])]["tmpfs_node"])' "$LOGF")
[ -n "$LOGF" ] && [ -n "$BB" ] && [ -n "$LOGN" ] || fail "the image lacks the log's FILE or its node"
nothing_left()
{
	"$VXCR" ctx info "$R" >/dev/null 2>&1 && fail "$1: context $R exists after the refusal"
	md5sum -c --quiet "$T/img.md5" || fail "$1: the image changed"
}
crafted()
{
	local what=$1
	refused_edit "$T/img" "$@"
	nothing_left "$what"
}
crafted "a node that does not exist" "tmpfs node 99999 is not in the image" "FILE[$LOGF].tmpfs_node=99999"
crafted "a node at another path" "tmpfs node $LOGN is at another path" "FILE[$LOGF].path=/dev/shm/other"
crafted "a host file claimed as a node" "tmpfs node $LOGN is at another path" "FILE[$BB].tmpfs_node=$LOGN"
crafted "the root of /dev as the log" "tmpfs node [0-9]+ is (of another type|at another path)" \
	"FILE[$LOGF].tmpfs_node=1"

"$VXRESTORE" "$T/img" 2>"$T/restore.err" || fail "vxrestore $R: $(cat "$T/restore.err")"
for i in $(seq 200); do [ "$(cat "$G/tmp/n")" -gt $((N_DUMP + 3)) ] && break; sleep 0.05; done
[ "$(cat "$G/tmp/n")" -gt $((N_DUMP + 3)) ] || fail "the guest's counter did not go on from $N_DUMP"
"$VXCR" ctx exec "$R" -- /bin/cat /dev/shm/log >"$T/log" 2>"$T/exec.err" ||
	fail "cannot read the guest's log: $(cat "$T/exec.err")"
python3 - "$T/log" "$N_DUMP" <<'PY' || fail "the guest's log after the restore: $(head -c 300 "$T/log")"
import sys
lines = open(sys.argv[1]).read().split()
assert lines[0] == "header", lines[:2]
nums = [int(x) for x in lines[1:]]
assert nums == list(range(1, len(nums) + 1)), "not 1..N once each"
assert len(nums) > int(sys.argv[2]) + 2, "no lines after the dump's %s" % sys.argv[2]
PY
INIT=$("$VXCR" ctx info "$R" | awk '$1 == "initpid:" {print $2}')
SH=$(pgrep -P "$INIT" | head -n 1) # the guest's shell, a child of vxcr-init
pos=$(awk '$1 == "pos:" {print $2}' "/proc/$SH/fdinfo/4" 2>/dev/null)
[ "$pos" = 7 ] || fail "fd 4 of the shell ($SH) is at ${pos:-?}, not 7 (after \"header\\n\")"
[ "$(readlink "/proc/$SH/fd/3")" = /dev/shm/log ] || fail "fd 3 of the shell: $(readlink "/proc/$SH/fd/3")"
"$VXCR" ctx kill "$R" && "$VXCR" ctx wait "$R" >/dev/null
log "busybox guest: log of $(wc -l <"$T/log") lines, 1..N once each; fd 4 at 7"

# 2. python multiprocessing in a guest: its semaphores and Value arena are
# files of the guest's /dev/shm (unlinked, mapped shared: ghosts there)
[ -x /usr/bin/python3 ] || pass "busybox guest only (no /usr/bin/python3 for a python guest)"
P=$T/pyguest
mkguest_py "$P"
cp "$(dirname "$0")/mp-shm.py" "$P/tmp/mp.py" || fail "cannot copy mp-shm.py"
RP=$((XID + 1))
"$VXCR" ctx create "$RP" --root "$P" -- /usr/bin/python3 -S /tmp/mp.py /tmp/out named \
	</dev/null >/dev/null 2>"$T/create.err" || fail "create --root (python): $(cat "$T/create.err")"
vx_wait_line "$P/tmp/out" '^ready$' 30 || fail "the python guest did not get ready: $(cat "$T/create.err")"
sleep 0.3
PY_INIT=$("$VXCR" ctx info "$RP" | awk '$1 == "initpid:" {print $2}')
n_shm=$(grep -c "/dev/shm" "/proc/$(pgrep -P "$PY_INIT" | head -n 1)/maps")
[ "$n_shm" -gt 0 ] || fail "the python guest maps nothing of its /dev/shm"
"$VXDUMP" --ctx "$RP" -o "$T/img.py" 2>"$T/dump.err" || fail "vxdump --ctx $RP: $(cat "$T/dump.err")"
"$VXRESTORE" "$T/img.py" 2>"$T/restore.err" || fail "vxrestore $RP: $(cat "$T/restore.err")"
PY_INIT=$("$VXCR" ctx info "$RP" | awk '$1 == "initpid:" {print $2}')
PYPID=$(pgrep -P "$PY_INIT" | head -n 1)
for i in $(seq 200); do
	kill -USR1 "$PYPID" 2>/dev/null
	grep -Eq '^(PASS|FAIL)' "$P/tmp/out" && break
	sleep 0.1
done
grep -q '^PASS mp' "$P/tmp/out" || fail "the python guest after the restore: $(grep -E '^(PASS|FAIL)' "$P/tmp/out")"
for i in $(seq 50); do "$VXCR" ctx info "$RP" >/dev/null 2>&1 || break; sleep 0.1; done # it ends with its program
pass "a busybox guest's fds on its /dev/shm (append, a position) and a python guest's multiprocessing ($n_shm /dev/shm mappings) restored; 4 hostile images refused"
