#!/bin/bash
# Files held on a tmpfs of the tree's own mount namespace (issue 14):
# - a tree under `unshare -m` with a tmpfs and its own /dev/shm
#   (tests/progs/tmpfs-held): an fd open for append with a position, a
#   read-write fd with a position, a FIFO with 2 bytes in it, a
#   MAP_SHARED mapping a child shares, a
#   POSIX semaphore in /dev/shm, its cwd on the tmpfs; dumped, restored,
#   the program checks positions, contents, sharing both ways and the
#   semaphore's value; the program itself runs from another tmpfs of the
#   tree (its exe link and text mappings are files of that tmpfs);
# - a python multiprocessing.Semaphore, Value and a child Process (fork:
#   the semaphores and the Value's arena are unlinked /dev/shm files
#   mapped shared: ghosts on the restored tmpfs): the child, blocked on a
#   semaphore across the restore, sets the Value and releases the parent;
# - hostile images, each refused in one line, nothing left: tmpfs_node
#   naming a node that does not exist, a node of another mount, a node at
#   another path, a directory node for a file, a node on a host file, the
#   node's tmpfs made a host mount, a node on a deleted file's record, and
#   (refused at open, inside the restored namespace) a node hidden under
#   another mount whose path resolves into that mount.
. "$(dirname "$0")/lib.sh"
require_cr
M=$T/m
mkdir -p "$M"/{tm,other} || fail "mkdir"
guard_allow "fdinfo.*.mnt_id" "fds the tree got from outside its namespace are on mounts of ours; restored, they are opened inside it"

# ns_cmd CMD: runs CMD in a new mount namespace with a tmpfs at $M/tm,
# another at $M/other (holding a copy of tmpfs-held, "prog") and one at
# /dev/shm (the host's is not touched)
ns_cmd()
{
	start_cmd "$T/out" unshare -m --propagation private sh -c "mount -t tmpfs -o size=4m tm $M/tm &&
		mount -t tmpfs other $M/other && echo o >$M/other/o && cp $PROGS/tmpfs-held $M/other/prog &&
		mount -t tmpfs shm /dev/shm && exec $1"
	vx_wait_line "$T/out" '^ready$' 20 || fail "the program did not get ready: $(tail -n 3 "$T/prog.err" "$T/prog.out")"
	sleep 0.2
	vx_remember
}

stop_tree()
{
	kill -9 "$PID" 2>/dev/null
	vx_wait_gone "$PID" 5
}

# 1. C: fds, a shared mapping with a child, a semaphore, the cwd
ns_cmd "$M/other/prog $T/out $M/tm"
OUT=$T/out
# sem_open maps a temporary name, links it to /dev/shm/sem.NAME and
# removes the temporary one: the mapping is named by its other name after
# the restore (the inode is a node of the tmpfs, made at its path)
sem=$(awk '/\/dev\/shm\/sem\..* \(deleted\)$/ {print $1; exit}' "/proc/$PID/maps")
[ -n "$sem" ] || fail "no deleted sem.* mapping: $(grep shm "/proc/$PID/maps")"
guard_allow "map.$sem" "sem_open's temporary name of the semaphore is gone; restored, the mapping shows its name"
dump "$PID" "$T/img"
md5sum "$T/img" >"$T/img.md5"
restore_bg -d "$T/img"
[ "$(readlink "/proc/$PID/fd/3")" = "$M/tm/log" ] || fail "fd 3 is $(readlink "/proc/$PID/fd/3")"
[ "$(readlink "/proc/$PID/cwd")" = "$M/tm" ] || fail "cwd is $(readlink "/proc/$PID/cwd")"
[ "$(readlink "/proc/$PID/exe")" = "$M/other/prog" ] || fail "exe is $(readlink "/proc/$PID/exe")"
grep -q " $M/tm " /proc/self/mountinfo && fail "the tree's tmpfs shows on the host"
go_and_check
stop_tree
log "C tree: fds, shared mapping, semaphore, cwd restored"

# 2. python multiprocessing (fork): Semaphore, Value, a child blocked across the restore
rm -f "$T/out"
guard_allow "fdinfo.*.flags" "the arena's file (mkstemp: O_NOFOLLOW): open flags with O_NOFOLLOW are not kept (as real-sqlite)"
ns_cmd "python3 -S $(dirname "$0")/mp-shm.py $T/out"
OUT=$T/out
grep -c "/dev/shm" "/proc/$PID/maps" >"$T/shm.maps" || fail "python maps nothing of /dev/shm"
dump "$PID" "$T/img.py"
restore_bg -d "$T/img.py"
go_and_check
stop_tree
log "python multiprocessing: $(cat "$T/shm.maps") /dev/shm mappings, restored"

