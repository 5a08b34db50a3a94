#!/bin/bash
# Seed corpus of the libFuzzer harnesses: real images, made by dumping test
# programs (tests/progs) with this build's vxdump: a single process
# (compressed and not), fds of every kind with a deleted file and pipe
# data, a tree with sessions, groups, a stopped task and zombies, threads,
# seccomp filters, signals and timers, a deleted mapped file, deleted
# files (sparse, shared by fds and a mapping) and removed directories,
# FIFOs and device nodes (ghost_id, cwd_file_id, dev_path), SysV and
# memfd shared memory, a tree in its own mount namespace, and a whole
# context.  Real dumps rather than
# synthetic records: they carry what the kernel actually hands vxdump
# (vdso, xsave, auxv, every field filled), which a generator would have to
# keep in step with the dumper by hand.  Needs root and ptrace, as
# `make check` does; CI runs as root.  Without them, or for a program that
# does not dump here, that seed is skipped with a note; at least one seed
# must be made.
#
# Usage: make-seeds.sh BUILD DIR   (DIR/.done: made already, nothing to do)
set -u
BUILD=$1 DIR=$2
BUILD=$(cd "$BUILD" && pwd) || exit 1
VXCR=$BUILD/bin/vxcr PROGS=$BUILD/tests/progs
[ -e "$DIR/.done" ] && exit 0
mkdir -p "$DIR"
if [ "$(id -u)" != 0 ] || ! "$VXCR" check -q >/dev/null 2>&1; then
	echo "make-seeds: needs root and the features of 'vxcr check': no real images" >&2
	exit 1
fi
T=$(mktemp -d /tmp/vxcr-seeds.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT
export VXCR_RUNDIR=$T/run	# the context's record and exit file are ours
made=0

# bare CMD...: runs CMD with fds 0-2 only (an inherited fd, such as the
# build lock of `flock LOCK make fuzz`, would be dumped or refused with it).
bare()
{
	local fd
	for fd in /proc/$BASHPID/fd/*; do
		fd=${fd##*/}
		[ "$fd" -gt 2 ] && eval "exec $fd>&-"
	done
	exec "$@"
}

