# vmad_undump (vxcr.ko): a process dumped by the userspace engine (vxcr
# dump --compress none) is brought back in another process, which calls
# the module and becomes it: its memory (heap, mmap, a read-only area, a
# dirty .data page), registers (rbx, r12-r15, xmm8 at the checkpoint
# point), the syscall it was in (pause, re-issued: the image's rax),
# signal handlers, ignored signals and blocked mask; rst-target checks
# them itself after SIGUSR1 and writes PASS.  From a file (read twice:
# checked, then committed) and from a pipe (read once).  Then crafted
# images: each must fail with its errno and leave the caller alive.
. "$VXK/tests/lib.sh"
. "$VXK/tests/rst-lib.sh"

T=$VXK_TMP
EBADMSG=74
EINVAL=22
ENOTTY=25
EPROTO=71
EPERM=1
ESTALE=116
EBUSY=16

# dump_pid CASE PID ARGS...: PID, an rst-target, once at its checkpoint
# point, dumped by vxcr dump ARGS (it is killed then).
dump_pid()
{
	local name=$1 pid=$2
	shift 2
	if ! wait_for 30 in_pause $pid || [ ! -e /proc/$pid ]; then
		not_ok "$name" "rst-target did not reach its checkpoint point"
		kill -9 $pid 2>/dev/null
		return 1
	fi
	if ! vxcr dump "$@" $pid >"$T/dump.log" 2>&1; then
		not_ok "$name" "vxcr dump: $(tail -n 1 "$T/dump.log")"
		kill -9 $pid
		return 1
	fi
	wait_for 30 gone $pid
}

# dump_target CASE OUT ARGS...: rst-target OUT, dumped by dump_pid.
dump_target()
{
	local name=$1 pid ret
	rst-target "$2" &
	pid=$!
	shift 2
	dump_pid "$name" $pid "$@"
	ret=$?
	wait $pid
	return $ret
}

dump_target dump "$T/out" --compress none -o "$T/img" || exit 1
ok dump

# undumped CASE PID [OUT]: PID (rst-undump's) becomes rst-target in
# pause(), gets SIGUSR1, exits 0 with PASS in OUT (default $T/out).
undumped()
{
	local rc out=${3:-$T/out}
	if ! wait_for 60 in_pause "$2" || [ ! -e "/proc/$2" ]; then
		not_ok "$1" "not rst-target in pause: $(cat "$T/u.log" 2>/dev/null)"
		kill -9 "$2" 2>/dev/null
		wait "$2"
		return
	fi
	kill -USR1 "$2"
	wait "$2"
	rc=$?
	if [ $rc = 0 ] && grep -q '^PASS rst-target$' "$out"; then
		ok "$1"
	else
		not_ok "$1" "exit $rc: $(tail -n 1 "$out")"
	fi
}

: >"$T/out"
rst-undump "$T/img" >"$T/u.log" 2>&1 &
undumped file $!

: >"$T/out"
mkfifo "$T/fifo"
rst-undump - <"$T/fifo" >"$T/u.log" 2>&1 &
upid=$!
cat "$T/img" >"$T/fifo"
undumped pipe $upid

: >"$T/out"
rst-craft optional "$T/img" "$T/opt"
rst-undump "$T/opt" >"$T/u.log" 2>&1 &
undumped optional-record-skipped $!

# a pipe is read once: a stream cut inside the pages fails past the point
# of no return, and the caller is killed (SIGKILL), as exec does
rst-craft truncate "$T/img" "$T/cut"
rst-undump - <"$T/fifo" >"$T/u.log" 2>&1 &
upid=$!
cat "$T/cut" >"$T/fifo"
wait $upid
rc=$?
[ $rc = 137 ] && ok pipe-cut-killed || not_ok pipe-cut-killed "exit $rc, want 137: $(cat "$T/u.log")"

