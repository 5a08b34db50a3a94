# uname per context: every VHIN_ field set through the module is what
# uname(2) shows inside (uname -a inside vs outside), the host's stay;
# CONTEXT reads the xid and is read-only.
. "$VXK/tests/lib.sh"

host=$(uname -a)
vxk-ctx create 110 -- sh -c 'echo ready; exec sleep 1000' >c110 &
init=$!
waitfile c110
want sysname-inherited "$(vxk-ctx uname 110 1)" "$(uname -s)"
want release-inherited "$(vxk-ctx uname 110 3)" "$(uname -r)"
want context "$(vxk-ctx uname 110 0)" 110
want context-read-only "$(vxk-ctx setuname 110 0 x)" "ERR ENOTTY"
want bad-field "$(vxk-ctx uname 110 7)" "ERR EINVAL"
want bad-field-set "$(vxk-ctx setuname 110 9 x)" "ERR EINVAL"
want unknown-xid "$(vxk-ctx uname 4242 1)" "ERR ESRCH"
vxk-ctx setuname 110 1 VXOS
vxk-ctx setuname 110 2 vxnode
vxk-ctx setuname 110 3 9.9.9-vx
vxk-ctx setuname 110 4 "#1 vx"
vxk-ctx setuname 110 5 vxarch
vxk-ctx setuname 110 6 vxdom
want get-sysname "$(vxk-ctx uname 110 1)" VXOS
want get-machine "$(vxk-ctx uname 110 5)" vxarch
want uname-a-inside "$(vxk-ctx migrate 110 -- uname -a)" "VXOS vxnode 9.9.9-vx #1 vx vxarch GNU/Linux"
want uname-a-init "$(vxk-ctx migrate 110 -- cat /proc/$init/root/proc/sys/kernel/ostype)" VXOS
want domainname "$(vxk-ctx migrate 110 -- cat /proc/sys/kernel/domainname)" vxdom
want hostname-inside "$(vxk-ctx migrate 110 -- hostname)" vxnode
want uname-a-outside "$(uname -a)" "$host"
long=$(printf '%070d' 0)
vxk-ctx setuname 110 2 "$long"
want long-cut "$(vxk-ctx uname 110 2)" "$(printf '%064d' 0)"
want raw-no-nul "$(vxk-ctx rawvhi 110 2)" 0
want raw-cut "$(vxk-ctx uname 110 2)" "$(printf 'A%.0s' $(seq 64))"
want raw-bad-field "$(vxk-ctx rawvhi 110 0xffffffff)" "ERR EINVAL"
want failed-create-keeps-uts "$(vxk-ctx uts-kept 110)" "EEXIST same"
want failed-create-keeps-uname "$(uname -n)" "$(cat /proc/sys/kernel/hostname)"
# a child forked inside keeps the context's uts
want child "$(vxk-ctx migrate 110 -- sh -c 'sh -c "uname -m"')" vxarch

vxk-ctx kill 110 0 9
vxk-ctx wait 110 >/dev/null
wait $init 2>/dev/null || true
want gone "$(vxk-ctx uname 110 1)" "ERR ESRCH"
