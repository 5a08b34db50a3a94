# /proc/virtual, the module's contexts as Linux-VServer showed them: the
# files and their fields against vx_info/vx_stat/the flags/caps/uname
# calls, visibility from inside a context (its own and the nested ones)
# and from the host, a context ending while a reader holds its file open,
# vxcr ctx list through /proc/virtual (its time against asking every xid,
# printed), and the unload once every context ended.
. "$VXK/tests/lib.sh"

# field FILE KEY: the value of "KEY:<tab>" in FILE
field()
{
	sed -n "s/^$2:	//p" "$1" 2>/dev/null
}

# now_cs: the uptime in centiseconds (busybox date has no %N)
now_cs()
{
	local up rest
	read -r up rest </proc/uptime
	echo "$up" | tr -d . | sed 's/^0*//'
}

hex16()
{
	printf '%016x' "$(($1))"
}

V=/proc/virtual
oopses=$(dmesg | grep -c -e 'BUG:' -e 'Oops' -e 'WARNING:')

want info-version "$(field $V/info VCIVersion)" 0002:0400
want info-module "$(field $V/info VCIModule)" "vxcr 0.1"
want status-empty "$(field $V/status '#CActive')" 0

# 190: PERSISTENT and PROLIFIC, ccaps, bcaps and a nodename set
vxk-ctx create 190 0x2004000000000 -- sh -c 'echo ready; exec sleep 1000' >c190 &
i190=$!
waitfile c190 10
vxk-ctx setccaps 190 0x1 0x1
vxk-ctx setbcaps 190 0x3 0x3fff
vxk-ctx setuname 190 2 vxnode
vxk-ctx setuname 190 6 vxdom
[ -d $V/190 ] && ok dir-at-create || not_ok dir-at-create "no $V/190"
want dir-files "$(ls $V/190 | tr '\n' ' ')" "cvirt info status "
cat $V/190/info >info190
cat $V/190/status >st190
cat $V/190/cvirt >cv190
want info-id "$(field info190 ID)" 190
want info-init "$(field info190 Init)" "$(vxk-ctx info 190 | cut -d' ' -f2)"
want info-init-pid "$(field info190 Init)" $i190
set -- $(vxk-ctx stat 190) # usecnt tasks threads forks uptime_ns
want status-usecnt "$(field st190 UseCnt)" "$1"
want status-tasks "$(field st190 Tasks)" "$2"
want status-flags "$(field st190 Flags)" "$(hex16 "$(vxk-ctx flags 190)")"
want status-flags-set "$(field st190 Flags)" 0002004000000000
want status-bcaps "$(field st190 BCaps)" "$(hex16 "$(vxk-ctx bcaps 190)")"
want status-ccaps "$(field st190 CCaps)" "$(hex16 "$(vxk-ctx ccaps 190)")"
want status-ccaps-set "$(field st190 CCaps)" 0000000000000001
want cvirt-threads "$(field cv190 nr_threads)" "$3"
want cvirt-forks "$(field cv190 total_forks)" "$4"
want cvirt-nodename "$(field cv190 NodeName)" "$(vxk-ctx uname 190 2)"
want cvirt-nodename-set "$(field cv190 NodeName)" vxnode
want cvirt-domainname "$(field cv190 DomainName)" vxdom
want cvirt-sysname "$(field cv190 SysName)" "$(vxk-ctx uname 190 1)"
want cvirt-release "$(field cv190 Release)" "$(uname -r)"
want cvirt-machine "$(field cv190 Machine)" "$(uname -m)"
up=$(field cv190 Uptime)
vxup=$(($5 / 10000000)) # centiseconds
upc=$(echo "$up" | tr -d . | sed 's/^0*//')
[ -n "$up" ] && [ "${upc:-0}" -le "$vxup" ] && [ $((vxup - ${upc:-0})) -lt 500 ] &&
	ok cvirt-uptime || not_ok cvirt-uptime "Uptime '$up', vx_stat $5 ns"

# 191 nested in 190, 192 beside it on the host
vxk-ctx migrate 190 -- vxk-ctx create 191 -- sh -c 'echo ready; exec sleep 1000' >c191 &
i191=$!
waitfile c191 10
vxk-ctx create 192 -- sh -c 'echo ready; exec sleep 1000' >c192 &
i192=$!
waitfile c192 10
want host-sees-all "$(field $V/status '#CActive')" 3
want host-sees-nested "$(field $V/191/info Init)" $i191
in190()
{
	vxk-ctx migrate 190 -- "$@"
}
want in-own "$(in190 cat $V/190/info | sed -n 's/^ID:	//p')" 190
want in-nested "$(in190 cat $V/191/info | sed -n 's/^Init:	//p')" $i191
check_fails in-sibling in190 cat $V/192/info
want in-sibling-errno "$(in190 cat $V/192/status 2>&1 | grep -c 'No such file')" 1
want in-status "$(in190 cat $V/status | sed -n 's/^#CActive:	//p')" 2
want nested-status "$(vxk-ctx migrate 191 -- cat $V/status | sed -n 's/^#CActive:	//p')" 1
check_fails nested-no-parent vxk-ctx migrate 191 -- cat $V/190/info
want nested-own "$(vxk-ctx migrate 191 -- cat $V/191/info | sed -n 's/^ID:	//p')" 191

