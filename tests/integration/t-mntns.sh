#!/bin/bash
# A tree of two processes in its own mount namespace (unshare -m
# --propagation private) with: a tmpfs (size and mode options) holding files (3 MiB of random
# bytes, a sparse file, a file with an old mtime and a hard link to it,
# user.* and trusted.* xattrs on a file, a dir, a symlink and the root),
# directories with other owners and modes, a symlink and a FIFO; a nested
# tmpfs on a directory of it; a bind of a host directory; a read-only
# nosuid bind of it; a private proc with /proc/sys bound read-only over
# itself; an mqueue; a shared tmpfs and a slave bind of it; an overlay of
# two lower host directories with an upper one; an unbindable noatime
# tmpfs; a /dev/null
# bind over a host file and an empty read-only tmpfs over a host
# directory (a context's masks).  Dumped, restored: /proc/PID/mountinfo
# inside, normalised (mntns-facts.py: ids, peer groups and anonymous
# devices renumbered), is the same before and after, the tmpfs files are
# the same byte for byte with their modes, owners, mtimes and links, the
# restored tree is in a new mount namespace, and the host sees none of
# its mounts.  A second case restores the same image while the host has a
# mount the tree does not (detached in the new namespace).
. "$(dirname "$0")/lib.sh"
require_cr
M=$T/m
mkdir -p "$M"/{tm,src,b,ro,proc,mq,sh,sl,masked,ov,l1,l2,up,work,ub} && touch "$M/maskfile" ||
	fail "mkdir"
echo "host data" >"$M/src/f"
echo lower1 >"$M/l1/a" && echo lower2 >"$M/l2/b" || fail "overlay layers"

