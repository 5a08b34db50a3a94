# Membership under load: threads are members (nr_threads), a context that
# never stops forking and reaping while it is queried, migrated into and
# finally killed: kill pid 0 with SIGKILL leaves no task (none forked
# during the kill escapes), wait_exit returns, the module stays sound, and
# it cannot be unloaded while a context lives.
. "$VXK/tests/lib.sh"

waitready()
{
	local i=0
	while ! grep -q ready "$1" 2>/dev/null && [ $i -lt 200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
}

vxk-ctx create 170 -- thread-100 "$VXK_TMP/t100" 20 >c170 &
init=$!
waitready t100
set -- $(vxk-ctx stat 170)
want threads "$1 $2 $3" "2 1 21"
want thread-xid "$(vxk-ctx xid "$(ls /proc/$init/task | tail -n 1)")" 170
check_fails no-rmmod rmmod vxcr
vxk-ctx kill 170 0 9
want threads-end "$(vxk-ctx wait 170)" "137 0"
wait $init 2>/dev/null

# a process whose main thread exits first still counts, and its last
# thread's end gives the init's status
vxk-ctx create 172 -- vxk-ctx leader-exit >c172 &
init=$!
waitready c172
sleep 0.2
set -- $(vxk-ctx stat 172)
want leader-gone-stat "$1 $2 $3" "2 1 1"
vxk-ctx kill 172 0 15
want leader-gone-code "$(vxk-ctx wait 172)" "143 0"
wait $init 2>/dev/null

vxk-ctx create 171 -- fork-storm "$VXK_TMP/fs" >c171 &
init=$!
waitready fs
i=0
bad=
while [ $i -lt 40 ]; do
	set -- $(vxk-ctx stat 171)
	[ "${2:-0}" -ge 1 ] || bad="stat $*"
	x=$(vxk-ctx migrate 171 -- vxk-ctx xid)
	[ "$x" = 171 ] || bad="migrate: $x"
	i=$((i + 1))
done
[ -z "$bad" ] && ok busy-queries || not_ok busy-queries "$bad"
set -- $(vxk-ctx stat 171)
[ "$4" -gt 10 ] && ok forks-counted || not_ok forks-counted "nr_forks $4"
vxk-ctx kill 171 0 9
want storm-end "$(vxk-ctx wait 171)" "137 0"
wait $init 2>/dev/null
left=
for p in /proc/[0-9]*; do
	[ "$(vxk-ctx xid ${p#/proc/} 2>/dev/null)" = 171 ] && left="$left ${p#/proc/}"
done
want none-left "$left" ""
want gone "$(vxk-ctx info 171)" "ERR ESRCH"

# many contexts, one after the other, each ending by itself
i=0
while [ $i -lt 50 ]; do
	vxk-ctx create 0xffffffff -- true >/dev/null || break
	i=$((i + 1))
done
want fifty "$i" 50
want dynamic-reused "$(vxk-ctx create 0xffffffff -- true)" "xid 49152"
