#!/bin/bash
# REBOOT_KILL: reboot(2) inside a context.  The kernel answers reboot from a
# non-initial pid namespace by killing that namespace's init (reported as
# killed by SIGHUP for RESTART, SIGINT for POWER_OFF).  Without REBOOT_KILL
# the context's seccomp filter refuses reboot with EPERM (also with every
# ccap) and the context lives on; with it, reboot from `ctx exec` (RESTART)
# or from the main command (POWER_OFF) ends the whole context and `ctx
# wait` reports the exit code and the reboot command.  A task that entered
# with `ctx exec` stays in the host pid namespace and has lost CAP_SYS_BOOT;
# its child inside has it.  The python doing the reboot checks first that
# it is not in the host's pid namespace, and refuses to call it there.
. "$(dirname "$0")/ctx-lib.sh"
command -v python3 >/dev/null || skip "needs python3"
HOSTNS=$(readlink /proc/self/ns/pid)
[ -n "$HOSTNS" ] || fail "cannot read our pid namespace"

cat >"$T/reboot.py" <<'PY'
import ctypes, os, sys
host, cmd = sys.argv[1], int(sys.argv[2], 0)
try:
    me = os.readlink("/proc/self/ns/pid")
except OSError as e:
    print("cannot read our pid namespace:", e)
    sys.exit(3)
if not host or me == host:
    print("in the host pid namespace: reboot not called")
    sys.exit(3)
libc = ctypes.CDLL(None, use_errno=True)
r = libc.reboot(ctypes.c_int(cmd))
print("reboot:", r, os.strerror(ctypes.get_errno()), flush=True)
sys.exit(4)
PY
ALLCAPS=SET_UTSNAME,SET_RLIMIT,RAW_ICMP,SYSLOG,SECURE_MOUNT,SECURE_REMOUNT,BINARY_MOUNT,QUOTA_CTL,ADMIN_MAPPER,ADMIN_CLOOP

# without REBOOT_KILL: EPERM, default ccaps and all ccaps
X1=$XID X2=$((XID + 1)) X3=$((XID + 2)) X4=$((XID + 3))
"$VXCR" ctx create "$X1" -- sleep 600 >/dev/null 2>"$T/create.err" || fail "create: $(cat "$T/create.err")"
"$VXCR" ctx create "$X2" --ccaps "$ALLCAPS" -- sleep 600 >/dev/null 2>"$T/create.err" ||
	fail "create with all ccaps: $(cat "$T/create.err")"
for x in "$X1" "$X2"; do
	"$VXCR" ctx exec "$x" -- python3 "$T/reboot.py" "$HOSTNS" 0x01234567 >"$T/rb.out" 2>&1
	grep -qx "reboot: -1 Operation not permitted" "$T/rb.out" ||
		fail "context $x without REBOOT_KILL: $(cat "$T/rb.out")"
	"$VXCR" ctx list | grep -q "^$x " || fail "context $x ended after a refused reboot"
done

# with REBOOT_KILL: the entered vxcr lacks CAP_SYS_BOOT, its child has it
"$VXCR" ctx create "$X3" --flags REBOOT_KILL -- sleep 600 >/dev/null 2>"$T/create.err" ||
	fail "create REBOOT_KILL: $(cat "$T/create.err")"
"$VXCR" ctx exec "$X3" -- sleep 3 &
EPID=$!
vx_track "$EPID"
for ((i = 0; i < 50; i++)); do
	CHILD=$(cat "/proc/$EPID/task/$EPID/children" 2>/dev/null | awk '{print $1}')
	[ -n "$CHILD" ] && grep -q sleep "/proc/$CHILD/cmdline" 2>/dev/null && break
	sleep 0.05
done
[ -n "$CHILD" ] || fail "ctx exec $X3 started no child"
bit22() { echo $(( (0x$(awk '$1 == "CapEff:" {print $2}' "/proc/$1/status") >> 22) & 1 )); }
[ "$(bit22 "$EPID")" = 0 ] || fail "entered vxcr $EPID (host pid ns) kept CAP_SYS_BOOT"
[ "$(bit22 "$CHILD")" = 1 ] || fail "its child $CHILD inside lacks CAP_SYS_BOOT"
"$VXCR" ctx info "$X3" >"$T/info.out"
SLEEP_INIT=$(awk '$1 == "initpid:" {print $2}' "$T/info.out")
"$VXCR" ctx exec "$X3" -- python3 "$T/reboot.py" "$HOSTNS" 0x01234567 >"$T/rb3.out" 2>&1
grep -q "host pid namespace\|cannot read" "$T/rb3.out" && fail "reboot ran outside: $(cat "$T/rb3.out")"
"$VXCR" ctx wait "$X3" >"$T/wait3.out" 2>"$T/wait3.err"
[ "$(head -n 1 "$T/wait3.out")" = 129 ] && grep -qx "reboot_cmd: 0x1234567 (RESTART)" "$T/wait3.out" ||
	fail "wait after RESTART: $(cat "$T/wait3.out" "$T/wait3.err")"
vx_wait_gone "$SLEEP_INIT" 5 || fail "init $SLEEP_INIT survived the reboot"
vx_wait_gone "$EPID" 5 || fail "entered task $EPID survived the reboot"
vx_untrack "$EPID"
"$VXCR" ctx list | grep -q "^$X3 " && fail "context $X3 still listed"

# REBOOT_KILL, reboot by the main command itself: POWER_OFF
"$VXCR" ctx create "$X4" --flags REBOOT_KILL -- python3 "$T/reboot.py" "$HOSTNS" 0x4321FEDC \
	>/dev/null 2>"$T/create.err" || fail "create REBOOT_KILL (main): $(cat "$T/create.err")"
"$VXCR" ctx wait "$X4" >"$T/wait4.out" 2>"$T/wait4.err"
[ "$(head -n 1 "$T/wait4.out")" = 130 ] && grep -qx "reboot_cmd: 0x4321fedc (POWER_OFF)" "$T/wait4.out" ||
	fail "wait after POWER_OFF: $(cat "$T/wait4.out" "$T/wait4.err")"
"$VXCR" ctx flags "$X1" --set REBOOT_KILL 2>/dev/null && fail "REBOOT_KILL set after create"
"$VXCR" ctx list | grep -q "^$X1 " || fail "context $X1 (no REBOOT_KILL) is gone"
pass "reboot: EPERM without REBOOT_KILL, ends the context with it (RESTART, POWER_OFF)"