cat >"$T/setup.sh" <<SETUP
set -e
mount -t tmpfs -o size=8m,mode=751 tm $M/tm
head -c 3145728 /dev/urandom >$M/tm/random
truncate -s 10M $M/tm/sparse; printf middle | dd of=$M/tm/sparse bs=1 seek=5000000 conv=notrunc 2>/dev/null
echo hello >$M/tm/file; touch -d 2001-02-03 $M/tm/file; ln $M/tm/file $M/tm/hard
mkdir -p $M/tm/dir/deep; echo deep >$M/tm/dir/deep/y
chown 1000:1001 $M/tm/dir; chmod 1750 $M/tm/dir; chmod 600 $M/tm/dir/deep/y
ln -s file $M/tm/link; mkfifo -m 640 $M/tm/fifo
python3 -S -c 'import os, sys; d = sys.argv[1]
os.setxattr(d + "/file", "user.k", b"v\\0bin"); os.setxattr(d + "/dir", "trusted.t", b"x")
os.setxattr(d + "/link", "trusted.s", b"y", follow_symlinks=False); os.setxattr(d, "user.root", b"r")' $M/tm
mkdir $M/tm/sub; mount -t tmpfs -o size=1m,nr_inodes=100 nested $M/tm/sub; echo n >$M/tm/sub/n
mount --bind $M/src $M/b
mount --bind $M/src $M/ro; mount -o remount,bind,ro,nosuid $M/ro
mount -t proc proc $M/proc
mount --bind $M/proc/sys $M/proc/sys; mount -o remount,bind,ro $M/proc/sys
mount -t mqueue mqueue $M/mq
mount -t tmpfs -o noexec shtmp $M/sh; mount --make-shared $M/sh
mount --bind $M/sh $M/sl; mount --make-slave $M/sl
mount --bind /dev/null $M/maskfile
mount -t tmpfs -o ro,size=0 mask $M/masked
mount -t tmpfs -o nosuid,nodev,noatime ub $M/ub; mount --make-unbindable $M/ub
rm -rf $M/up/* $M/work/*
mount -t overlay ov -o lowerdir=$M/l1:$M/l2,upperdir=$M/up,workdir=$M/work $M/ov
echo upper >$M/ov/c
echo done >$T/setup.done
SETUP

# files DIR-IN-NS: the tree's tmpfs files as its namespace shows them
files()
{
	nsenter -t "$PID" -m sh -c "cd $M/tm && find . -mindepth 1 | sort | while read -r f; do
		stat -c '%n %F %a %u %g %s %h %Y' \"\$f\"
		[ -L \"\$f\" ] && readlink \"\$f\"
		[ -f \"\$f\" ] && md5sum <\"\$f\"
	done; [ hard -ef file ] && echo 'hard is file'; stat -c '%a %u %g' .
	python3 -S -c 'import os, sys
for p in sys.argv[1:]:
    print(p, sorted((k, os.getxattr(p, k, follow_symlinks=False))
                    for k in os.listxattr(p, follow_symlinks=False)))' . file hard dir link fifo"
}

# stop_tree: the root and its children, by pid
stop_tree()
{
	local c kids
	kids=$(cat "/proc/$PID/task/$PID/children" 2>/dev/null)
	kill -9 "$PID" $kids
	vx_wait_gone "$PID" 5
	for c in $kids; do vx_wait_gone "$c" 5; done
}

run_case()
{
	local img=$1 c kids=0
	"$VX_ROOT/tests/integration/mntns-facts.py" "$PID" >"$T/before.facts" || fail "mntns-facts.py"
	files >"$T/before.files" || fail "cannot list the tmpfs"
	dump "$PID" "$img"
	grep -q MOUNTS <("$VXCR" img show "$img" 2>&1) || fail "no MOUNTS record in the image"
	md5sum "$img" >"$T/img.md5"
	[ -z "${2:-}" ] || $2
	restore_bg -d "$img"
	[ "$(readlink "/proc/$PID/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] ||
		fail "restored into vxrestore's mount namespace"
	for c in $(cat "/proc/$PID/task/$PID/children"); do
		[ "$(readlink "/proc/$c/ns/mnt")" = "$(readlink "/proc/$PID/ns/mnt")" ] ||
			fail "child $c of the restored root is in another mount namespace"
		kids=$((kids + 1))
	done
	"$VX_ROOT/tests/integration/mntns-facts.py" "$PID" >"$T/after.facts" || fail "mntns-facts.py"
	files >"$T/after.files" || fail "cannot list the tmpfs after restore"
	diff "$T/before.facts" "$T/after.facts" >"$T/facts.diff" ||
		fail "mounts differ after restore: $(head -n 8 "$T/facts.diff" | tr '\n' ' ')"
	diff "$T/before.files" "$T/after.files" >"$T/files.diff" ||
		fail "tmpfs files differ after restore: $(head -n 8 "$T/files.diff" | tr '\n' ' ')"
	md5sum -c --quiet "$T/img.md5" || fail "the image changed"
	grep -q " $M/" /proc/self/mountinfo && fail "a mount of the tree shows on the host"
	[ "$(nsenter -t "$PID" -m cat "$M/ov/a" "$M/ov/b" "$M/ov/c" | tr '\n' ' ')" = "lower1 lower2 upper " ] ||
		fail "the overlay does not show its layers"
	[ "$kids" = 1 ] || fail "the restored root has $kids children, not 1"
	log "$(wc -l <"$T/after.facts") mounts and $(wc -l <"$T/after.files") file facts equal, a child in the namespace too"
}

start_cmd "$T/out" unshare -m --propagation private sh -c "sh $T/setup.sh && cd / && { sleep 1001 & exec sleep 1000; }"
for ((i = 0; i < 100; i++)); do
	[ "$(cat /proc/$PID/comm 2>/dev/null)" = sleep ] && break
	sleep 0.1
done
[ -e "$T/setup.done" ] || fail "the namespace setup failed: $(tail -n 3 "$T/prog.err")"
guard_allow "fdinfo.*.mnt_id" "fds the tree got from outside its namespace are on mounts of ours (not in its mountinfo); restored, they are opened inside it, on its copies"
run_case "$T/img"
grep -q "^$M/sl#0 .* master:g" "$T/after.facts" || fail "the slave lost its master"
# again from the restored tree, the host with a mount of its own on the way
stop_tree
start_cmd "$T/out2" unshare -m --propagation private sh -c "sh $T/setup.sh && cd / && { sleep 1001 & exec sleep 1000; }"
for ((i = 0; i < 100; i++)); do
	[ "$(cat /proc/$PID/comm 2>/dev/null)" = sleep ] && break
	sleep 0.1
done
mkdir -p "$T/hostonly"
vx_case_cleanup() { umount "$T/hostonly" 2>/dev/null; true; }
host_mount() { mount -t tmpfs hostonly "$T/hostonly" || fail "cannot mount on the host"; }
run_case "$T/img2" host_mount
stop_tree
pass "$(wc -l <"$T/after.facts") mounts, $(wc -l <"$T/after.files") file facts"