# 3. hostile images of case 1 (a root restore must not be pointed elsewhere)
nothing_left()
{
	grep -q " $M/" /proc/self/mountinfo && fail "$1: a mount of the tree shows on the host"
	md5sum -c --quiet "$T/img.md5" || fail "$1: the image changed"
}
crafted()
{
	refused_edit "$T/img" "$@"
	nothing_left "$1"
}
# jq-like lookups in the image: the FILE index of a path, node ids by path
facts()
{
	"$VXCR" img json "$T/img" | python3 -c '
import json, sys
recs = json.load(sys.stdin)["records"]
files = [r["payload"] for r in recs if r["type"] == "FILE"]
ms = next(r["payload"] for r in recs if r["type"] == "MOUNTS")
log = next(i for i, f in enumerate(files) if f.get("path") == sys.argv[1] + "/log")
nodes = {n["id"]: n for n in ms["nodes"]}
mounts = {m["id"]: m for m in ms["mounts"]}
def node_at(point, name):
    root = next(n for n in ms["nodes"] if not n.get("parent") and mounts[n["mount"]]["point"] == point)
    return next(n["id"] for n in ms["nodes"] if n.get("parent") == root["id"] and n.get("name") == name)
host = next(i for i, f in enumerate(files) if f.get("path", "").startswith("/") and "tmpfs_node" not in f
            and f.get("kind") in ("FILE_REG", "FILE_MAPONLY") and f.get("path", "").startswith("/usr"))
print(log, node_at(sys.argv[1], "data"), node_at(sys.argv[2], "o"), node_at(sys.argv[1], "log"), host)
' "$M/tm" "$M/other"
}
read -r LOGF DATAN OTHERN LOGN HOSTF < <(facts) || fail "cannot read the image's facts"
[ -n "$HOSTF" ] || fail "no facts: $LOGF $DATAN $OTHERN $LOGN"
crafted "node that does not exist" "tmpfs node 99999 is not in the image" "FILE[$LOGF].tmpfs_node=99999"
crafted "node at another path" "tmpfs node $DATAN is at another path" "FILE[$LOGF].tmpfs_node=$DATAN"
crafted "node of another mount" "tmpfs node $OTHERN is at another path" "FILE[$LOGF].tmpfs_node=$OTHERN"
crafted "path of another node" "tmpfs node $LOGN is at another path" "FILE[$LOGF].path=$M/tm/data"
crafted "path on the host for a node" "tmpfs node $LOGN is at another path" "FILE[$LOGF].path=/etc/passwd"
crafted "host file claimed as a node" "tmpfs node $LOGN is at another path" "FILE[$HOSTF].tmpfs_node=$LOGN"
crafted "directory node for a file" "tmpfs node 1 is (of another type|at another path)" \
	"FILE[$LOGF].tmpfs_node=1"
TMI=$("$VXCR" img json "$T/img" | python3 -c '
import json, sys
ms = next(r["payload"] for r in json.load(sys.stdin)["records"] if r["type"] == "MOUNTS")
print([m["point"] for m in ms["mounts"]].index(sys.argv[1]))' "$M/tm")
crafted "the node's tmpfs as a host mount" "no device|not in a tmpfs mount of the image|not in a tmpfs the restore makes" \
	"MOUNTS[0].mounts[$TMI].kind=1"
crafted "a node with a deleted file" "tmpfs node $LOGN on a record of another kind" \
	"FILE[$LOGF].deleted=true"

# 4. a node's path that the restored namespace resolves into another
# mount: $M/tm/sub/o is a file of the tmpfs on $M/tm/sub, and also (hidden
# under it) a node of the tmpfs on $M/tm.  The image naming the hidden
# node passes the image checks (the path is that node's); the open inside
# the restored namespace finds the file on another mount: refused.
rm -f "$T/out"
start_cmd "$T/out" unshare -m --propagation private sh -c "mount -t tmpfs tm $M/tm &&
	mkdir $M/tm/sub && echo hidden >$M/tm/sub/o && mount -t tmpfs sub $M/tm/sub &&
	echo visible >$M/tm/sub/o && exec 3<$M/tm/sub/o && echo ready >$T/out && exec sleep 1000"
vx_wait_line "$T/out" '^ready$' 20 || fail "the hidden-node tree did not get ready: $(cat "$T/prog.err")"
sleep 0.2
dump "$PID" "$T/img"
md5sum "$T/img" >"$T/img.md5"
read -r OF HIDDEN < <("$VXCR" img json "$T/img" | python3 -c '
import json, sys
recs = json.load(sys.stdin)["records"]
files = [r["payload"] for r in recs if r["type"] == "FILE"]
ms = next(r["payload"] for r in recs if r["type"] == "MOUNTS")
of = next(i for i, f in enumerate(files) if f.get("path") == sys.argv[1] + "/sub/o")
tm = next(m["id"] for m in ms["mounts"] if m["point"] == sys.argv[1])
sub = next(n["id"] for n in ms["nodes"] if n["mount"] == tm and n.get("name") == "sub")
print(of, next(n["id"] for n in ms["nodes"] if n.get("parent") == sub and n.get("name") == "o"))' "$M/tm")
[ -n "$HIDDEN" ] || fail "no hidden node in the image"
crafted "a hidden node under another mount" "is not on the tmpfs this restore made for it" \
	"FILE[$OF].tmpfs_node=$HIDDEN"
restore_bg -d "$T/img"
[ "$(cat "/proc/$PID/fd/3")" = visible ] || fail "fd 3 of the hidden-node tree: $(cat "/proc/$PID/fd/3")"
[ "$(nsenter -t "$PID" -m sh -c "umount -l $M/tm/sub && cat $M/tm/sub/o")" = hidden ] ||
	fail "the hidden file under the mount was not restored"
stop_tree
pass "C tree and python multiprocessing restored with their tmpfs files; 10 hostile images refused"
