#!/bin/bash
# vxdump runs restore's own checks on the image it writes (lib/restore/
# vet.c) and refuses, leaving the tree running, an image vxrestore would
# refuse: a killed target whose image does not restore is lost (issue 9).
# The real case: a child subreaper R whose child C is a session leader,
# and H, C's grandchild orphaned to R, still in C's session.  The kernel
# allows it; restore cannot rebuild a session under a parent outside it
# while its leader lives (NOTES: "Sessions and groups").  The old vxdump
# wrote the image and killed all three, and vxrestore then refused it.
# Each mode (default, --leave-running): exit 1, one line naming restore's
# reason, no image at -o (a good image there stays), and R, C and H alive
# as before (same start time, not stopped, untraced, still beating).
. "$(dirname "$0")/lib.sh"
require_cr
command -v python3 >/dev/null || skip "python3 not installed"

cat >"$T/sessions.py" <<'PY'
import ctypes, os, sys, time
out = sys.argv[1]
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)	# PR_SET_CHILD_SUBREAPER

def beat(name):
    n = 0
    with open(os.path.join(out, name + ".pid"), "w") as f:
        f.write("%d\n" % os.getpid())
    while True:
        n += 1
        with open(os.path.join(out, name + ".tmp"), "w") as f:
            f.write("%d\n" % n)
        os.rename(os.path.join(out, name + ".tmp"), os.path.join(out, name + ".n"))
        time.sleep(0.05)

if os.fork() == 0:
    os.setsid()
    g = os.fork()
    if g == 0:
        if os.fork() == 0:
            beat("H")
        os._exit(0)
    os.waitpid(g, 0)
    beat("C")
beat("R")
PY

# in a subshell: no job of ours, so no "Killed" notice when it ends
(setsid python3 "$T/sessions.py" "$T" </dev/null >/dev/null 2>&1 &)
for p in R C H; do
	vx_wait_line "$T/$p.n" '^[0-9]' 10 || fail "$p does not beat"
	eval "$p=\$(cat \$T/$p.pid)"
	vx_track "${!p}"
	eval "START_$p=\$(vx_starttime \${!p})"
done
[ "$(awk '{print $4}' "/proc/$H/stat")" = "$R" ] || fail "H ($H) is not R's child"
[ "$(ps -o sid= -p "$H" | tr -d ' ')" = "$C" ] || fail "H ($H) is not in C's session"

# unharmed WHAT: R, C and H as before and beating on
unharmed()
{
	local p n st
	for p in R C H; do
		vx_alive "${!p}" && [ "$(vx_starttime "${!p}")" = "$(eval echo "\$START_$p")" ] ||
			fail "$p (${!p}) gone after the refused dump ($1)"
		st=$(sed 's/.*) //' "/proc/${!p}/stat" | awk '{print $1}')
		[ "$st" != t ] && [ "$st" != T ] || fail "$p (${!p}) left stopped ($1)"
		[ "$(awk '/^TracerPid:/ {print $2}' "/proc/${!p}/status")" = 0 ] ||
			fail "$p (${!p}) still traced ($1)"
		beats "$p" || fail "$p (${!p}) stopped beating ($1)"
	done
}

# beats P: P's counter goes up by 2 within 10 s
beats()
{
	local n i
	n=$(cat "$T/$1.n")
	for ((i = 0; i < 200; i++)); do
		[ "$(cat "$T/$1.n")" -ge $((n + 2)) ] && return 0
		sleep 0.05
	done
	return 1
}

echo "a good image" >"$T/good.img"
for mode in default --leave-running; do
	opt=()
	[ "$mode" = default ] || opt=("$mode")
	"$VXDUMP" "${opt[@]}" -o "$T/img" "$R" >"$T/dump.out" 2>"$T/dump.err"; st=$?
	[ "$st" = 1 ] || fail "vxdump ($mode) exited $st: $(cat "$T/dump.err")"
	[ "$(wc -l <"$T/dump.err")" = 1 ] || fail "vxdump ($mode): not one line: $(cat "$T/dump.err")"
	grep -q "vxrestore would refuse this image (pid $H: session $C cannot be rebuilt" \
		"$T/dump.err" || fail "vxdump ($mode) does not name restore's reason: $(cat "$T/dump.err")"
	grep -q "the 3 processes keep running" "$T/dump.err" ||
		fail "vxdump ($mode) does not say the tree runs on: $(cat "$T/dump.err")"
	[ ! -e "$T/img" ] || fail "vxdump ($mode) left an image"
	[ ! -s "$T/dump.out" ] || fail "vxdump ($mode) wrote to stdout"
	unharmed "$mode"
	# an older image at -o is not touched
	"$VXDUMP" "${opt[@]}" -o "$T/good.img" "$R" 2>/dev/null && fail "second dump ($mode) succeeded"
	[ "$(cat "$T/good.img")" = "a good image" ] || fail "vxdump ($mode) changed the image at -o"
	unharmed "$mode, second"
done
pass "refused in one line, R $R, C $C, H $H unharmed: $(cut -c1-110 "$T/dump.err")..."
