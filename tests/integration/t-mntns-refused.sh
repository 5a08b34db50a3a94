#!/bin/bash
# Mount namespaces that cannot be restored, and hostile MOUNTS records:
# - dump refused, naming the mount, the tree left running: a ramfs (a kind
#   restore does not make), a loop-mounted ext4 image inside the tree, a
#   file held open through a bind of the tree's tmpfs (one held on the
#   tmpfs itself is restored), an inotify watch on a file of its tmpfs;
# - restore refused in one line, nothing left behind (no process, no mount
#   on the host, no file made, image unchanged): the source of a bind
#   replaced between dump and restore; crafted images: a mount point with
#   "..", a tmpfs file named "../x", a mount point that does not exist on
#   the host (not created there), a bind source with another inode, an
#   overlay layer with another inode or "..", a security.* xattr, a
#   fresh mount of a type restore does not make, an unknown option.
. "$(dirname "$0")/lib.sh"
require_cr
M=$T/m
mkdir -p "$M"/{tm,src,b,ram,disk,ov,lo,up,work} || fail "mkdir"
echo data >"$M/src/f"

# start_tree SETUP-LINES: a sleep in its own mount namespace after
# SETUP-LINES (sourced: fds it opens with exec stay open)
start_tree()
{
	printf 'set -e\n%s\necho done >%s/setup.done\n' "$1" "$T" >"$T/setup.sh"
	rm -f "$T/setup.done"
	start_cmd "$T/out" unshare -m --propagation private sh -c ". $T/setup.sh && cd / && exec sleep 1000"
	for ((i = 0; i < 100; i++)); do
		[ "$(cat /proc/$PID/comm 2>/dev/null)" = sleep ] && break
		sleep 0.1
	done
	[ -e "$T/setup.done" ] || fail "the namespace setup failed: $(tail -n 3 "$T/prog.err")"
	vx_remember
}

stop_tree()
{
	kill -9 "$PID"
	vx_wait_gone "$PID" 5
}

# nothing_left WHAT: no mount of the tree on the host, the image unchanged
nothing_left()
{
	grep -q " $M/" /proc/self/mountinfo && fail "$1: a mount of the tree shows on the host"
	md5sum -c --quiet "$T/img.md5" || fail "$1: the image changed"
}

# mount_index POINT: the index of the mount at POINT in MOUNTS[0].mounts
mount_index()
{
	"$VXCR" img json "$T/img" | python3 -c '
import json, sys
r = next(r for r in json.load(sys.stdin)["records"] if r["type"] == "MOUNTS")
print(next(i for i, m in enumerate(r["payload"]["mounts"]) if m["point"] == sys.argv[1]))' "$1"
}

# crafted WHAT PATTERN EDIT...: the image edited is refused saying PATTERN
crafted()
{
	refused_edit "$T/img" "$@"
	nothing_left "$1"
}

guard_allow "fdinfo.*.mnt_id" "fds the tree got from outside its namespace are on mounts of ours; restored, they are opened inside it"

# a ramfs inside: refused at dump, the tree runs on
start_tree "mount -t ramfs ram $M/ram"
expect_dump_refused "ramfs" "mount $M/ram \(ramfs, ram\): a filesystem of its own.*not supported"
stop_tree

# a loop-mounted ext4 image inside
if command -v mkfs.ext4 >/dev/null && [ -e /dev/loop-control ]; then
	truncate -s 8M "$T/disk.img" && mkfs.ext4 -q "$T/disk.img" || fail "mkfs.ext4"
	start_tree "mount -o loop $T/disk.img $M/disk"
	expect_dump_refused "loop ext4" "mount $M/disk \(ext4, /dev/loop[0-9]+\): a filesystem of its own"
	stop_tree
else
	log "no mkfs.ext4 or loop devices: the loop-mounted ext4 case is not run"
fi

# a file held open on the tree's own tmpfs: restored (its node is made
# anew at restore, t-mntns-tmpfsfd); one held through a bind of that
# tmpfs is refused (its path is not the node's)
start_tree "mount -t tmpfs tm $M/tm; echo x >$M/tm/x; exec 3<$M/tm/x"
dump "$PID" "$T/held.img"
restore_bg -d "$T/held.img"
[ "$(cat "/proc/$PID/fd/3")" = x ] || fail "the file held on the tmpfs: $(readlink "/proc/$PID/fd/3")"
stop_tree
start_tree "mount -t tmpfs tm $M/tm; echo x >$M/tm/x; mount --bind $M/tm $M/b; exec 3<$M/b/x"
expect_dump_refused "file through a bind of the tree's tmpfs" "file $M/b/x of pid $PID is on mount $M/tm \(tmpfs\) of the tree's own through another path"
stop_tree
# an inotify watch on a file of the tree's tmpfs (restore would look its
# inode up by a file handle of the dumped tmpfs, which is made anew):
# refused by the inotify code, the tmpfs being in no mount of vxdump's
cat >"$T/watch.py" <<'PY'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init()
if fd < 0 or libc.inotify_add_watch(fd, sys.argv[1].encode(), 2) < 0:
    sys.exit("inotify: %s" % os.strerror(ctypes.get_errno()))
