#!/bin/bash
# A context as an isolation boundary (issue 14): root inside a context made
# with default settings tries to get out, and every attempt must fail:
# write a host sysctl (kernel.core_pattern, compared before/after), write
# a host cgroup file (cgroup.kill of a host group holding a sleeper of
# ours: the sleeper lives), write the run directory or /run/vxcr, forge a
# record that makes the host's `vxcr ctx list` / `ctx kill` act (also
# planted from the host: nothing happens, one line says why), mknod a
# block device, mount the host's disk, signal or ptrace a host process,
# load a module, set the clock, reboot, reach another context's processes.
# On the code before issue 14 the sysctl, cgroup, run directory, record,
# mknod and clock attempts succeed (NOTES: "Threat model of a context").
# Each attempt is logged "held: NAME (how)" or "ESCAPED: NAME"; the case
# fails naming every escape.
. "$(dirname "$0")/ctx-lib.sh"
A=$XID B=$((XID + 1)) F=$((XID + 2))
PY=$(python3 -c 'import sys; print(sys.executable)') || skip "no python3"
CG2=$(awk '{ for (i = 7; i < NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") print $5; break } }' \
	/proc/self/mountinfo | head -1)
[ -d "$CG2" ] || skip "no cgroup2 mount"
HG=$CG2/vxcr-escape-$$
CORE=$(cat /proc/sys/kernel/core_pattern)

mkdir "$HG" || fail "cannot make host group $HG"
# a sleeper in the host group (a new one if an attempt killed the last)
sleeper_up()
{
	vx_alive "${SLEEPER:-0}" && return
	mkdir -p "$HG" # the old code's clean-up of a forged record removes it
	sleep 600 &
	SLEEPER=$!
	vx_track "$SLEEPER"
	echo "$SLEEPER" >"$HG/cgroup.procs" || fail "cannot put the sleeper into $HG"
}
sleeper_up
vx_case_cleanup()
{
	# the old code lets the context change these: put them back
	[ "$(cat /proc/sys/kernel/core_pattern)" = "$CORE" ] ||
		echo "$CORE" >/proc/sys/kernel/core_pattern
	kill -9 "$SLEEPER" 2>/dev/null
	vx_wait_gone "$SLEEPER" 5
	rmdir "$HG" 2>/dev/null
}

"$VXCR" ctx create "$A" -- sleep 600 >/dev/null 2>"$T/create.err" ||
	fail "create $A: $(cat "$T/create.err")"
"$VXCR" ctx create "$B" -- sleep 600 >/dev/null 2>"$T/create.err" ||
	fail "create $B: $(cat "$T/create.err")"
BINIT=$("$VXCR" ctx info "$B" | awk '$1 == "initpid:" {print $2}')

