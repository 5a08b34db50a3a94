# vxcr.ko unloads and loads again: not while a process holds /dev/vserver
# open (the open file pins the module), cleanly once it is closed (the
# device and /sys/module/vxcr go), and the reloaded module answers.  The
# kernel taints only for an out-of-tree, unsigned module (O, E).
. "$VXK/tests/lib.sh"

taint=$(cat /proc/sys/kernel/tainted)
[ $((taint & ~(4096 | 8192))) = 0 ] && ok taint-oot-unsigned-only ||
	not_ok taint-oot-unsigned-only "tainted=$taint, bits besides O (4096) and E (8192)"

exec 3<>/dev/vserver
check_fails busy-while-open rmmod vxcr
[ -c /dev/vserver ] && ok still-there || not_ok still-there "/dev/vserver gone after a refused rmmod"
exec 3>&-

check rmmod rmmod vxcr
[ -e /dev/vserver ] && not_ok device-gone "/dev/vserver still there" || ok device-gone
[ -e /sys/module/vxcr ] && not_ok sysfs-gone "/sys/module/vxcr still there" || ok sysfs-gone
check_fails no-module-no-api switch-answers --api
check insmod insmod "$VXK/vxcr.ko"
[ -c /dev/vserver ] && ok device-back || not_ok device-back "no /dev/vserver after insmod"
api=$(switch-answers --api 2>&1) && ok answers || not_ok answers "get_version: $api"
