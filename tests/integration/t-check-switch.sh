#!/bin/bash
# vxcr check says who serves the switch: the userspace engine without a
# module (the host has no module support; VXCR_VSERVER_DEV empty sets one
# aside), a device that does not answer as the module does is reported with
# its error.  The module's own line is checked in the QEMU guest
# (tests/kernel/k-base-check.sh).
. "$(dirname "$0")/lib.sh"
[ -x "$VXCR" ] || fail "$VXCR not built"
line=$(VXCR_VSERVER_DEV= "$VXCR" check 2>&1 | grep ' dev-vserver ')
case $line in
"no "*"userspace engine serves the switch (VXCR_VSERVER_DEV empty)") ;;
*) fail "VXCR_VSERVER_DEV empty: got '$line'" ;;
esac
line=$(VXCR_VSERVER_DEV=/nonexistent/vs "$VXCR" check 2>&1 | grep ' dev-vserver ')
case $line in
"no "*"userspace engine serves the switch (no /nonexistent/vs: No such file or directory)") ;;
*) fail "no device: got '$line'" ;;
esac
line=$(VXCR_VSERVER_DEV=/dev/null "$VXCR" check 2>&1 | grep ' dev-vserver ')
case $line in
"no "*"kernel module: /dev/null, get_version: Inappropriate ioctl for device") ;;
*) fail "/dev/null as the device: got '$line'" ;;
esac
pass "engine, no device, a device that is not the module"