ESCAPES=""
held() { log "held: $1${2:+ ($2)}"; }
escaped() { log "ESCAPED: $1${2:+ ($2)}"; ESCAPES="$ESCAPES $1"; }
inside() { "$VXCR" ctx exec "$A" -- "$@"; }
# errno name of a libc call made inside by python (ctypes), "OK" if it worked
inside_call() { inside "$PY" -S -c "
import ctypes, errno, sys
libc = ctypes.CDLL(None, use_errno=True)
r = $1
print('OK' if r == 0 else errno.errorcode.get(ctypes.get_errno(), '?'))" 2>&1; }

# 1. a host sysctl
inside sh -c 'echo "|/bin/false vxcr-escape" >/proc/sys/kernel/core_pattern' 2>"$T/sysctl.err"
if [ "$(cat /proc/sys/kernel/core_pattern)" != "$CORE" ]; then
	escaped sysctl "kernel.core_pattern is now $(cat /proc/sys/kernel/core_pattern)"
	echo "$CORE" >/proc/sys/kernel/core_pattern
else
	held sysctl "$(cat "$T/sysctl.err")"
fi

# 2. a host cgroup file: cgroup.kill of the sleeper's group
inside sh -c "echo 1 >$HG/cgroup.kill" 2>"$T/cg.err"
sleep 0.2
if vx_alive "$SLEEPER"; then held cgroup.kill "$(cat "$T/cg.err")"; else escaped cgroup.kill "sleeper killed"; fi

# 3. the run directory and /run/vxcr
inside sh -c "echo x >$VXCR_RUNDIR/escape; mkdir -p /run/vxcr && echo x >/run/vxcr/escape-$$" \
	2>"$T/rundir.err"
if [ -e "$VXCR_RUNDIR/escape" ] || [ -e "/run/vxcr/escape-$$" ]; then
	escaped rundir "wrote into the run directory"
	rm -f "$VXCR_RUNDIR/escape" "/run/vxcr/escape-$$"
else
	held rundir "$(head -1 "$T/rundir.err")"
fi

sleeper_up
# 4. a forged record written from inside, acted on by the host's list
REC="xid=$F\ninit=$SLEEPER\ninit_start=1\nsuper=$SLEEPER\nsuper_start=1\nflags=0x0\nbcaps=0x0\nccaps=0x0\ncgroup=$HG\n"
inside sh -c "printf '$REC' >$VXCR_RUNDIR/$F.ctx" 2>/dev/null
"$VXCR" ctx list >/dev/null 2>&1
sleep 0.2
if ! vx_alive "$SLEEPER"; then
	escaped forged-record "host's ctx list killed the sleeper"
elif [ -e "$VXCR_RUNDIR/$F.ctx" ]; then
	escaped forged-record "a record written from inside"
else
	held forged-record "could not write it"
fi
rm -f "$VXCR_RUNDIR/$F.ctx"

sleeper_up
# 5. the same records planted on the host (as if written there): a live pid
# outside the context's group, and a stale one; list and kill act on none
REC="xid=$F\ninit=$SLEEPER\ninit_start=1\nsuper=$SLEEPER\nsuper_start=1\nflags=0x0\nbcaps=0x0\nccaps=0x0\ncgroup=$HG\n"
if vx_alive "$SLEEPER"; then
	ST=$(vx_starttime "$SLEEPER")
	printf "${REC/init_start=1/init_start=$ST}" >"$VXCR_RUNDIR/$F.ctx"
	"$VXCR" ctx list >/dev/null 2>"$T/list.err"
	"$VXCR" ctx kill "$F" 2>"$T/kill.err"
	rm -f "$VXCR_RUNDIR/$F.ctx"
	printf "$REC" >"$VXCR_RUNDIR/$F.ctx"
	"$VXCR" ctx list >/dev/null 2>>"$T/list.err"
	sleep 0.2
	if ! vx_alive "$SLEEPER"; then
		escaped planted-record "the host's list or kill killed the sleeper"
	else
		grep -q "forged or corrupt record, left alone" "$T/list.err" ||
			fail "no report of the forged record: $(cat "$T/list.err")"
		[ "$(grep -c forged "$T/list.err")" = 1 ] ||
			fail "forged record not reported in one line: $(cat "$T/list.err")"
		held planted-record "$(head -1 "$T/list.err")"
	fi
	rm -f "$VXCR_RUNDIR/$F.ctx"
fi

# 6. mknod a block device (the host's disk)
inside mknod "$T/blk" b 8 0 2>"$T/mknod.err"
if [ -b "$T/blk" ]; then escaped mknod "made $T/blk"; else held mknod "$(cat "$T/mknod.err")"; fi

# 7. mount the host's disk
DISK=$(findmnt -no SOURCE / | sed 's/\[.*//')
mkdir -p "$T/mnt"
if inside mount -o ro "$DISK" "$T/mnt" 2>"$T/mount.err"; then
	escaped mount "$DISK mounted"
	inside umount "$T/mnt"
else
	held mount "$(cat "$T/mount.err")"
fi

sleeper_up
# 8. signal and ptrace a host process
inside kill -9 "$SLEEPER" 2>"$T/kill.err"
sleep 0.2
if vx_alive "$SLEEPER"; then held signal "$(cat "$T/kill.err")"; else escaped signal "sleeper killed"; fi
R=$(inside_call "libc.ptrace(16, $SLEEPER, 0, 0)") # PTRACE_ATTACH
case "$R" in OK) escaped ptrace "attached to $SLEEPER" ;; *) held ptrace "$R" ;; esac

# 9. load a module: finit_module(-1): EPERM without CAP_SYS_MODULE; a kernel
# without module support says ENOSYS to everyone
R=$(inside_call "libc.syscall(313, -1, b'', 0)")
case "$R" in
EPERM) held module "EPERM" ;;
ENOSYS) held module "ENOSYS: this kernel has no module support" ;;
*) escaped module "finit_module got past the capability check ($R)" ;;
esac

# 10. set the clock: settimeofday(NULL, the current zone), harmless if allowed
R=$(inside_call "libc.settimeofday(None, ctypes.byref((ctypes.c_int * 2)(0, 0)))")
case "$R" in OK) escaped clock "settimeofday allowed" ;; *) held clock "$R" ;; esac

