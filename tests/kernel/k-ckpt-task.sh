# In-kernel checkpoint of a stopped task (task_dump, PROCMIG/20): kckpt-prog
# stopped mid-loop (SIGSTOP) is dumped by the module into a file; `vxcr img
# verify` accepts the image; the task is killed and vxrestore (userspace
# engine) brings it back, stopped as it was; continued, it checks its
# registers (r12-r15, xmm0 in the loop), memory (anonymous, heap, stack, a
# private file mapping with a copied page) and signal state (mask, pending,
# handlers) and reports PASS.  The same with vxdump first (the baseline:
# the userspace dump works in this guest), with VMAD_DUMP_ALL (file areas
# stored with contents: the mapped file is rewritten before the restore,
# which does not need it), and from a ptrace-stopped task; a plain dump's
# mapped file changed before the restore: refused, nothing left behind.
# threads: two threads, each spinning with its own registers and mask.
# libs: VMAD_DUMP_LIBS, and which files stay references with LIBS and
# with OTHER.  Bad calls come
# back with their errno and leave the target as it was.
. "$VXK/tests/lib.sh"
. "$VXK/tests/ckpt-lib.sh"

# restore_go IMAGE PID OUT STATE: restores IMAGE (userspace engine) in the
# background, waits for PID to be back in STATE (T: stopped as it was
# dumped, R: running), continues it, sends the go signal (SIGUSR2) and
# waits for vxrestore, which exits with the program's status.  Returns the
# status, or 99 when PID did not come back in STATE.
restore_go()
{
	local rpid st
	VXCR_VSERVER_DEV= vxrestore "$1" >"$3.rst" 2>&1 &
	rpid=$!
	if ! wait_state "$2" $4; then
		kill_wait "$2" $rpid
		return 99
	fi
	kill -USR2 "$2"
	kill -CONT "$2"
	wait $rpid
	st=$?
	return $st
}

# restore_check CASE IMAGE PID OUT STATE: restore_go, then ok when the
# program passed its checks (PASS in OUT).
restore_check()
{
	local st
	restore_go "$2" "$3" "$4" "$5"
	st=$?
	if [ $st = 0 ] && grep -q '^PASS' "$4"; then
		ok "$1"
	else
		not_ok "$1" "status $st: $(tail -n 1 "$4") $(tail -n 2 "$4.rst")"
	fi
}

# dump_case CASE FLAGS [change|mthreads]: start, stop, task_dump with
# FLAGS, verify, kill, (change: rewrite the mapped file, which a whole dump
# does not need), restore, check.  mthreads: kckpt-prog with two threads.
dump_case()
{
	local c=$1 out=out-$1 img=img-$1.vx size got mode=loop
	[ "${3:-}" = mthreads ] && mode=mthreads
	if ! start_loop $out map-$c.dat $mode; then
		not_ok $c-start "kckpt-prog did not start: $(cat $out.stdout)"
		kill_wait $LOOP_PID
		return
	fi
	kill -STOP $LOOP_PID
	if ! wait_state $LOOP_PID T; then
		not_ok $c-stop "kckpt-prog $LOOP_PID did not stop"
		kill_wait $LOOP_PID
		return
	fi
	got=$(kckpt-call task_dump $LOOP_PID $img $2)
	size=$(stat -c %s $img 2>/dev/null)
	if [ "$got" = "ret $size" ]; then
		ok $c-dump
	else
		not_ok $c-dump "task_dump: '$got', image of $size bytes"
	fi
	check $c-verify vxcr img verify $img
	kill_wait $LOOP_PID
	[ "${3:-}" = change ] && echo changed >map-$c.dat
	restore_check $c-restore $img $LOOP_PID $out T
}

# The baseline: the same program through the userspace dump.
if start_loop out-user map-user.dat; then
	kill -STOP $LOOP_PID
	wait_state $LOOP_PID T
	if VXCR_VSERVER_DEV= vxdump --leave-running --compress none -o img-user.vx $LOOP_PID \
		2>dump.err; then
		ok user-dump
	else
		not_ok user-dump "vxdump: $(tail -n 1 dump.err)"
	fi
	kill_wait $LOOP_PID
	restore_check user-restore img-user.vx $LOOP_PID out-user T
else
	not_ok user-start "kckpt-prog did not start"
	kill_wait $LOOP_PID
fi

dump_case plain 0
dump_case whole 7 change
dump_case threads 0 mthreads
dump_case libs 1

# The classes are per file: LIBS (1) stores every area of the libraries
# (ld.so, libc ...), so only the exe and the data file stay references;
# OTHER (4) stores the data file's, so it is the one reference gone.
maps()
{
	vxcr img json "$1" | grep -o '"kind":"FILE_MAPONLY","path":"[^"]*"' |
		sed 's/.*"path":"//; s/"$//' | sort | tr '\n' ' '
}
got=$(maps img-libs.vx)
want=$(printf '%s\n' "$(command -v kckpt-prog)" "$PWD/map-libs.dat" | sort | tr '\n' ' ')
[ "$got" = "$want" ] && ok libs-references || not_ok libs-references "got '$got', want '$want'"
if start_loop out-other map-other.dat; then
	kill -STOP $LOOP_PID
	wait_state $LOOP_PID T
	kckpt-call task_dump $LOOP_PID img-other.vx 4 >/dev/null
	kill_wait $LOOP_PID
	got=$(maps img-other.vx)
	case "$got" in
	*map-other.dat*) not_ok other-references "the data file is still a reference: $got" ;;
	*libc.so*) ok other-references ;;
	*) not_ok other-references "libc is no reference: $got" ;;
	esac
else
	not_ok other-start "kckpt-prog did not start"
	kill_wait $LOOP_PID
fi

# A mapped file is a reference: changed since the dump, restore refuses
# the image and leaves no process behind.
if start_loop out-stale map-stale.dat; then
	kill -STOP $LOOP_PID
	wait_state $LOOP_PID T
	kckpt-call task_dump $LOOP_PID img-stale.vx 0 >/dev/null
	kill_wait $LOOP_PID
	echo changed >map-stale.dat
	if VXCR_VSERVER_DEV= vxrestore img-stale.vx >out-stale.rst 2>&1; then
		not_ok stale-file "vxrestore restored an image whose mapped file changed"
		kill_wait $LOOP_PID
	elif [ -d /proc/$LOOP_PID ]; then
		not_ok stale-file "pid $LOOP_PID is back after a refused restore"
	else
		ok stale-file
	fi
else
	not_ok stale-start "kckpt-prog did not start"
	kill_wait $LOOP_PID
fi

# A task ptrace-stopped by its dumper (PTRACE_INTERRUPT), not group-stopped:
# it comes back running.
if start_loop out-ptrace map-ptrace.dat; then
	got=$(kckpt-ptrace $LOOP_PID img-ptrace.vx)
	size=$(stat -c %s img-ptrace.vx 2>/dev/null)
	[ "$got" = "ret $size" ] && ok ptrace-dump ||
		not_ok ptrace-dump "task_dump: '$got', image of $size bytes"
	check ptrace-verify vxcr img verify img-ptrace.vx
	kill_wait $LOOP_PID
	restore_check ptrace-restore img-ptrace.vx $LOOP_PID out-ptrace R
else
	not_ok ptrace-start "kckpt-prog did not start"
	kill_wait $LOOP_PID
fi