# pids as the reader's pid namespace numbers them: a new pid namespace
# does not see the host's init (0); a context made in it shows its init
# as 1 there and as its host pid outside
want pidns-host-init "$(unshare -p -f cat $V/190/info | sed -n 's/^Init:	//p')" 0
unshare -p -f vxk-ctx create 193 -- sh -c "grep ^Init: $V/193/info | cut -f2 >pidns-init
	exec sleep 1000" >c193 &
u=$!
wait_for 10 test -s pidns-init
want pidns-own-init "$(cat pidns-init)" 1
h193=$(field $V/193/info Init)
want pidns-outside "$(vxk-ctx info 193)" "193 $h193"
[ "${h193:-1}" -gt 1 ] && ok pidns-outside-host || not_ok pidns-outside-host "Init '$h193'"

# a context ends while a reader holds its file open: the read after is an
# error or empty, the directory goes, nothing oopses
vxk-ctx create 194 -- sh -c 'echo ready; exec sleep 1000' >c194 &
i194=$!
waitfile c194 10
exec 3<$V/194/status 4<$V/194/cvirt
head -c 8 <&4 >/dev/null # a read started, the seq_file's buffer filled
vxk-ctx kill 194 0 9
want ended "$(vxk-ctx wait 194)" "137 0"
wait_for 5 test ! -e $V/194 && ok dir-gone || not_ok dir-gone "$V/194 still there"
out=$(cat <&3 2>&1)
rc=$?
[ $rc != 0 ] || [ -z "$out" ] && ok read-after-end || not_ok read-after-end "read '$out'"
echo "# read after end: exit $rc, '$out'"
cat <&4 >/dev/null 2>&1
exec 3<&- 4<&-
check_fails open-after-end cat $V/194/info

# an xid taken again at once: the new context has the directory (the
# dead one's, if its release had not run yet, went first)
for n in 1 2 3; do
	vxk-ctx create 195 -- true >/dev/null
	vxk-ctx wait 195 >/dev/null
done
vxk-ctx create 195 -- sh -c 'echo ready; exec sleep 1000' >c195 &
i195=$!
waitfile c195 10
want reuse-dir "$(field $V/195/info Init)" $i195
vxk-ctx kill 195 0 9
vxk-ctx wait 195 >/dev/null
wait $i195 2>/dev/null
wait_for 5 test ! -e $V/195 && ok reuse-dir-gone || not_ok reuse-dir-gone "$V/195 still there"

# vxcr ctx list: through /proc/virtual, and asking every xid (no
# /proc/virtual): the same lines; the times printed
t0=$(now_cs)
vxcr ctx list >lproc 2>&1
t1=$(now_cs)
VXCR_PROC_VIRTUAL= vxcr ctx list >lask 2>&1
t2=$(now_cs)
echo "# vxcr ctx list: /proc/virtual $(((t1 - t0) * 10)) ms, every xid asked $(((t2 - t1) * 10)) ms"
want list-same "$(cat lproc)" "$(cat lask)"
want list-190 "$(grep '^190 ' lproc)" "190 $i190 1 PERSISTENT,PROLIFIC"
want list-lines "$(wc -l <lproc)" 4
want list-in-190 "$(in190 vxcr ctx list | cut -d' ' -f1 | tr '\n' ' ')" "190 191 "

# every context ends, then the module unloads (its /proc/virtual goes)
# and loads again
for x in 191 192 193 190; do
	vxk-ctx kill $x 0 9
done
vxk-ctx setflags 190 0 0x4000000000
for x in 190 191 192 193; do
	vxk-ctx wait $x >/dev/null
done
for p in $i190 $i191 $i192 $i194 $u; do
	kill -9 $p 2>/dev/null
	wait $p 2>/dev/null
done
wait_for 5 test ! -e $V/190 && ok all-dirs-gone || not_ok all-dirs-gone "$(ls $V)"
want status-none "$(field $V/status '#CActive')" 0
i=0
while ! rmmod vxcr 2>/dev/null && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
grep -q '^vxcr ' /proc/modules && not_ok unload "still loaded" || ok unload
[ -e $V ] && not_ok proc-gone "$V after unload" || ok proc-gone
check reload insmod "$VXK/vxcr.ko"
want reload-info "$(field $V/info VCIVersion)" 0002:0400
want no-oops "$(dmesg | grep -c -e 'BUG:' -e 'Oops' -e 'WARNING:')" "$oopses"