# seed NAME PROG [ARG] [-- DUMP-OPTIONS]: dumps PROG once it is ready
# (run through the command in SEED_WRAP, if any, which must exec it).
SEED_WRAP=()
seed()
{
	local name=$1 prog=$2 pid i opts=()
	shift 2
	local args=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do args+=("$1"); shift; done
	[ $# -gt 0 ] && { shift; opts=("$@"); }
	rm -f "$T/out"
	( cd "$T" && bare "${SEED_WRAP[@]}" "$PROGS/$prog" "$T/out" "${args[@]}" </dev/null \
		>/dev/null 2>&1 ) &
	pid=$!
	for i in $(seq 100); do
		grep -q '^ready$' "$T/out" 2>/dev/null && break
		sleep 0.1
	done
	sleep 0.2
	if "$VXCR" dump "${opts[@]}" -o "$DIR/$name" "$pid" 2>"$T/err"; then
		made=$((made + 1))
	else
		echo "make-seeds: $name: $(head -n 1 "$T/err") (skipped)" >&2
		kill -9 "$pid" 2>/dev/null
	fi
	{ wait "$pid"; } 2>/dev/null
}

seed counter counter
seed counter-plain counter -- --compress none
# the counter's frames stored as Raw_Blocks, which the pool reads in place
if [ -s "$DIR/counter" ] && "$BUILD/tests/fuzz/raw-frames" "$DIR/counter" "$DIR/counter-rawframes"
then
	made=$((made + 1))
fi
seed fds fds
seed eventfd eventfd
seed signalfd signalfd
seed timerfd timerfd
seed pidfd pidfd
seed epoll epoll
mkdir -p "$T/inotify" && seed inotify inotify "$T/inotify"
mkdir -p "$T/fanotify" && seed fanotify fanotify "$T/fanotify" user
seed unixsk unixsk
seed unixsk-scm unixsk-scm
seed netlinksk netlinksk
seed tcpsk tcpsk
seed pty pty
seed opath opath
seed procfiles procfiles
seed fown fown
seed tree-sessions tree-sessions
seed thread-basic thread-basic
seed seccomp seccomp
seed signals signals
seed timers timers
seed deleted-map deleted-map
seed deleted-files deleted-files
seed deleted-objects deleted-objects
seed share-variants share-variants
seed creds creds

# cgroup membership (a CGROUP record): the groups tests/progs/cgroup.c
# wants, under a temporary group we join for the time of the dump
cg_dir() { awk -F: -v c="$1" '$2 == c {print $3; exit}' /proc/self/cgroup; }
cg_mnt() { awk -v c="$1" '{ for (i = 7; $i != "-"; i++) ;
	if ((c == "" && $(i+1) == "cgroup2") || (c != "" && $(i+1) == "cgroup" &&
	    index("," $(i+3) ",", "," c ","))) { print $5; exit } }' /proc/self/mountinfo; }
g2=$(cg_mnt "")$(cg_dir "") g1=$(cg_mnt pids)$(cg_dir pids)
g2=${g2%/}/vxcr-seed.$$ g1=${g1%/}/vxcr-seed.$$
if mkdir -p "$g2/kid/thr" "$g1/kid" "$g1/rt" 2>/dev/null &&
	echo threaded >"$g2/kid/thr/cgroup.type" && echo $$ >"$g2/cgroup.procs" &&
	echo $$ >"$g1/cgroup.procs"; then
	seed cgroup cgroup "$g2" "$g1"
else
	echo "make-seeds: cgroup: cannot make the groups (skipped)" >&2
fi
echo $$ >"${g2%/*}/cgroup.procs" 2>/dev/null
echo $$ >"${g1%/*}/cgroup.procs" 2>/dev/null
sleep 0.2
find "$g2" "$g1" -depth -type d -exec rmdir {} + 2>/dev/null

# a tree in its own mount namespace (MOUNTS, TMPFS_DATA): a tmpfs with a
# file (held open: a FILE with tmpfs_node) and a symlink, a bind of a host
# directory, a proc, a shared tmpfs and a slave bind of it
M=$T/mnt
if mkdir -p "$M/tm" "$M/src" "$M/b" "$M/proc" "$M/sh" "$M/sl"; then
	( bare unshare -m --propagation private sh -c "mount -t tmpfs -o size=1m tm $M/tm &&
		echo x >$M/tm/f && ln -s f $M/tm/l && mkfifo $M/tm/p && mount --bind $M/src $M/b &&
		mount -t proc proc $M/proc && mount -t tmpfs sh $M/sh && mount --make-shared $M/sh &&
		mount --bind $M/sh $M/sl && mount --make-slave $M/sl && exec 3<$M/tm/f && cd / &&
		exec sleep 1000" \
		</dev/null >/dev/null 2>&1 ) &
	pid=$!
	sleep 0.5
	if "$VXCR" dump -o "$DIR/mntns" "$pid" 2>"$T/err"; then
		made=$((made + 1))
	else
		echo "make-seeds: mntns: $(head -n 1 "$T/err") (skipped)" >&2
		kill -9 "$pid" 2>/dev/null
	fi
	{ wait "$pid"; } 2>/dev/null
fi

# a time namespace of its own (a LIMITS record with its clocks)
if unshare -T true 2>/dev/null; then
	SEED_WRAP=(unshare -T --monotonic 100000 --boottime 250000)
	seed timens timens 1500 0
	SEED_WRAP=()
fi

# ctx_seed NAME XID CREATE-ARG...: the image NAME of context XID made by
# `vxcr ctx create XID CREATE-ARG...`
ctx_seed()
{
	local name=$1 x=$2
	shift 2
	if ! ( bare "$VXCR" ctx create "$x" "$@" </dev/null >/dev/null 2>"$T/err" ); then
		echo "make-seeds: $name: $(head -n 1 "$T/err") (skipped)" >&2
		return
	fi
	sleep 0.3
	if "$VXCR" dump --ctx "$x" -o "$DIR/$name" 2>"$T/err"; then
		made=$((made + 1))
	else
		echo "make-seeds: $name: $(head -n 1 "$T/err") (skipped)" >&2
		"$VXCR" ctx kill "$x" >/dev/null 2>&1
	fi
}

# a whole context: its init and a child
xid=$((40000 + $$ % 20000))
ctx_seed context "$xid" --hostname fuzz -- sh -c 'sleep 1000 & exec sleep 1000'
# a context with a root of its own (MOUNTS of kinds MNT_CTX and MNT_FRESH,
# its /dev and /dev/shm files): a busybox guest
BB=$(command -v busybox)
G=$T/guest
if [ -n "$BB" ] && mkdir -p "$G/bin" "$G/proc" "$G/sys" "$G/dev" && cp "$BB" "$G/bin/busybox" &&
	ln -s busybox "$G/bin/sh" && ln -s busybox "$G/bin/sleep"; then
	ctx_seed context-root "$((xid + 1))" --root "$G" -- \
		sh -c 'echo x >/dev/shm/f; echo y >/dev/mine; exec sleep 1000'
else
	echo "make-seeds: context-root: no busybox (skipped)" >&2
fi
echo "make-seeds: $made real images in $DIR ($(du -sh "$DIR" | cut -f1))"
[ "$made" -gt 0 ] && touch "$DIR/.done"
