#!/usr/bin/env python3
"""Kills `vxdump --ctx XID` at its ptrace/wait/process_vm_writev calls and
cgroup.freeze writes (killshim.so; which ones: sweep() below) and at its
test stages (VXCR_TEST_PAUSE), for a context that is paused (SCHED_PAUSE)
and for one that runs, with and without --leave-running.  After each kill
the context must be as it was:

- listed by `vxcr ctx list`, its record in the run directory unchanged;
- every thread it had still there, untraced (TracerPid 0), none stopped;
- paused: its cgroup frozen (cgroup.events "frozen 1") and no thread of
  tests/progs/kill-target (its workload) ran one instruction of its own:
  the heartbeats are where they were when it was paused; then it is
  resumed (ctx flags --clear SCHED_PAUSE), must make progress in every
  thread, and is paused again for the next kill;
- running: every thread makes progress.
A dump that had completed without --leave-running kills the context; that
is only fine with a whole image at the output path (then a new context is
made).  kill-target reports any damage to its registers, masks or sleeps.

usage: ctx-pause-kill.py BUILD TMPDIR XID [paused|running|both]
Needs VXCR_RUNDIR (a private run directory).  Prints '# ...' progress and
one summary line; exit 0 pass, 1 fail.  VX_KEEP_GOING=1: count the kills
that harmed the context (a new one is made after each) instead of stopping
at the first.
"""
import os
import signal
import struct
import subprocess
import sys
import time

BUILD, TMP, XID = sys.argv[1], sys.argv[2], sys.argv[3]
MODES = sys.argv[4] if len(sys.argv) > 4 else "both"
VXCR = os.path.join(BUILD, "bin/vxcr")
SHIM = os.path.join(BUILD, "tests/shim/killshim.so")
TARGET = os.path.join(BUILD, "tests/progs/kill-target")
RUNDIR = os.environ["VXCR_RUNDIR"]
RECORD = os.path.join(RUNDIR, "%s.ctx" % XID)
OUT = os.path.join(TMP, "out")
BEAT = os.path.join(TMP, "beat")
IMG = os.path.join(TMP, "img")
STAGES = ("seized", "collected", "written")


class Failure(Exception):
    pass


