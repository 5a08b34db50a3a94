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
# file (busybox) claimed as a node.
. "$(dirname "$0")/ctx-lib.sh"
BUSYBOX=$(command -v busybox) || skip "no busybox (contrib/install-deps.sh: busybox-static)"
G=$T/guest
mkdir -p "$G/bin" "$G/proc" "$G/sys" "$G/dev" "$G/etc" "$G/tmp"
cp "$BUSYBOX" "$G/bin/busybox"
for a in sh cat ls echo sleep mv head wc; do ln -s busybox "$G/bin/$a"; done
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
pass "a guest's fds on its /dev/shm restored (log of $(wc -l <"$T/log") lines, 1..N once each; fd 4 at 7); 4 hostile images refused"
