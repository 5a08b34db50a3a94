#!/bin/bash
# tests/progs/tty runs with fds 0-2 on a pseudo-terminal (pty 1).  It is
# dumped, then restored by a vxrestore whose own fds 0-2 are another
# pseudo-terminal (pty 2).  NOTES: external terminals on fds 0-2 are given
# vxrestore's own fd of the same number, every other fd of that terminal
# (fd 7 here) the invoking terminal, never the old one reopened by path
# (NOTES "Terminals (issue 12)").  So after restore the program's fds 0-2
# and 7 must be terminals, namely pty 2 (not pty 1, which stays open), and
# what it writes to them must arrive on pty 2's master.
. "$(dirname "$0")/lib.sh"
require_cr
command -v python3 >/dev/null || skip "needs python3 for the pseudo-terminals"

# ptyrun.py [--hold] LOG INFO CMD...: runs CMD with fds 0-2 on the slave of
# a new pty (in a new session, no controlling terminal), copies what arrives
# on the master to LOG, writes the slave's name and CMD's pid to INFO.
# Exits with CMD's status once CMD is gone and no slave is open; with --hold
# it keeps the master open until killed.
cat >"$T/ptyrun.py" <<'PY'
import errno, os, select, subprocess, sys, time
args = sys.argv[1:]
hold = args[0] == "--hold"
if hold:
    args = args[1:]
log, info, cmd = args[0], args[1], args[2:]
master, slave = os.openpty()
child = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave,
                         start_new_session=True)
with open(info + ".tmp", "w") as f:
    f.write("%s\n%d\n" % (os.ttyname(slave), child.pid))
os.rename(info + ".tmp", info)
os.close(slave)
with open(log, "ab", buffering=0) as out:
    while True:
        status = child.poll()
        r, _, _ = select.select([master], [], [], 0.1)
        if not r:
            continue
        try:
            data = os.read(master, 4096)
        except OSError as e:
            if e.errno != errno.EIO:
                raise
            data = b""
        if data:
            out.write(data)
        elif status is not None and not hold:
            sys.exit(status if status >= 0 else 128 - status)
        else:
            time.sleep(0.1)
PY

# wait_info FILE: waits until ptyrun.py wrote FILE.
wait_info()
{
	local i
	for ((i = 0; i < 200; i++)); do
		[ -s "$1" ] && return 0
		sleep 0.05
	done
	fail "ptyrun.py did not start (${1##*/}): $(cat "$T/ptyrun-$2.log" 2>/dev/null)"
}

OUT=$T/out
[ -x "$PROGS/tty" ] || fail "$PROGS/tty not built"
( python3 "$T/ptyrun.py" --hold "$T/pty1.err" "$T/pty1.info" "$PROGS/tty" "$OUT" \
	</dev/null >"$T/ptyrun-1.log" 2>&1 & echo $! >"$T/ptyrun-1.pid" )
vx_track "$(cat "$T/ptyrun-1.pid")"
wait_info "$T/pty1.info" 1
PTY1=$(sed -n 1p "$T/pty1.info")
PID=$(sed -n 2p "$T/pty1.info")
vx_track "$PID"
vx_wait_line "$OUT" '^ready$' 20 || fail "tty did not get ready"
sleep 0.2
vx_alive "$PID" || fail "tty died before the dump"
vx_wait_line "$T/pty1.err" "^tty-before $PID" 5 || fail "pty 1 did not get the program's output"
for fd in 0 1 2; do
	grep -qx "before fd$fd $PTY1" "$OUT" || fail "fd $fd not on $PTY1 before the dump"
done
log "program $PID on $PTY1"

# by design fds 0-2 on a terminal are given vxrestore's own (PTY2)
guard_allow 'fd.[012]' "a terminal on fds 0-2 is replaced by vxrestore's own, the point of this case"
guard_allow 'fdinfo.[012].ino' "a terminal on fds 0-2 is replaced by vxrestore's own, the point of this case"
guard_allow 'fd.7' "the outside terminal on fd 7 is replaced by the invoking one, the point of this case"
guard_allow 'fdinfo.7.ino' "the outside terminal on fd 7 is replaced by the invoking one, the point of this case"
dump "$PID" "$T/img"
sum=$(md5sum <"$T/img")

python3 "$T/ptyrun.py" "$T/pty2.err" "$T/pty2.info" "$VXRESTORE" "$T/img" \
	</dev/null >"$T/ptyrun-2.log" 2>&1 &
RPID=$!
vx_track "$RPID"
wait_info "$T/pty2.info" 2
PTY2=$(sed -n 1p "$T/pty2.info")
[ "$PTY2" != "$PTY1" ] || fail "both pseudo-terminals are $PTY1"
log "vxrestore on $PTY2"
wait_restored
go_and_check
wait_restore_exit 0

for fd in 0 1 2 7; do
	got=$(sed -n "s/^after fd$fd //p" "$OUT")
	[ "$got" = "$PTY2" ] || fail "after restore fd $fd is '$got', expected vxrestore's $PTY2"
done
vx_wait_line "$T/pty2.err" "^tty-after-out $PID" 5 ||
	fail "stdout of the restored program did not arrive on $PTY2"
vx_wait_line "$T/pty2.err" "^tty-after-err $PID" 5 ||
	fail "stderr of the restored program did not arrive on $PTY2"
vx_wait_line "$T/pty2.err" "^tty-after-fd7 $PID" 5 ||
	fail "fd 7 of the restored program did not write to $PTY2"
! grep -q "tty-after" "$T/pty1.err" || fail "output after restore arrived on the old $PTY1"
[ "$(md5sum <"$T/img")" = "$sum" ] || fail "vxrestore modified the image"
pass