# 11. reboot: LINUX_REBOOT_CMD_CAD_OFF (EINVAL once past the checks, in a pid ns)
R=$(inside_call "libc.reboot(0)")
case "$R" in EPERM) held reboot "EPERM" ;; *) escaped reboot "reboot(2) reached the kernel ($R)" ;; esac

# 12. another context's processes
inside kill -9 "$BINIT" 2>"$T/other.err"
inside ls "/proc/$BINIT/root/" >/dev/null 2>>"$T/other.err" && escaped other-context "sees /proc/$BINIT"
sleep 0.2
if vx_alive "$BINIT"; then held other-context "$(head -1 "$T/other.err")"; else escaped other-context "killed $BINIT"; fi

# The same from a context with --root: a minimal busybox guest (mkguest; no python:
# the module, clock and reboot probes are the shared-root ones above, same
# caps and filter).  Its files and another guest's are out of reach too.
mkguest "$T/ga" guest-a
mkguest "$T/gb" guest-b
echo host-secret >"$T/secret"
chmod 600 "$T/secret"
R=$((XID + 3)) S=$((XID + 4))
"$VXCR" ctx create "$R" --root "$T/ga" -- /bin/sleep 600 >/dev/null 2>"$T/create.err" ||
	fail "create $R --root: $(cat "$T/create.err")"
"$VXCR" ctx create "$S" --root "$T/gb" -- /bin/sleep 600 >/dev/null 2>"$T/create.err" ||
	fail "create $S --root: $(cat "$T/create.err")"
"$VXCR" ctx info "$R" | grep -qx "root: $T/ga" || fail "ctx info: $("$VXCR" ctx info "$R")"
"$VXCR" ctx info "$A" | grep -qx "root: filesystem shared with the host" ||
	fail "ctx info of a shared root: $("$VXCR" ctx info "$A")"
SINIT=$("$VXCR" ctx info "$S" | awk '$1 == "initpid:" {print $2}')
rin() { "$VXCR" ctx exec "$R" -- /bin/sh -c "$1" 2>&1; }
[ "$(rin 'cat /etc/mine')" = guest-a ] || fail "the guest does not see its own files: $(rin 'cat /etc/mine')"

OUT=$(rin "cat /proc/1/root/etc/shadow /etc/shadow $T/secret /proc/1/root$T/secret")
case "$OUT" in *host-secret* | *root:*) escaped root-read "$OUT" ;; *) held root-read "$(echo $OUT)" ;; esac
OUT=$(rin "cat /proc/$SINIT/root/etc/mine; ls /proc/$SINIT; kill -9 $SINIT; cat /proc/*/root/etc/mine")
case "$OUT" in *guest-b*) escaped root-other "$OUT" ;; *) held root-other "$(echo $OUT)" ;; esac
vx_alive "$SINIT" || escaped root-other "killed $SINIT"
rin 'echo "|/bin/false vxcr-escape" >/proc/sys/kernel/core_pattern' >"$T/rsys.err"
[ "$(cat /proc/sys/kernel/core_pattern)" = "$CORE" ] && held root-sysctl "$(cat "$T/rsys.err")" ||
	escaped root-sysctl "core_pattern changed"
sleeper_up
rin "echo 1 >$HG/cgroup.kill; echo 1 >/sys/fs/cgroup/unified/cgroup.kill" >"$T/rcg.err"
sleep 0.2
vx_alive "$SLEEPER" && held root-cgroup.kill "$(echo $(cat "$T/rcg.err"))" ||
	escaped root-cgroup.kill "sleeper killed"
rin "echo x >$VXCR_RUNDIR/escape; echo x >/run/vxcr/escape; mknod /tmp/blk b 8 0; mount -o ro $DISK /tmp; kill -9 $SLEEPER; date -s 2001-01-01; reboot -f" \
	>"$T/rmisc.err"
[ -e "$VXCR_RUNDIR/escape" ] && escaped root-rundir "wrote into $VXCR_RUNDIR"
[ -b "$T/ga/tmp/blk" ] && escaped root-mknod "made a block device"
[ "$(date +%Y)" = 2001 ] && escaped root-clock "set the clock"
sleep 0.2
vx_alive "$SLEEPER" || escaped root-signal "sleeper killed"
"$VXCR" ctx info "$R" >/dev/null 2>&1 || escaped root-reboot "the context rebooted"
held root-misc "$(echo $(cat "$T/rmisc.err"))"

[ -z "$ESCAPES" ] || fail "escaped from the context:$ESCAPES"
pass "every escape attempt failed (12 kinds shared, 10 with --root)"
