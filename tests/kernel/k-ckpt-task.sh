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

# wait_line FILE PATTERN: waits (5 s) until a line of FILE matches; 0 or 1.
wait_line()
{
	local i=0
	while [ $i -lt 50 ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# proc_state PID: its state letter (/proc/PID/stat field 3), or nothing.
proc_state()
{
	local s
	s=$(cat /proc/$1/stat 2>/dev/null) || return 0
	s=${s##*) }
	echo "${s%% *}"
}

# wait_state PID LETTER: waits (10 s) until PID is in that state; 0 or 1.
wait_state()
{
	local i=0
	while [ $i -lt 100 ]; do
		[ "$(proc_state $1)" = "$2" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# start_loop OUT MAPFILE [MODE]: starts kckpt-prog's loop (or MODE), sets
# LOOP_PID; waits for its "ready" and lets it spin a little.  0 or 1.
start_loop()
{
	kckpt-prog "$1" "${3:-loop}" "$2" </dev/null >"$1.stdout" 2>&1 &
	LOOP_PID=$!
	wait_line "$1" '^ready' || return 1
	sleep 0.3
}

# kill_wait PID...: SIGKILL and reap each (our children), ignoring errors.
kill_wait()
{
	local p
	for p in "$@"; do
		[ -n "$p" ] || continue
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	return 0
}

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
	restore_go $img $LOOP_PID $out T
	st=$?
	if [ $st = 0 ] && grep -q '^PASS' $out; then
		ok $c-restore
	else
		not_ok $c-restore "status $st: $(tail -n 1 $out) $(tail -n 2 $out.rst)"
	fi
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
	restore_go img-user.vx $LOOP_PID out-user T
	st=$?
	if [ $st = 0 ] && grep -q '^PASS' out-user; then
		ok user-restore
	else
		not_ok user-restore "status $st: $(tail -n 1 out-user) $(tail -n 2 out-user.rst)"
	fi
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
	restore_go img-ptrace.vx $LOOP_PID out-ptrace R
	st=$?
	if [ $st = 0 ] && grep -q '^PASS' out-ptrace; then
		ok ptrace-restore
	else
		not_ok ptrace-restore "status $st: $(tail -n 1 out-ptrace) $(tail -n 2 out-ptrace.rst)"
	fi
else
	not_ok ptrace-start "kckpt-prog did not start"
	kill_wait $LOOP_PID
fi
