# vxcr check reports the module: "kernel module: /dev/vserver, API <the
# module's get_version> (vxcr.ko <its version>)"; with the module set aside
# (VXCR_VSERVER_DEV empty) it says the userspace engine serves the switch.
. "$VXK/tests/lib.sh"

api=$(switch-answers --api 2>&1) || not_ok api "switch-answers --api: $api"
ver=$(cat /sys/module/vxcr/version)
want="kernel module: /dev/vserver, API $api (vxcr.ko $ver)"
vxcr check >check.out 2>&1
st=$?
line=$(grep ' dev-vserver ' check.out)
case $line in
"ok "*" dev-vserver "*"$want") ok reports-module ;;
*) not_ok reports-module "got '$line', want 'ok dev-vserver $want'" ;;
esac
[ "$st" = 0 ] && ok exit-0 || not_ok exit-0 "vxcr check exited $st: $(grep MISSING check.out)"
line=$(VXCR_VSERVER_DEV= vxcr check 2>&1 | grep ' dev-vserver ')
case $line in
"no "*" dev-vserver "*"userspace engine serves the switch (VXCR_VSERVER_DEV empty)") ok engine-when-set-aside ;;
*) not_ok engine-when-set-aside "got '$line'" ;;
esac
