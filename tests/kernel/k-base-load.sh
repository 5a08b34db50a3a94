# vxcr.ko is loaded and serves /dev/vserver: a misc character device,
# root-only, that answers an ioctl; /sys/module/vxcr names the version.
. "$VXK/tests/lib.sh"

check module grep -q '^vxcr ' /proc/modules
if [ -c /dev/vserver ]; then
	ok device
else
	not_ok device "/dev/vserver is not a character device"
fi
mode=$(stat -c %a /dev/vserver 2>&1)
[ "$mode" = 600 ] && ok mode || not_ok mode "/dev/vserver mode $mode, want 600"
major=$(stat -c %t /dev/vserver 2>&1)
[ "$major" = a ] && ok misc-major || not_ok misc-major "major 0x$major, want 0xa (misc)"
ver=$(cat /sys/module/vxcr/version 2>&1)
[ -n "$ver" ] && ok version || not_ok version "no /sys/module/vxcr/version"
check taint-flags grep -q '^vxcr .*(O' /proc/modules