os.execvp("sleep", ["sleep", "1000"])
PY
start_tree "mount -t tmpfs tm $M/tm; echo x >$M/tm/x; echo done >$T/setup.done; exec python3 -S $T/watch.py $M/tm/x"
expect_dump_refused "inotify watch on the tree's tmpfs" "inotify watch wd 1 on inode [0-9]+ of dev 0:[0-9]+: no mount of its filesystem is visible here"
stop_tree

# a tree with a tmpfs and a bind, dumped once; the image is edited below
start_tree "mount -t tmpfs -o size=1m tm $M/tm; echo x >$M/tm/x; mount --bind $M/src $M/b
python3 -S -c 'import os, sys; os.setxattr(sys.argv[1], \"user.k\", b\"v\")' $M/tm/x
mount -t overlay ov -o lowerdir=$M/lo,upperdir=$M/up,workdir=$M/work $M/ov"
dump "$PID" "$T/img"
md5sum "$T/img" >"$T/img.md5"
tm=$(mount_index "$M/tm")
b=$(mount_index "$M/b")
ov=$(mount_index "$M/ov")

crafted "mount point with .." "bad point" "MOUNTS[0].mounts[$tm].point=$M/tm/../tm"
crafted "tmpfs file ../x" "bad parent or name" "MOUNTS[0].nodes[1].name=../x"
crafted "missing mount point" "mount point $M/nowhere does not exist and is not in a tmpfs" \
	"MOUNTS[0].mounts[$tm].point=$M/nowhere"
[ -e "$M/nowhere" ] && fail "restore made $M/nowhere on the host"
crafted "bind source of another inode" "its source /etc is not the one of the dump" \
	"MOUNTS[0].mounts[$b].bind_path=/etc"
crafted "overlay layer of another inode" "layer /etc is not the one of the dump" \
	"MOUNTS[0].mounts[$ov].layers[0].path=/etc"
crafted "overlay layer with .." "bad overlay layers" "MOUNTS[0].mounts[$ov].layers[0].path=$M/lo/../up"
crafted "security.* xattr" "bad xattrs" "MOUNTS[0].nodes[1].xattrs[0].name=security.capability"
crafted "fresh ext4" "a filesystem type restore does not make" \
	"MOUNTS[0].mounts[$tm].fstype=ext4"
crafted "unknown option" "bad options" "MOUNTS[0].mounts[$tm].super=rw,size=1m,huge=always,x=y"

# the bind's source replaced between dump and restore
mv "$M/src" "$M/src.old" && mkdir "$M/src" || fail "cannot replace $M/src"
expect_refused_by "replaced bind source" "its source $M/src is not the one of the dump" \
	"$VXRESTORE" "$T/img"
nothing_left "replaced bind source"
rmdir "$M/src" && mv "$M/src.old" "$M/src" || fail "cannot put $M/src back"
# no process anywhere shows a mount of the tree (the namespace is gone)
ns_gone()
{
	local i
	for ((i = 0; i < 40; i++)); do
		grep -ls " $M/tm " /proc/[0-9]*/mountinfo >/dev/null 2>&1 || return 0
		sleep 0.05
	done
	fail "$1: a process still has the tree's mounts: $(grep -ls " $M/tm " /proc/[0-9]*/mountinfo | head -n 3)"
}
# a failure once the namespace is built, and one once the root is made
for stage in mounts-built tree; do
	VXCR_TEST_FAIL=$stage "$VXRESTORE" "$T/img" >"$T/fail.out" 2>"$T/fail.err" &&
		fail "VXCR_TEST_FAIL=$stage ignored"
	grep -q VXCR_TEST_FAIL "$T/fail.err" || fail "$stage: failed otherwise: $(head -n 2 "$T/fail.err")"
	vx_alive "$PID" && fail "$stage: pid $PID left"
	ns_gone "failed at $stage"
	nothing_left "failed at $stage"
done
# vxrestore killed while the namespace is built
VXCR_TEST_PAUSE=mounts-built "$VXRESTORE" -v "$T/img" >"$T/kill.out" 2>"$T/kill.err" &
kpid=$!
vx_track "$kpid"
for ((i = 0; i < 200; i++)); do
	grep -q "pausing at mounts-built" "$T/kill.err" && break
	sleep 0.05
done
grep -q "pausing at mounts-built" "$T/kill.err" || fail "vxrestore never reached mounts-built"
grep -ls " $M/tm " /proc/[0-9]*/mountinfo >/dev/null || fail "no namespace was built before the kill"
kill -9 "$kpid"
wait "$kpid" 2>/dev/null
ns_gone "vxrestore killed"
nothing_left "vxrestore killed"
log "failed at mounts-built and tree, killed at mounts-built: nothing left"
# and with it back, the same image restores
restore_bg -d "$T/img"
[ "$(nsenter -t "$PID" -m cat "$M/tm/x")" = x ] || fail "tmpfs file not restored"
stop_tree
pass "4 dumps refused, 10 restores refused, nothing left; a file held on the tmpfs restored"
