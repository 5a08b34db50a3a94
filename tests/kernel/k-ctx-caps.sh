# Context caps checked by the module's kprobes: each syscall a ccap governs
# is refused (EPERM) for a task of a context without the cap and allowed
# (or failing for its own reason) with it; caps apply at once.  Bounding
# caps: CapBnd of a task entering the context lacks the dropped ones.
. "$VXK/tests/lib.sh"

dmesg | grep 'vxcr: no ' >missing
[ -s missing ] && not_ok all-probes "$(tr '\n' ' ' <missing)" || ok all-probes

vxk-ctx create 120 -- sh -c 'echo ready; exec sleep 1000' >c120 &
init=$!
waitfile c120
want ccaps-default "$(vxk-ctx ccaps 120)" 0
mkdir m

# inside OP [ARG]: runs vxk-ctx try OP ARG as a task of context 120
inside()
{
	vxk-ctx migrate 120 -- vxk-ctx try "$@"
}

# both CASE CAP OP ARG WITH: EPERM without CAP, WITH (the answer) with it
both()
{
	local case=$1 cap=$2 with=$5
	shift 2
	vxk-ctx setccaps 120 0 0xffffffff
	want "$case-without" "$(inside "$1" "$2")" "ERR EPERM"
	vxk-ctx setccaps 120 "$cap" "$cap"
	want "$case-with" "$(inside "$1" "$2")" "$with"
}

both sethostname 0x1 sethostname vxnode ok
both setdomainname 0x1 setdomainname vxdom ok
both sethostname-ia32 0x1 sethostname32 vxnode32 ok
want host-hostname-kept "$(hostname)" "$(cat /proc/sys/kernel/hostname)"
[ "$(hostname)" != vxnode ] && ok host-hostname || not_ok host-hostname "the host's changed"
both syslog 0x1000 syslog "" ok
both raw-icmp 0x100 rawsock "" ok
both secure-mount 0x10000 mount "$VXK_TMP/m" ok
both secure-remount 0x20000 remount "$VXK_TMP/m" ok
umount m
both binary-mount 0x40000 mount "$VXK_TMP/m" ok
umount m
both fsopen 0x10000 fsopen "" ok
both open-tree 0x40000 open_tree "" ok
both fspick 0x20000 fspick "" ok
both quota-ctl 0x100000 quotactl "" "ERR ENOENT"
q=$(vxk-ctx try quotactl_fd) # the host's answer: not EPERM
[ "$q" != "ERR EPERM" ] && ok quota-ctl-fd-host || not_ok quota-ctl-fd-host "$q"
both quota-ctl-fd 0x100000 quotactl_fd "" "$q"
both set-rlimit 0x2 rlimit-raise "" ok
both admin-mapper 0x200000 ioctl-mapper "" "ERR ENOTTY"
both admin-cloop 0x400000 ioctl-loop "" "ERR ENOTTY"
vxk-ctx setccaps 120 0 0xffffffff
want remount-needs-its-cap "$(vxk-ctx setccaps 120 0x10000 0x10000; inside remount /)" "ERR EPERM"
want host-not-checked "$(vxk-ctx try sethostname "$(hostname)")" ok
want reboot-refused "$(inside reboot 0x89abcdef)" "ERR EPERM"
want ccaps-get "$(vxk-ctx ccaps 120)" 0x10000
want ccaps-unknown "$(vxk-ctx setccaps 120 0x10000000000 0x10000000000)" "ERR EINVAL"

# bounding caps: CAP_SYS_TIME (25) and CAP_NET_RAW (13) dropped on entry
want bcaps-default "$(vxk-ctx bcaps 120)" 0xffffffffffffffff
vxk-ctx setbcaps 120 0 0x2002000
want bcaps-get "$(vxk-ctx bcaps 120)" 0xfffffffffdffdfff
bnd=$(vxk-ctx migrate 120 -- grep CapBnd /proc/self/status)
bnd=0x${bnd##*	}
[ $((bnd & 0x2000000)) = 0 ] && [ $((bnd & 0x2000)) = 0 ] && [ $((bnd & 1)) = 1 ] &&
	ok bcaps-capbnd || not_ok bcaps-capbnd "CapBnd $bnd"
host=$(grep CapBnd /proc/self/status)
host=0x${host##*	}
[ $((host & 0x2000000)) != 0 ] && ok bcaps-host || not_ok bcaps-host "host CapBnd $host"
vxk-ctx setccaps 120 0x100 0x100
want bcaps-raw-gone "$(inside rawsock)" "ERR EPERM"

vxk-ctx kill 120 0 9
want end "$(vxk-ctx wait 120)" "137 0"
wait $init 2>/dev/null || true
