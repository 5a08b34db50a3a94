# Bad task_dump / vmad_dump calls come back with their errno, and the
# target (kckpt-prog, stopped mid-loop) is left as it was: it stays
# stopped, and once continued it finds its state intact (PASS).  Cases:
# a bad fd and a read-only fd (EBADF), no such pid (ESRCH), pid 0
# (EINVAL), unknown flag bits and a non-zero reserved field (EINVAL), a
# write error (a full tmpfs: ENOSPC, task_dump and vmad_dump), a file
# only ->write can write (/dev/full: EINVAL, kernel_write's answer), a
# caller that may not ptrace the target (EPERM), a kernel thread
# (EPERM), a running task (EBUSY), one with a seccomp filter, one in a
# mount namespace of its own (ENOTTY); vmad_dump from a multi-threaded
# process (ENOTTY); a target continued during the dump (EBUSY); a dumper
# killed during the dump (it ends at once, the target stays stopped).
. "$VXK/tests/lib.sh"
. "$VXK/tests/ckpt-lib.sh"

# expect CASE WANT CMD...: CMD prints WANT.
expect()
{
	local c=$1 want=$2 got
	shift 2
	got=$("$@" 2>&1)
	[ "$got" = "$want" ] && ok $c || not_ok $c "$*: '$got', want '$want'"
}

if ! start_loop out map.dat; then
	not_ok start "kckpt-prog did not start: $(cat out.stdout)"
	kill_wait $LOOP_PID
	exit 0
fi
P=$LOOP_PID
kill -STOP $P
wait_state $P T || not_ok stop "kckpt-prog $P did not stop"
: >ro.img
expect bad-fd "err EBADF" kckpt-call task_dump $P fd:99 0
expect ro-fd "err EBADF" kckpt-call task_dump $P ro:ro.img 0
expect no-pid "err ESRCH" kckpt-call task_dump 4000000 x.img 0
expect pid-0 "err EINVAL" kckpt-call task_dump 0 x.img 0
expect flags "err EINVAL" kckpt-call task_dump $P x.img 0x100
expect reserved "err EINVAL" kckpt-call task_dump $P x.img 0 1
expect self-flags "err EINVAL" kckpt-call vmad_dump x.img 0x100
mkdir small && mount -t tmpfs -o size=64k tmpfs small
expect write-error "err ENOSPC" kckpt-call task_dump $P small/x.img 0
rm -f small/x.img
expect self-write-error "err ENOSPC" kckpt-call vmad_dump small/y.img 0
umount small
# a file the kernel cannot write (no write_iter: /dev/full's ->write only)
expect no-write-iter "err EINVAL" kckpt-call task_dump $P /dev/full 0
expect not-permitted "err EPERM" kckpt-call -u 65534 task_dump $P x.img 0
expect kthread "err EPERM" kckpt-call task_dump 2 x.img 0

sleep 100 &
S=$!
expect running "err EBUSY" kckpt-call task_dump $S x.img 0
kill_wait $S

# refused: state the image cannot carry
for what in seccomp mntns; do
	kckpt-prog out-$what $what </dev/null >out-$what.stdout 2>&1 &
	T=$!
	if wait_line out-$what '^ready'; then
		kill -STOP $T
		wait_state $T T
		expect $what "err ENOTTY" kckpt-call task_dump $T x.img 0
	else
		not_ok $what "kckpt-prog $what did not start: $(cat out-$what.stdout)"
	fi
	kill_wait $T
done

# A dump takes long on a big sparse area (one lookup per page): the
# target continued meanwhile fails it (EBUSY); the dumper killed meanwhile
# stops at once; the target stays as it was (stopped) either way.
kckpt-prog out-sparse sparse 128 </dev/null >out-sparse.stdout 2>&1 &
B=$!
if wait_line out-sparse '^ready'; then
	kill -STOP $B
	wait_state $B T
	kckpt-call task_dump $B big.img 0 >big.out 2>&1 &
	D=$!
	sleep 1
	if [ -d /proc/$D ]; then
		kill -CONT $B
		wait_for 5 gone $D
		ended=$?
		wait $D
		got=$(cat big.out)
		if [ "$got" = "err EBUSY" ] && [ $ended = 0 ]; then
			ok continued
		else
			not_ok continued "task_dump: '$got' (ended in 5 s: $ended = 0)"
		fi
	else
		not_ok continued "the dump ended before the target was continued: $(cat big.out)"
	fi
	kill -STOP $B
	wait_state $B T
	kckpt-call task_dump $B big.img 0 >big.out 2>&1 &
	D=$!
	sleep 1
	kill -KILL $D
	wait_for 2 gone $D
	ended=$?
	wait $D 2>/dev/null
	if [ $ended = 0 ] && [ "$(proc_state $B)" = T ]; then
		ok dumper-killed
	else
		not_ok dumper-killed "dumper alive 2 s after SIGKILL ($ended), target state $(proc_state $B)"
	fi
else
	not_ok continued "kckpt-prog sparse did not start: $(cat out-sparse.stdout)"
fi
kill_wait $B

# vmad_dump from a process with a second thread
kckpt-prog out-self-threads self-threads x.img </dev/null >/dev/null 2>&1
grep -q 'vmad_dump: ENOTTY' out-self-threads && ok self-threads ||
	not_ok self-threads "$(cat out-self-threads)"

# No harm done: still stopped, then intact.
[ "$(proc_state $P)" = T ] && ok still-stopped || not_ok still-stopped "state $(proc_state $P)"
kill -USR2 $P
kill -CONT $P
wait $P
st=$?
if [ $st = 0 ] && grep -q '^PASS' out; then
	ok target-intact
else
	not_ok target-intact "status $st: $(tail -n 1 out)"
fi
