#!/bin/bash
# A shell job whose controlling terminal is outside the tree, the common
# case (tests/progs/tty-job.c).  jobshell.py plays an interactive shell on a
# new pty: session leader with the pty as ctty, it runs its command as a
# job (a group of its own, put in the foreground) and reports when the job
# stops or exits.  The job is dumped on pty 1, then `vxrestore` is run as
# a job of another such shell on pty 2: the restored tree must get pty 2
# as its ctty, become its foreground group with its saved modes (a key
# arrives alone and unechoed), get ^C itself, and when ^Z stops it,
# vxrestore must stop too (the shell sees its job stopped); the shell's fg
# continues vxrestore, which gives the terminal back to the tree.
. "$(dirname "$0")/lib.sh"
require_cr
command -v python3 >/dev/null || skip "needs python3 for the pseudo-terminals"

# jobshell.py DIR CMD...: writes DIR/info (pty name, job pid), copies what
# the master reads to DIR/log (and keeps it open until killed), writes DIR/keys (then removes it) to the
# master, does "fg" when DIR/fg appears (removed then), appends STOPPED /
# CONTINUED / EXIT N to DIR/status.
cat >"$T/jobshell.py" <<'PY'
import fcntl, os, select, signal, sys, termios, time
d, cmd = sys.argv[1], sys.argv[2:]
master, slave = os.openpty()
# MODE=leader: the command is the session leader itself; MODE=second: it
# also holds a second pty slave (its master stays with us) on fd 5
mode = os.environ.pop("MODE", "")
if mode == "second":
    master2, slave2 = os.openpty()
def status(s):
    with open(d + "/status", "a") as f:
        f.write(s + "\n")
shell = os.fork()
if shell == 0:
    os.close(master)
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    if mode == "second":
        os.dup2(slave2, 5)
    if mode == "leader":
        with open(d + "/info.tmp", "w") as f:
            f.write("%s\n%d\n" % (os.ttyname(slave), os.getpid()))
        os.rename(d + "/info.tmp", d + "/info")
        os.execv(cmd[0], cmd)
    for s in (signal.SIGTTOU, signal.SIGTTIN, signal.SIGTSTP, signal.SIGINT, signal.SIGQUIT):
        signal.signal(s, signal.SIG_IGN)
    job = os.fork()
    if job == 0:
        os.setpgid(0, 0)
        os.tcsetpgrp(0, os.getpid())
        for s in (signal.SIGTTOU, signal.SIGTTIN, signal.SIGTSTP, signal.SIGINT, signal.SIGQUIT):
            signal.signal(s, signal.SIG_DFL)
        os.execv(cmd[0], cmd)
    os.setpgid(job, job)
    os.tcsetpgrp(0, job)
    with open(d + "/info.tmp", "w") as f:
        f.write("%s\n%d\n" % (os.ttyname(slave), job))
    os.rename(d + "/info.tmp", d + "/info")
    while True:
        _, st = os.waitpid(job, os.WUNTRACED)
        if os.WIFSTOPPED(st):
            os.tcsetpgrp(0, os.getpgrp())
            status("STOPPED")
            while not os.path.exists(d + "/fg"):
                time.sleep(0.05)
            os.unlink(d + "/fg")
            os.tcsetpgrp(0, job)
            os.killpg(job, signal.SIGCONT)
            status("CONTINUED")
            continue
        status("EXIT %d" % (os.WEXITSTATUS(st) if os.WIFEXITED(st) else 128 + os.WTERMSIG(st)))
        os._exit(0)
os.close(slave)
done = False
with open(d + "/log", "ab", buffering=0) as out:
    while True:  # the master stays open until we are killed
        if os.path.exists(d + "/keys"):
            with open(d + "/keys", "rb") as f:
                os.write(master, f.read())
            os.unlink(d + "/keys")
        r, _, _ = select.select([master], [], [], 0.05)
        if r:
            try:
                data = os.read(master, 4096)
            except OSError:
                data = b""
            if data:
                out.write(data)
        if not done:
            done = os.waitpid(shell, os.WNOHANG)[0] == shell
PY