def run(*args, check=True):
    r = subprocess.run([VXCR] + list(args), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and r.returncode:
        raise Failure("vxcr %s: exit %d: %s" % (" ".join(args), r.returncode,
                                                r.stderr.strip()))
    return r.stdout


def read(path):
    with open(path) as f:
        return f.read()


def status_field(path, key):
    for line in read(path).splitlines():
        if line.startswith(key + ":"):
            return line.split()[1]
    return None


def beats():
    with open(BEAT, "rb") as f:
        return struct.unpack("3Q", f.read(24))


def target_failed():
    if os.path.exists(OUT):
        for line in read(OUT).splitlines():
            if line.startswith("FAIL"):
                return line.strip()
    return None


class Context:
    """The context under test: its record, cgroup and threads."""

    def __init__(self, paused):
        self.paused = paused
        self.made = 0
        self.create()

    def create(self):
        for f in (OUT, BEAT):
            if os.path.exists(f):
                os.unlink(f)
        # its tasks inherit stdout and stderr: files, not pipes we wait on
        with open(os.path.join(TMP, "create.err"), "w+") as err:
            r = subprocess.run([VXCR, "ctx", "create", XID, "--", TARGET, OUT, BEAT],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=err)
            if r.returncode:
                err.seek(0)
                raise Failure("ctx create: exit %d: %s" % (r.returncode, err.read().strip()))
        for _ in range(500):
            if os.path.exists(OUT) and "ready" in read(OUT):
                break
            time.sleep(0.01)
        else:
            raise Failure("kill-target did not get ready in the context")
        time.sleep(0.05)
        self.made += 1
        self.cgroup = self.field("cgroup")
        if self.paused:
            self.pause()
        self.remember()

    def field(self, key):
        for line in read(RECORD).splitlines():
            if line.startswith(key + "="):
                return line[len(key) + 1:]
        raise Failure("record %s has no %s=" % (RECORD, key))

    def threads(self):
        return sorted(read(os.path.join(self.cgroup, "cgroup.threads")).split())

    def frozen(self):
        for line in read(os.path.join(self.cgroup, "cgroup.events")).splitlines():
            if line.startswith("frozen "):
                return line.split()[1] == "1"
        return False

    def pause(self):
        run("ctx", "flags", XID, "--set", "SCHED_PAUSE")
        if not self.frozen():
            raise Failure("SCHED_PAUSE did not freeze %s" % self.cgroup)
        self.still = beats()

    def remember(self):
        self.record = read(RECORD)
        self.tids = self.threads()

    def end(self):
        run("ctx", "kill", XID)
        run("ctx", "wait", XID, check=False)
        self.gone()

    def gone(self, timeout=10):
        deadline = time.time() + timeout
        while os.path.exists(RECORD) or os.path.isdir(self.cgroup):
            if time.time() > deadline:
                raise Failure("context %s still there after a complete dump" % XID)
            time.sleep(0.02)

    def check_progress(self, what):
        b0 = beats()
        deadline = time.time() + 3
        while True:
            b1 = beats()
            if all(x > y for x, y in zip(b1, b0)):
                return
            if time.time() > deadline:
                raise Failure("%s: no progress in every thread: %s -> %s" % (what, b0, b1))
            time.sleep(0.01)

    def problem(self):
        """What is wrong with the context now, None if nothing."""
        if XID not in run("ctx", "list").split():
            return "not listed by ctx list"
        if not os.path.exists(RECORD) or read(RECORD) != self.record:
            return "its record changed or is gone"
        now = self.threads()
        if now != self.tids:
            return "threads %s, were %s" % (now, self.tids)
        for tid in now:
            st = "/proc/%s/status" % tid
            tracer, state = status_field(st, "TracerPid"), status_field(st, "State")
            if tracer != "0":
                return "thread %s still traced by %s" % (tid, tracer)
            if state in ("t", "T"):
                return "thread %s left stopped (%s)" % (tid, state)
        if self.paused and not self.frozen():
            return "not frozen (cgroup.events)"
        return None

    def check(self, what):
        """The context is as it was; a paused one is resumed and paused again."""
        bad = target_failed()
        if bad:
            raise Failure("%s: %s" % (what, bad))
        deadline = time.time() + 2	# the kernel lets go of the threads
        while True:
            bad = self.problem()
            if not bad:
                break
            if time.time() > deadline:
                raise Failure("%s: context %s: %s" % (what, XID, bad))
            time.sleep(0.01)
        if self.paused:
            if beats() != self.still:
                raise Failure("%s: the paused context ran: heartbeats %s -> %s" %
                              (what, self.still, beats()))
            run("ctx", "flags", XID, "--clear", "SCHED_PAUSE")
            self.check_progress(what + ", resumed")
            self.pause()
        else:
            self.check_progress(what)
        bad = target_failed()
        if bad:
            raise Failure("%s: %s" % (what, bad))


def image_complete():
    r = subprocess.run([VXCR, "img", "verify", IMG], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    return r.returncode == 0


def run_dump(leave, env_extra):
    """vxdump --ctx XID; returns its exit status (negative: killed)."""
    if os.path.exists(IMG):
        os.unlink(IMG)
    env = dict(os.environ, **env_extra)
    args = [VXCR, "dump", "--ctx", XID, "-o", IMG] + (["--leave-running"] if leave else [])
    d = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen = ""  # what vxdump said before the stage (its error if it never got there)
    if "VXCR_TEST_PAUSE" in env_extra:
        stage = env_extra["VXCR_TEST_PAUSE"]
        for line in d.stderr:
            if "pausing at " + stage in line:
                break
            seen += line
        d.send_signal(signal.SIGKILL)
    err = seen + d.stderr.read()
    st = d.wait()
    d.stderr.close()
    return st, err


KEEP_GOING = os.environ.get("VX_KEEP_GOING") == "1"


class Sweep:
    def __init__(self, paused):
        self.ctx = Context(paused)
        self.kills = self.completed = 0
        self.harmed = []

    def after(self, st, err, leave, what):
        if st > 0:
            raise Failure("%s: vxdump failed (exit %d): %s" % (what, st, err.strip()))
        if st == 0:
            self.completed += 1
        else:
            self.kills += 1
        if leave or (st != 0 and not image_complete()):
            self.ctx.check(what)
            return
        self.ctx.gone()	# completed, or killed once the image was complete
        self.ctx.create()

    def count_calls(self, leave):
        cf = os.path.join(TMP, "count")
        self.one(leave, {"LD_PRELOAD": SHIM, "VXCR_KILL_MAIN_ONLY": "1",
                         "VXCR_KILL_COUNT": cf}, "plain dump")
        return int(read(cf))

    def one(self, leave, env, what):
        st, err = run_dump(leave, env)
        if what == "plain dump" and st != 0:
            raise Failure("a plain dump failed (exit %d): %s" % (st, err.strip()))
        what = "%s (%s, %s)" % (what, "paused" if self.ctx.paused else "running",
                                "--leave-running" if leave else "default")
        if not KEEP_GOING:
            self.after(st, err, leave, what)
            return
        try:
            self.after(st, err, leave, what)
        except Failure as e:
            self.harmed.append(str(e))
            print("# harmed: %s" % e, flush=True)
            run("ctx", "kill", XID, check=False)
            run("ctx", "wait", XID, check=False)
            self.ctx.gone()
            self.ctx.create()


def sweep(paused):
    """Every call with --leave-running; without, the calls from where the
    last tenth of the dump starts (the two differ only once the image is
    written: the tree is killed instead of released).  Paused: before and
    after each call; running (9.1's promise, t-dump-kill-sweep.sh for
    plain trees): before each."""
    s = Sweep(paused)
    totals = {}
    for leave in (True, False):
        for stage in STAGES:
            s.one(leave, {"VXCR_TEST_PAUSE": stage, "VXCR_LOG": "2"},
                  "killed at stage " + stage)
        n = totals[leave] = s.count_calls(leave)
        # the number of calls varies a little from dump to dump (polling
        # waits): go some way past the count, where dumps may complete
        first = 1 if leave else max(1, n - n // 10 - 10)
        for when in ("before", "after") if paused else ("before",):
            for k in range(first, n + (n // 10 if leave else n // 20) + 5):
                env = {"LD_PRELOAD": SHIM, "VXCR_KILL_MAIN_ONLY": "1",
                       "VXCR_KILL_AT": str(k), "VXCR_KILL_WHEN": when}
                s.one(leave, env, "killed %s call %d of %d" % (when, k, n))
        print("# %s context, %s: %d calls, %d kills so far" % (
            "paused" if paused else "running",
            "--leave-running" if leave else "default", n, s.kills), flush=True)
    s.ctx.end()
    if s.harmed:
        raise Failure("%s context: %d of %d kills harmed it; first: %s" % (
            "paused" if paused else "running", len(s.harmed), s.kills, s.harmed[0]))
    return "%s: %d kills (%s each of %d calls with --leave-running and the last " \
           "tenth of %d without, %d stages), %d completed dumps, %d contexts made" % (
               "paused" if paused else "running", s.kills,
               "before and after" if paused else "before", totals[True], totals[False],
               2 * len(STAGES), s.completed, s.ctx.made)


def main():
    parts = []
    try:
        if MODES in ("paused", "both"):
            parts.append(sweep(True))
        if MODES in ("running", "both"):
            parts.append(sweep(False))
        print("; ".join(parts) + ": context as it was every time")
        return 0
    except Failure as e:
        print("FAIL: %s" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
