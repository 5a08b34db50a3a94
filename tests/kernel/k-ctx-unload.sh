# The module and its contexts' lifetime: no unload while a context lives
# (a PERSISTENT one without tasks too); once they are gone it unloads
# (freeing the dead contexts it kept for wait_exit) and loads again.  Also
# measures what the kprobe on ioctl costs (printed, not judged: TCG).
. "$VXK/tests/lib.sh"

vxk-ctx create 180 -- true >/dev/null
vxk-ctx create 181 0x4000000000 -- true >/dev/null
want persistent-left "$(vxk-ctx info 181)" "181 0"
check_fails busy rmmod vxcr
vxk-ctx setflags 181 0 0x4000000000
want persistent-gone "$(vxk-ctx wait 181)" "0 0"
# the release work may still hold the module a moment
i=0
while ! rmmod vxcr 2>/dev/null && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
if grep -q '^vxcr ' /proc/modules; then
	not_ok unload "vxcr still loaded: $(grep '^vxcr ' /proc/modules)"
else
	ok unload
fi
none=$(vxk-ctx bench 20000)
check reload insmod "$VXK/vxcr.ko"
loaded=$(vxk-ctx bench 20000)
vxk-ctx create 182 -- sh -c 'echo ready; exec sleep 1000' >c182 &
init=$!
while ! [ -s c182 ]; do sleep 0.05; done
host=$(vxk-ctx bench 20000)
member=$(vxk-ctx migrate 182 -- vxk-ctx bench 20000)
echo "# ns per ioctl: no module $none, module loaded $loaded, a context lives: host $host, member $member"
[ -n "$member" ] && [ "$member" -gt 0 ] 2>/dev/null && ok bench || not_ok bench "member '$member'"
want old-xid-free "$(vxk-ctx wait 180)" "ERR ESRCH"
vxk-ctx kill 182 0 9
want end "$(vxk-ctx wait 182)" "137 0"
wait $init 2>/dev/null || true
