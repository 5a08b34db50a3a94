# Context flags the module honours: PERSISTENT (lives with no task),
# SCHED_PAUSE (tasks stopped / resumed), HIDE_NETIF (own network
# namespace), INFO_PRIVATE (no migrate),
# PROLIFIC (nested contexts, visible from their parent only), and
# ctx_kill's targets, VXM_SET_INIT, wait_exit from inside (EDEADLK).
. "$VXK/tests/lib.sh"

# state PID: the one-letter state of /proc/PID/stat
state()
{
	local s
	s=$(cat /proc/$1/stat 2>/dev/null) || return
	s=${s##*) }
	echo "${s%% *}"
}

# PERSISTENT: the context outlives its last task until the flag goes
vxk-ctx create 140 0x4000000000 -- true >/dev/null
want persistent-kept "$(vxk-ctx info 140)" "140 0"
want persistent-flags "$(vxk-ctx flags 140)" 0x4000000000
vxk-ctx wait 140 >w140 &
waiter=$!
sleep 0.2
[ -s w140 ] && not_ok persistent-wait "returned early" || ok persistent-wait
vxk-ctx setflags 140 0 0x4000000000
wait $waiter
want persistent-cleared "$(cat w140)" "0 0"
want persistent-gone "$(vxk-ctx info 140)" "ERR ESRCH"

# SCHED_PAUSE: stopped, then running again
vxk-ctx create 141 -- sh -c 'echo ready; exec sleep 1000' >c141 &
init=$!
waitfile c141
vxk-ctx setflags 141 0x400 0x400
sleep 0.2
want pause-stopped "$(state $init)" T
want pause-flag "$(vxk-ctx flags 141)" 0x400
vxk-ctx setflags 141 0 0x400
sleep 0.2
want pause-resumed "$(state $init)" S
want pause-at-create "$(vxk-ctx create 147 0x400 -- vxk-ctx flags 147 | tail -n 1)" 0
want set-unsupported "$(vxk-ctx setflags 141 0x20000 0x20000)" "ERR ENOTTY"
want set-unknown "$(vxk-ctx setflags 141 0x1000000000000000 0x1000000000000000)" "ERR EINVAL"

# kill: a task of another context, a bad signal, signal 0, one task
want kill-not-member "$(vxk-ctx kill 141 $$ 0)" "ERR ESRCH"
want kill-bad-sig "$(vxk-ctx kill 141 0 99)" "ERR EINVAL"
want kill-sig0 "$(vxk-ctx kill 141 $init 0)" ""
want kill-init-0 "$(vxk-ctx kill 141 1 0)" ""

# VXM_SET_INIT: the migrating task becomes the init
vxk-ctx migrate 141 0x1 -- sh -c 'echo $$; exec sleep 1000' >m141 &
newinit=$!
waitfile m141
want set-init "$(vxk-ctx info 141)" "141 $newinit"
want wait-inside "$(vxk-ctx migrate 141 -- vxk-ctx wait 141)" "ERR EDEADLK"
vxk-ctx kill 141 $init 9
wait $init 2>/dev/null
want kill-one "$(vxk-ctx xid $newinit)" 141
vxk-ctx kill 141 1 15
want set-init-code "$(vxk-ctx wait 141)" "143 0"
wait $newinit 2>/dev/null

# HIDE_NETIF: a network namespace of its own, lo up, entered on migrate;
# chosen at create only
vxk-ctx create 146 0x2000000 -- sh -c 'echo ready; exec sleep 1000' >c146 &
i146=$!
waitfile c146
ns=$(readlink /proc/$i146/ns/net)
[ "$ns" != "$(readlink /proc/self/ns/net)" ] && ok netif-own-ns || not_ok netif-own-ns "$ns"
want netif-migrate "$(vxk-ctx migrate 146 -- readlink /proc/self/ns/net)" "$ns"
want netif-lo-up "$(vxk-ctx migrate 146 -- vxk-ctx try lo-up)" ok
want netif-flags "$(vxk-ctx flags 146)" 0x2000000
want netif-create-only "$(vxk-ctx setflags 146 0 0x2000000)" "ERR EINVAL"
vxk-ctx kill 146 0 9
want netif-end "$(vxk-ctx wait 146)" "137 0"
wait $i146 2>/dev/null

# INFO_PRIVATE: nobody migrates in
vxk-ctx create 142 0x8 -- sh -c 'echo ready; exec sleep 1000' >c142 &
init=$!
waitfile c142
want private "$(vxk-ctx migrate 142 -- true)" "ERR EPERM"
want netif-set-later "$(vxk-ctx setflags 142 0x2000000 0x2000000)" "ERR EINVAL"

# PROLIFIC: only a context with it may create one inside; the nested one
# is visible from its parent, the parent read-only from inside, others not
vxk-ctx create 144 -- sh -c 'echo ready; exec sleep 1000' >c144 &
i144=$!
waitfile c144
want no-prolific "$(vxk-ctx migrate 144 -- vxk-ctx create 145 -- true)" "ERR EPERM"
vxk-ctx setflags 144 0x2000000000000 0x2000000000000
vxk-ctx migrate 144 -- vxk-ctx create 145 -- sh -c 'echo ready; exec sleep 1000' >c145 &
i145=$!
waitfile c145
want nested "$(head -n 1 c145)" "xid 145"
want nested-xid "$(vxk-ctx xid $i145)" 145
want parent-sees-child "$(vxk-ctx migrate 144 -- vxk-ctx info 145)" "145 $i145"
want child-sees-itself "$(vxk-ctx migrate 145 -- vxk-ctx flags 145)" 0
want child-cannot-change-itself "$(vxk-ctx migrate 145 -- vxk-ctx setflags 145 0x400 0x400)" "ERR EPERM"
want child-no-parent "$(vxk-ctx migrate 145 -- vxk-ctx setflags 144 0 0)" "ERR ESRCH"
want child-no-sibling "$(vxk-ctx migrate 145 -- vxk-ctx info 142)" "ERR ESRCH"
want child-no-migrate-out "$(vxk-ctx migrate 145 -- vxk-ctx migrate 142 -- true)" "ERR ESRCH"

# the parent ends, its xid is taken by an unrelated context: that one does
# not inherit the nested context
vxk-ctx kill 144 0 9
want parent-end "$(vxk-ctx wait 144)" "137 0"
want nested-lives "$(vxk-ctx info 145)" "145 $i145"
vxk-ctx create 144 -- sh -c 'echo ready; exec sleep 1000' >c144b &
j144=$!
waitfile c144b
want reused-xid-no-child "$(vxk-ctx migrate 144 -- vxk-ctx info 145)" "ERR ESRCH"

for x in 142 144 145; do
	vxk-ctx kill $x 0 9
	vxk-ctx wait $x >/dev/null
done
wait $init $i144 $i145 $j144 2>/dev/null || true
