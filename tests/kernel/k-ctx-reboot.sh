# reboot(2) from a context: refused without REBOOT_KILL; with it, RESTART
# and POWER_OFF end the context (every task killed) and wait_exit reports
# the command and the code a pid namespace's init would have (128+HUP,
# 128+INT), as the userspace engine; another command is EINVAL.  The
# machine itself keeps running (this test would not finish otherwise).
. "$VXK/tests/lib.sh"

vxk-ctx create 150 -- sh -c 'echo ready; exec sleep 1000' >c150 &
init=$!
waitfile c150
want no-flag "$(vxk-ctx migrate 150 -- vxk-ctx try reboot 0x1234567)" "ERR EPERM"
vxk-ctx setflags 150 0x2000000000 0x2000000000
want bad-cmd "$(vxk-ctx migrate 150 -- vxk-ctx try reboot 0x89abcdef)" "ERR EINVAL"
want restart "$(vxk-ctx migrate 150 -- vxk-ctx try reboot 0x1234567)" ""
want restart-wait "$(vxk-ctx wait 150)" "129 0x1234567"
wait $init 2>/dev/null
want restart-init-gone "$(vxk-ctx xid $init)" "ERR ESRCH"

vxk-ctx create 151 0x2000000000 -- sh -c 'echo ready; exec sleep 1000' >c151 &
init=$!
waitfile c151
want power-off "$(vxk-ctx migrate 151 -- vxk-ctx try reboot 0x4321fedc)" ""
want power-off-wait "$(vxk-ctx wait 151)" "130 0x4321fedc"
wait $init 2>/dev/null || true