# start_shell N CMD...: jobshell.py in $T/sh$N, its pid in SH, job in JOB
start_shell()
{
	local n=$1 i
	shift
	mkdir -p "$T/sh$n"
	python3 "$T/jobshell.py" "$T/sh$n" "$@" </dev/null >"$T/sh$n/out" 2>&1 &
	SH=$!
	vx_track "$SH"
	for ((i = 0; i < 600; i++)); do
		[ -s "$T/sh$n/info" ] && break
		sleep 0.05
	done
	[ -s "$T/sh$n/info" ] || fail "jobshell $n did not start: $(cat "$T/sh$n/out")"
	JOB=$(sed -n 2p "$T/sh$n/info")
	vx_track "$JOB"
}
# keys N BYTES: types BYTES (printf format) on pty N
keys()
{
	printf "$2" >"$T/sh$1/keys.tmp" && mv "$T/sh$1/keys.tmp" "$T/sh$1/keys"
}

OUT=$T/out
[ -x "$PROGS/tty-job" ] || fail "$PROGS/tty-job not built"
start_shell 1 "$PROGS/tty-job" "$OUT"
PID=$JOB
PTY1=$(sed -n 1p "$T/sh1/info")
vx_wait_line "$OUT" '^ready$' 20 || fail "tty-job did not get ready: $(cat "$OUT" 2>/dev/null)"
sleep 0.2
log "job $PID on $PTY1"

# by design the tree's terminal outside it becomes the invoking one
guard_allow 'fd.[012]' "the outside terminal becomes the invoking one, the point of this case"
guard_allow 'fdinfo.[012].ino' "the outside terminal becomes the invoking one, the point of this case"
guard_allow 'stat.tty_nr' "the outside terminal becomes the invoking one, the point of this case"
guard_allow 'stat.session' "a shell job joins the invoking shell's session (it did not lead its own)"
guard_allow 'status.NSsid' "a shell job joins the invoking shell's session (it did not lead its own)"
dump "$PID" "$T/img"
vx_wait_line "$T/sh1/status" '^EXIT' 10 || fail "shell 1 did not see its job end"
# without a terminal of its own vxrestore refuses (never the old one by path)
expect_refused_by "a restore without a terminal" "vxrestore has no controlling terminal" \
	setsid -w "$VXRESTORE" "$T/img"

start_shell 2 "$VXRESTORE" "$T/img"
RPID=$JOB
PTY2=$(sed -n 1p "$T/sh2/info")
[ "$PTY2" != "$PTY1" ] || fail "both pseudo-terminals are $PTY1"
log "vxrestore $RPID on $PTY2"
wait_restored
kill -USR1 "$PID"
vx_wait_line "$OUT" '^want-key$' 20 || fail "no want-key: $(tail -n 2 "$OUT")"
keys 2 k
vx_wait_line "$OUT" '^want-int$' 20 || fail "no want-int: $(tail -n 2 "$OUT")"
keys 2 '\003'
vx_wait_line "$OUT" '^want-stop$' 20 || fail "no want-stop: $(tail -n 2 "$OUT")"
keys 2 '\032'
vx_wait_line "$T/sh2/status" '^STOPPED$' 20 ||
	fail "^Z did not stop the job vxrestore is for the shell: $(cat "$T/sh2/status" 2>/dev/null)"
log "^Z: the shell sees vxrestore stopped"
touch "$T/sh2/fg"
vx_wait_line "$OUT" '^(PASS|FAIL)' 20 || fail "no result after fg: $(tail -n 2 "$OUT")"
grep -q '^PASS' "$OUT" || fail "program reported: $(grep -E '^(PASS|FAIL)' "$OUT")"
vx_wait_line "$T/sh2/status" '^EXIT 0$' 20 ||
	fail "vxrestore did not exit 0 with its job: $(cat "$T/sh2/status")"
! grep -q k "$T/sh2/log" || fail "the key was echoed: the saved modes were not applied"
log "job control handed over"

# What the dump refuses: a session leader whose ctty is outside the tree
# (its terminal could only be stolen from the invoking session), and a
# second terminal outside the tree (only one can be the invoking one)
for mode in leader second; do
	MODE=$mode start_shell "$mode" "$PROGS/tty-job" "$T/out.$mode"
	PID=$JOB OUT=$T/out.$mode
	vx_wait_line "$OUT" '^ready$' 20 || fail "tty-job ($mode) did not get ready: $(cat "$OUT")"
	vx_remember
	case $mode in
	leader) pat="session leader whose controlling terminal .* is outside the tree" ;;
	second) pat="a second terminal .* outside the tree" ;;
	esac
	expect_dump_refused "tty-job $mode" "$pat"
	kill -9 "$PID"
done
pass
