# vxcr ctx with the module loaded: create, list, info and stat go through
# the module like the other subcommands (one set of contexts): create's
# init is the module's context init with the guest bounding set, the
# hostname and ccaps given; what only the userspace engine has is refused.
. "$VXK/tests/lib.sh"

vxcr ctx create 160 --hostname vxh --ccaps SET_UTSNAME -- sleep 1000 >c160 2>&1
want create "$(cat c160)" 160
vxcr ctx info 160 >i160 2>&1
grep -q '^provider: kernel module$' i160 && ok info-provider || not_ok info-provider "$(cat i160)"
want info-nodename "$(sed -n 's/^nodename: //p' i160)" vxh
want info-ccaps "$(sed -n 's/^ccaps: //p' i160)" SET_UTSNAME
init=$(sed -n 's/^initpid: //p' i160)
want init-xid "$(vxk-ctx xid "$init")" 160
want init-comm "$(cat /proc/$init/comm)" sleep
bnd=$(grep CapBnd /proc/$init/status)
bnd=0x${bnd##*	}
[ $((bnd & (1 << 21))) = 0 ] && [ $((bnd & 1)) = 1 ] && ok guest-bcaps ||
	not_ok guest-bcaps "CapBnd $bnd (CAP_SYS_ADMIN kept, or CHOWN gone)"
rec=$(vxk-ctx bcaps 160)
want bcaps-recorded "$((rec & ((1 << 41) - 1)))" "$((bnd))"
start=$(date +%s)
vxcr ctx list >l 2>&1
want list "$(cat l)" "160 $init 1 -"
echo "# list took $(($(date +%s) - start)) s"
grep -q '^tasks: 1$' <<EOS && ok stat || not_ok stat "$(vxcr ctx stat 160 2>&1 | tr '\n' ' ')"
$(vxcr ctx stat 160 2>&1)
EOS
want exec-hostname "$(vxcr ctx exec 160 -- hostname)" vxh
vxcr ctx uname 160 --set SYSNAME=VXOS
want uname-sysname "$(vxcr ctx exec 160 -- uname -s)" VXOS
# SET_UTSNAME is there, but the guest set has no CAP_SYS_ADMIN
want exec-sethostname "$(vxcr ctx exec 160 -- vxk-ctx try sethostname vxh2)" "ERR EPERM"
want host-hostname "$(hostname)" "$(cat /proc/sys/kernel/hostname)"
check_fails refused-net vxcr ctx create 161 --net veth -- true
want refused-net-gone "$(vxk-ctx info 161)" "ERR ESRCH"
check_fails create-taken vxcr ctx create 160 -- true
want create-exec-fails "$(vxcr ctx create 162 -- /nonexistent 2>&1 | tail -n 1)" "vxcr: ctx create: No such file or directory"
vxcr ctx create dynamic -- sleep 1000 >cdyn 2>&1 # sleep keeps its stdout
x=$(cat cdyn)
[ "$x" -ge 49152 ] 2>/dev/null && ok create-dynamic || not_ok create-dynamic "$x"
want flags-names "$(vxcr ctx flags "$x" --set PERSISTENT,HIDE_NETIF 2>&1)" "vxcr: ctx: Invalid argument"
want flags-set "$(vxcr ctx flags "$x" --set PERSISTENT)" PERSISTENT
vxcr ctx kill "$x"
want dynamic-kept "$(vxk-ctx info "$x")" "$x 0"
vxcr ctx flags "$x" --clear PERSISTENT >/dev/null 2>&1 # ends it: the get after says ESRCH
want dynamic-gone "$(vxcr ctx wait "$x")" 137
vxcr ctx kill 160
vxcr ctx wait 160 >w160
want wait "$(cat w160)" 137
