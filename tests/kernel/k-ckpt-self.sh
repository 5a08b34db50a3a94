# vmad_dump (PROCMIG/18): kckpt-prog calls it through vserver() in libvxcr
# and prints the byte count it returns ("dumped N", N the image's size);
# `vxcr img verify` accepts the image; vxrestore restores it and in the
# restored copy the same call returns 0 ("restored"); both copies find
# their memory (anonymous, heap, stack, a local) and MXCSR (rounding set
# before the call: the live FPU state the dump saves) intact (PASS).  Plain,
# with VMAD_DUMP_ALL, and into a pipe.
. "$VXK/tests/lib.sh"

self_case()
{
	local c=$1 out=out-$1 img=img-$1.vx size
	kckpt-prog $out self $img $2 </dev/null >$out.stdout 2>&1
	st=$?
	size=$(stat -c %s $img 2>/dev/null)
	if [ $st = 0 ] && grep -q "^dumped $size\$" $out && grep -q '^PASS' $out; then
		ok $c-dump
	else
		not_ok $c-dump "status $st, image of $size bytes: $(cat $out $out.stdout | tail -n 2)"
	fi
	check $c-verify vxcr img verify $img
	: >$out
	VXCR_VSERVER_DEV= vxrestore $img >$out.rst 2>&1
	st=$?
	if [ $st = 0 ] && grep -q '^restored$' $out && grep -q '^PASS' $out; then
		ok $c-restore
	else
		not_ok $c-restore "status $st: $(tail -n 1 $out) $(tail -n 2 $out.rst)"
	fi
}

self_case plain 0
self_case whole 7

# Into a pipe (a stream: no file position): the bytes read from it are the
# image, and as many as the call returned.
kckpt-prog out-pipe self /proc/self/fd/1 </dev/null 2>out-pipe.stderr | cat >img-pipe.vx
size=$(stat -c %s img-pipe.vx 2>/dev/null)
if grep -q "^dumped $size\$" out-pipe && grep -q '^PASS' out-pipe; then
	ok pipe-dump
else
	not_ok pipe-dump "image of $size bytes: $(cat out-pipe out-pipe.stderr | tail -n 2)"
fi
check pipe-verify vxcr img verify img-pipe.vx
: >out-pipe
VXCR_VSERVER_DEV= vxrestore img-pipe.vx >out-pipe.rst 2>&1
st=$?
if [ $st = 0 ] && grep -q '^restored$' out-pipe && grep -q '^PASS' out-pipe; then
	ok pipe-restore
else
	not_ok pipe-restore "status $st: $(tail -n 1 out-pipe) $(tail -n 2 out-pipe.rst)"
fi