# fd 1 a pipe to a reader outside the image: the caller's own fd 1 is
# kept (a file here), every other fd of the caller is closed
{ rst-target "$T/out1" keep1 & echo $! >"$T/pid1"; wait; } | cat >/dev/null &
if wait_for 30 [ -s "$T/pid1" ] && dump_pid dump-fd1 "$(cat "$T/pid1")" \
	--compress none -o "$T/img1"; then
	rst-undump "$T/img1" >"$T/fd1.out" 2>"$T/u.log" &
	upid=$!
	undumped fd1-kept $upid "$T/out1"
	grep -q '^fd1 ok$' "$T/fd1.out" && ok fd1-written || not_ok fd1-written "$(cat "$T/fd1.out")"
fi
wait

# a stopped process (SIGSTOP) comes back stopped; continued, it goes on
rst-target "$T/outs" &
spid=$!
if wait_for 30 in_pause $spid && kill -STOP $spid && wait_for 10 stopped_is $spid &&
	vxcr dump --compress none -o "$T/imgs" $spid >"$T/dump.log" 2>&1; then
	wait $spid
	rst-undump "$T/imgs" >"$T/u.log" 2>&1 &
	upid=$!
	if wait_for 60 stopped_is $upid; then
		ok stopped-stays-stopped
		kill -CONT $upid
		undumped stopped-continued $upid "$T/outs"
	else
		not_ok stopped-stays-stopped "not stopped: $(cat "$T/u.log")"
		kill -9 $upid 2>/dev/null
		wait $upid
	fi
else
	not_ok stopped-dump "$(tail -n 1 "$T/dump.log")"
	kill -9 $spid 2>/dev/null
	wait $spid
fi

# a signal while the module waits for a pipe: -EINTR, not a restart of
# the call (which would read the stream from the middle), the caller alive
# in_ioctl PID: PID is in ioctl() (syscall 16).
in_ioctl()
{
	local nr
	read -r nr _ 2>/dev/null <"/proc/$1/syscall" || return 1
	[ "$nr" = 16 ]
}
mkfifo "$T/fifo2"
exec 8<>"$T/fifo2"
rst-undump --sig - <"$T/fifo2" >"$T/u.log" 2>&1 &
upid=$!
if wait_for 30 in_ioctl $upid; then
	kill -USR1 $upid
	wait $upid
	out=$(cat "$T/u.log")
	[ "$out" = "errno 4 alive" ] && ok signal-eintr || not_ok signal-eintr "got: $out"
else
	not_ok signal-eintr "rst-undump not in its ioctl: $(cat "$T/u.log")"
	kill -9 $upid 2>/dev/null
	wait $upid
fi
exec 8>&-

# zstd frames (the engine's default format: compressed and raw frames)
if dump_target dump-zstd "$T/outz" --compress zstd -o "$T/imgz"; then
	rst-undump "$T/imgz" >"$T/u.log" 2>&1 &
	upid=$!
	undumped zstd $upid "$T/outz"
	rst-craft zmagic "$T/imgz" "$T/badz"
	out=$(rst-undump "$T/badz" 2>&1)
	[ "$out" = "errno $EBADMSG alive" ] && ok zstd-bad-frame ||
		not_ok zstd-bad-frame "want errno $EBADMSG alive, got: $out"
fi

# refused CASE ERRNO MODE [--as UID]: the crafted image fails with ERRNO,
# the caller alive.
refused()
{
	local out
	rst-craft "$3" "$T/img" "$T/bad" || {
		not_ok "$1" "rst-craft $3 failed"
		return
	}
	out=$(rst-undump ${4:-} "$T/bad" 2>&1)
	[ "$out" = "errno $2 alive" ] && ok "$1" || not_ok "$1" "want errno $2 alive, got: $out"
}

refused bad-crc $EBADMSG badcrc
refused truncated $EBADMSG truncate
refused length-past-end $EBADMSG lenpast
refused pb-length-past-end $EBADMSG pblen
refused kernel-half-area $EINVAL kernelarea
refused second-thread $ENOTTY twothreads
refused seccomp-record $ENOTTY seccomp
refused unknown-required-record $EPROTO unknown
refused vdso-of-another-kernel $ENOTTY vdso
refused mapped-file-changed $ESTALE fileino
refused uid-not-the-callers $EPERM same "--as 1000"
refused caller-two-threads $EBUSY same --thread
