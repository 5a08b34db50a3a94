# Contexts in the module: create (the caller becomes the init), task_xid,
# membership over fork and exec, vx_info, stat, migrate, exit codes by
# wait_exit, and the bad calls (unknown xid, bad xids, bad flags).
. "$VXK/tests/lib.sh"

vxk-ctx create 100 -- sh -c 'echo ready; exec sleep 1000' >c100 &
init=$!
waitfile c100
want create-prints-xid "$(head -n 1 c100)" "xid 100"
want task-xid-init "$(vxk-ctx xid $init)" 100
want task-xid-self "$(vxk-ctx xid)" 0
want task-xid-host-pid "$(vxk-ctx xid 1)" 0
want task-xid-no-pid "$(vxk-ctx xid 999999)" "ERR ESRCH"
want info "$(vxk-ctx info 100)" "100 $init"
set -- $(vxk-ctx stat 100)
want stat-tasks "$1 $2 $3" "2 1 1"
want create-again "$(vxk-ctx create 100 -- true)" "ERR EEXIST"

# a child and a grandchild (fork, exec) are in the context; so is the
# caller of create after exec
out=$(vxk-ctx create 101 -- sh -c 'vxk-ctx xid; sh -c "vxk-ctx xid"' | tr '\n' ' ')
want fork-exec "$out" "xid 101 101 101 "
want exit-code-0 "$(vxk-ctx wait 101)" "0 0"
vxk-ctx create 102 -- sh -c 'exit 7' >/dev/null
want exit-code-7 "$(vxk-ctx wait 102)" "7 0"
want gone-info "$(vxk-ctx info 102)" "ERR ESRCH"

# migrate: the caller (and what it execs) joins
want migrate "$(vxk-ctx migrate 100 -- vxk-ctx xid)" 100
set -- $(vxk-ctx stat 100)
want stat-forks "$4" 0

# dynamic xid
out=$(vxk-ctx create 0xffffffff -- true)
x=${out#xid }
[ "$x" -ge 49152 ] 2>/dev/null && ok dynamic || not_ok dynamic "got '$out'"
vxk-ctx wait "$x" >/dev/null

# bad calls
want bad-xid-1 "$(vxk-ctx create 1 -- true)" "ERR EINVAL"
want bad-xid-big "$(vxk-ctx create 70000 -- true)" "ERR EINVAL"
want bad-flag "$(vxk-ctx create 103 0x1000000000000000 -- true)" "ERR EINVAL"
want nproc-flag "$(vxk-ctx create 103 0x4 -- true)" "ERR EINVAL"
want virt-mem-flag "$(vxk-ctx create 103 0x10000 -- true)" "ERR ENOTTY"
want unknown-info "$(vxk-ctx info 4242)" "ERR ESRCH"
want unknown-stat "$(vxk-ctx stat 4242)" "ERR ESRCH"
want unknown-migrate "$(vxk-ctx migrate 4242 -- true)" "ERR ESRCH"
want unknown-wait "$(vxk-ctx wait 4242)" "ERR ESRCH"
want unknown-kill "$(vxk-ctx kill 4242 0 9)" "ERR ESRCH"
want bad-migrate-flag "$(vxk-ctx migrate 100 0x4 -- true)" "ERR EINVAL"

# wait_exit sleeps until the last task is gone: kill the init (SIGTERM)
vxk-ctx wait 100 >w100 &
waiter=$!
sleep 0.2
[ -s w100 ] && not_ok wait-sleeps "wait returned early: $(cat w100)" || ok wait-sleeps
want kill-init "$(vxk-ctx kill 100 1 15)" ""
wait $waiter
want wait-killed "$(cat w100)" "143 0"
wait $init 2>/dev/null || true
want gone "$(vxk-ctx xid $init)" "ERR ESRCH"
