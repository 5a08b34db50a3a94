# Checkpoint and restart both in the kernel: a stopped rst-target dumped by
# task_dump (vxcr.ko) comes back by vmad_undump (vxcr.ko) in a fresh
# process, stopped as it was, and passes its own checks once continued;
# a program that dumped itself with vmad_dump is undumped by the module
# and sees the same call return 0 ("restored"), then passes its checks.
. "$VXK/tests/lib.sh"
. "$VXK/tests/rst-lib.sh"
T=$VXK_TMP

rst-target "$T/out" &
pid=$!
if wait_for 30 in_pause $pid && kill -STOP $pid && wait_for 10 stopped_is $pid &&
	kckpt-call task_dump $pid "$T/img" 0 >"$T/dump.log" 2>&1; then
	ok task-dump
else
	not_ok task-dump "$(tail -n 1 "$T/dump.log" 2>/dev/null)"
fi
kill -9 $pid
kill -CONT $pid
wait $pid
: >"$T/out"
rst-undump "$T/img" >"$T/u.log" 2>&1 &
upid=$!
if wait_for 30 stopped_is $upid; then
	ok undump-stopped
	kill -CONT $upid
	if wait_for 30 in_pause $upid && [ -e /proc/$upid ]; then
		kill -USR1 $upid
	fi
	wait $upid
	grep -q PASS "$T/out" && ok undump-checks || not_ok undump-checks "$(tail -n 1 "$T/out")"
else
	not_ok undump-stopped "$(tail -n 1 "$T/u.log")"
	kill -9 $upid
	wait $upid
fi

# vmad_dump then vmad_undump: the self-dump returns twice, all in the kernel
kckpt-prog "$T/sout" self "$T/simg" </dev/null >"$T/s.log" 2>&1
grep -q '^dumped [1-9]' "$T/sout" && ok self-dump || not_ok self-dump "$(tail -n 1 "$T/s.log")"
: >"$T/sout"
rst-undump "$T/simg" </dev/null >"$T/su.log" 2>&1
st=$?
if [ $st = 0 ] && grep -q '^restored$' "$T/sout" && grep -q '^PASS' "$T/sout"; then
	ok self-undump
else
	not_ok self-undump "status $st: $(tr '\n' ' ' <"$T/sout") $(tail -n 1 "$T/su.log")"
fi
