#!/bin/bash
# vxcr in one minute: checkpoint a running counter, look at the image,
# restore it and watch it carry on from where it was, with the same pid.
#
# Usage: contrib/demo.sh BUILD     (run as root; `make demo` does this)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$ROOT" && cd "${1:-build}" 2>/dev/null && pwd) || {
	echo "demo: build tree ${1:-build} not found (run make first)" >&2
	exit 1
}
VXCR=$BUILD/bin/vxcr
COUNTER=$BUILD/tests/progs/counter

[ "$(id -u)" = 0 ] || { echo "demo: run as root (vxdump/vxrestore need it)" >&2; exit 1; }
# The restored process outlives vxrestore -d; be its subreaper so it is reaped.
if [ -z "${VX_SUBREAPER:-}" ]; then
	exec "$BUILD/tests/progs/subreaper" -t 300 "$0" "$@"
fi

T=$(mktemp -d /tmp/vxcr-demo.XXXXXX)
PID=""
cleanup()
{
	[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

if [ -t 1 ]; then
	step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
	step() { printf '\n== %s\n' "$*"; }
fi
die() { echo "demo: $*" >&2; exit 1; }

step "start a counter (prints 'pid P count N' every half second)"
( "$COUNTER" "$T/counter.out" 25 </dev/null >"$T/counter.log" 2>&1 & echo $! >"$T/pid" )
PID=$(cat "$T/pid")
echo "counter runs as pid $PID"
sleep 2.2
tail -n 3 "$T/counter.log"

step "vxdump -o counter.img $PID   (checkpoint it; vxdump then kills it)"
"$BUILD/bin/vxdump" -o "$T/counter.img" "$PID" || die "vxdump failed"
for _ in $(seq 100); do [ -e "/proc/$PID" ] || break; sleep 0.05; done
[ -e "/proc/$PID" ] && die "pid $PID still exists after vxdump"
last=$(tail -n 1 "$T/counter.log")
echo "pid $PID is gone; its last line was: $last"

step "vxcr img size counter.img   (what the image holds)"
"$VXCR" img size "$T/counter.img" || die "vxcr img size failed"

step "vxrestore -d counter.img   (restart it in the background)"
newpid=$("$BUILD/bin/vxrestore" -d "$T/counter.img") || die "vxrestore failed"
echo "restored as pid $newpid (was $PID)"
sleep 2.2
echo "its output carries on from '$last':"
grep -A 3 -F -x "$last" "$T/counter.log" | tail -n 3

step "kill $newpid"
kill -9 "$newpid"
for _ in $(seq 100); do [ -e "/proc/$newpid" ] || break; sleep 0.05; done
PID=""
echo "done."
