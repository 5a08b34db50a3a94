#!/bin/sh
# /init of the kernel tests' guest (tests/kernel/run.sh packs it; busybox sh,
# pid 1).  Mounts what the tests and vxcr need, loads vxcr.ko, runs every
# /vxcr/tests/k-*.sh whose name matches vxk_tests= (kernel command line;
# patterns separated by commas),
# each its own process with a time limit (vxk_timeout=), and counts their
# "ok NAME[/CASE]" / "not ok NAME[/CASE]: reason" lines (NAME: the test's;
# other lines are its output, shown after "# ").  A test also fails if it exits
# non-zero without a "not ok" line, prints no verdict, leaves a process
# running, or the kernel logs a WARNING, BUG, Oops or general protection
# fault while it runs.  Then unloads the module (it must go cleanly) and
# prints "N passed, N failed" for the host (run.sh) before powering off.

export PATH=/vxcr/bin:/vxcr/progs:/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/root
VXK=/vxcr
export VXK
passed=0
failed=0

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/null >/dev/console 2>&1
echo # the firmware's last line has no newline
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t mqueue mqueue /dev/mqueue
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t cgroup2 cgroup2 /sys/fs/cgroup
ln -s /proc/self/fd /dev/fd
hostname vxk
ip link set lo up 2>/dev/null

pattern='k-*'
tmo=180
oifs=$IFS
set -f
for arg in $(cat /proc/cmdline); do
	case $arg in
	vxk_tests=*) pattern=${arg#vxk_tests=} ;;
	vxk_timeout=*) tmo=${arg#vxk_timeout=} ;;
	esac
done
set +f

finish()
{
	echo "$passed passed, $failed failed"
	sync
	poweroff -f
	sleep 60
}

# fail NAME REASON: one failed case of the harness's own.
fail()
{
	echo "not ok $1: $2"
	failed=$((failed + 1))
}

# kernel_trouble MARK: the kernel's complaints logged since MARK (a line
# written to /dev/kmsg), one a line.
kernel_trouble()
{
	dmesg | sed -n "/$1\$/,\$p" |
		grep -E 'WARNING|BUG[: ]|Oops|general protection|Kernel panic|refcount_t|list_(add|del) corruption'
}

# leftovers: "pid(comm)" of each process other than init, kernel threads
# and zombies, on one line.  Builtins only: a forked helper would list itself.
leftovers()
{
	local d line comm
	for d in /proc/[0-9]*; do
		[ "${d#/proc/}" = 1 ] && continue
		read -r line <"$d/stat" 2>/dev/null || continue
		comm=${line#*(}
		comm=${comm%)*}
		set -- ${line##*) }
		[ "$1" = Z ] || [ "$2" = 2 ] || [ "$2" = 0 ] && continue
		printf '%s(%s) ' "${d#/proc/}" "$comm"
	done
}

# check_leftovers NAME: fails NAME if processes outlive it and its
# subreaper (one that escaped it), then kills every one of them.
check_leftovers()
{
	leftovers >/tmp/vxk-left
	[ -s /tmp/vxk-left ] || return 0
	fail "$1" "left processes running: $(cat /tmp/vxk-left)"
	kill -KILL -1 2>/dev/null
	sleep 1
}

# run_test FILE: runs one k-*.sh and counts its verdicts.
run_test()
{
	local name=$1 out=/tmp/vxk-$1.out st np nf trouble
	mkdir -p "/tmp/vxk-$name"
	echo "# $name" # on the console before it runs: names the one that hangs
	echo "vxk: begin $name" >/dev/kmsg
	VXK_TMP=/tmp/vxk-$name VXK_NAME=$name \
		subreaper -t "$tmo" sh "$VXK/tests/$name.sh" >"$out" 2>&1
	st=$?
	echo "vxk: end $name" >/dev/kmsg
	np=0
	nf=0
	while IFS= read -r line; do
		case $line in
		"ok $name" | "ok $name/"*)
			np=$((np + 1))
			echo "$line"
			;;
		"not ok $name:"* | "not ok $name/"*)
			nf=$((nf + 1))
			echo "$line"
			;;
		*) echo "# $line" ;;
		esac
	done <"$out"
	passed=$((passed + np))
	failed=$((failed + nf))
	if [ "$st" = 124 ]; then
		fail "$name" "timed out after $tmo s (killed)"
	elif grep -q '^subreaper: killing leftover' "$out"; then
		fail "$name" "left processes running (see above)"
	elif [ "$st" != 0 ] && [ "$nf" = 0 ]; then
		fail "$name" "exit $st without a 'not ok' line"
	elif [ "$np" = 0 ] && [ "$nf" = 0 ]; then
		fail "$name" "printed no verdict"
	fi
	check_leftovers "$name"
	trouble=$(kernel_trouble "vxk: begin $name")
	[ -n "$trouble" ] && fail "$name" "kernel: $(echo "$trouble" | head -n 3)"
	rm -rf "/tmp/vxk-$name"
}

echo "vxk: insmod" >/dev/kmsg
if ! out=$(insmod $VXK/vxcr.ko 2>&1); then
	fail insmod "$out"
	dmesg | tail -n 20
	finish
fi
trouble=$(kernel_trouble "vxk: insmod")
[ -n "$trouble" ] && fail insmod "kernel: $trouble"

for t in $VXK/tests/k-*.sh; do
	[ -f "$t" ] || continue
	name=${t##*/}
	name=${name%.sh}
	match=0
	set -f
	IFS=,
	for p in $pattern; do
		case $name in $p) match=1 ;; esac
	done
	IFS=$oifs
	set +f
	[ $match = 1 ] && run_test "$name"
done

echo "vxk: rmmod" >/dev/kmsg
if out=$(rmmod vxcr 2>&1); then
	[ -e /dev/vserver ] && fail rmmod "/dev/vserver still there after rmmod"
else
	fail rmmod "$out"
fi
trouble=$(kernel_trouble "vxk: rmmod")
[ -n "$trouble" ] && fail rmmod "kernel: $trouble"
finish
