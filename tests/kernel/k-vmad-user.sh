# The userspace VMADump dump (lib/vmad; VXCR_VSERVER_DEV= sets the module
# aside) on the guest's kernel, its image brought back by the module's
# vmad_undump (vxrestore --kernel) and by the userspace restore: each
# restored copy sees vmad_dump return 0 and finds its heap, counter,
# sigaction, mask and errno ("restored ok" from tests/progs/vmad-self
# bare: fds 0-2 only and no pending signal, what the module restores).
. "$VXK/tests/lib.sh"
export LD_LIBRARY_PATH=$VXK/lib

# stderr an external pipe: the module takes fds 0-2 that are devices,
# terminals or ends outside the image, not a regular file
st=$( (VXCR_VSERVER_DEV= vmad-self bare log img.vx 0 </dev/null 2>&1; echo $? >dump.st) |
	cat >dump.err; cat dump.st)
size=$(stat -c %s img.vx 2>/dev/null)
if [ $st = 0 ] && grep -q "^live ok bytes=$size\$" log; then
	ok user-dump
else
	not_ok user-dump "status $st, image of $size bytes: $(tail -n 1 log) $(tail -n 1 dump.err)"
fi
check user-verify vxcr img verify img.vx

n=$(grep -c '^restored ok$' log)
vxrestore --kernel img.vx </dev/null >/dev/null 2>rk.err
st=$?
if [ $st = 0 ] && [ "$(grep -c '^restored ok$' log)" = $((n + 1)) ]; then
	ok kernel-undump
else
	not_ok kernel-undump "status $st: $(tail -n 1 log) $(tail -n 1 rk.err) $(dmesg | grep -i vxcr | tail -n 3 | tr '\n' ' ')"
fi

n=$(grep -c '^restored ok$' log)
VXCR_VSERVER_DEV= vxrestore img.vx </dev/null >/dev/null 2>ru.err
st=$?
if [ $st = 0 ] && [ "$(grep -c '^restored ok$' log)" = $((n + 1)) ]; then
	ok user-restore
else
	not_ok user-restore "status $st: $(tail -n 1 log) $(tail -n 1 ru.err)"
fi
grep -q '^FAIL' log && not_ok checks "$(grep -m1 '^FAIL' log)" || ok checks
