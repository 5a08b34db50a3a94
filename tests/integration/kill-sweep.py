#!/usr/bin/env python3
"""Kills vxdump at every ptrace/wait/process_vm_writev call of a dump, and at
random instants, and checks each time that the target (tests/progs/
kill-target) is left alive, untraced, not stopped, with the same signal mask
in every thread, the same memory map, and still making progress; or, when
the dump had already finished and killed it (default mode), that the image
is complete.

usage: kill-sweep.py BUILD TMPDIR sweep|random [COUNT]
Prints '# ...' progress lines and one summary line; exit 0 pass, 1 fail.
"""
import os
import random
import signal
import struct
import subprocess
import sys
import time

BUILD, TMP, MODE = sys.argv[1], sys.argv[2], sys.argv[3]
COUNT = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
VXCR = os.path.join(BUILD, "bin/vxcr")
SHIM = os.path.join(BUILD, "tests/shim/killshim.so")
TARGET = os.path.join(BUILD, "tests/progs/kill-target")
OUT = os.path.join(TMP, "out")
BEAT = os.path.join(TMP, "beat")
IMG = os.path.join(TMP, "img")
started = []


class Failure(Exception):
    pass


class TargetDied(Failure):
    pass


def start_target():
    for f in (OUT, BEAT):
        if os.path.exists(f):
            os.unlink(f)
    p = subprocess.Popen([TARGET, OUT, BEAT], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started.append(p)
    for _ in range(400):
        if os.path.exists(OUT) and "ready" in open(OUT).read():
            time.sleep(0.05)
            return p
        time.sleep(0.01)
    raise Failure("kill-target did not get ready")


def status_field(path, key):
    with open(path) as f:
        for line in f:
            if line.startswith(key + ":"):
                return line.split()[1]
    return None


def snapshot(pid):
    """Signal masks of every thread and the memory map."""
    masks = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        masks[tid] = status_field("/proc/%d/task/%s/status" % (pid, tid), "SigBlk")
    with open("/proc/%d/maps" % pid) as f:
        maps = f.read()
    return masks, maps


def beats():
    with open(BEAT, "rb") as f:
        return struct.unpack("3Q", f.read(24))


def target_failed():
    if os.path.exists(OUT):
        for line in open(OUT):
            if line.startswith("FAIL"):
                return line.strip()
    return None


def check_target(p, snap, what):
    """The target must run as before; retries briefly for the detach."""
    pid = p.pid
    deadline = time.time() + 2
    b0 = beats()
    while True:
        problem = None
        if p.poll() is not None:
            raise TargetDied("%s: target died (status %s) %s" %
                          (what, p.returncode, target_failed() or ""))
        try:
            masks, maps = snapshot(pid)
            for tid, mask in masks.items():
                st = "/proc/%d/task/%s/status" % (pid, tid)
                state = status_field(st, "State")
                tracer = status_field(st, "TracerPid")
                if tracer != "0":
                    problem = "thread %s still traced by %s" % (tid, tracer)
                elif state in ("t", "T"):
                    problem = "thread %s left stopped (%s)" % (tid, state)
                elif snap[0].get(tid) != mask:
                    problem = "thread %s: signal mask %s, was %s" % (tid, mask, snap[0].get(tid))
        except (ProcessLookupError, FileNotFoundError):
            # it died between poll() and /proc (a dump's own SIGKILL still
            # on its way when vxdump exited): a death, judged by after()
            p.wait(timeout=5)
            raise TargetDied("%s: target died (status %s) %s" %
                             (what, p.returncode, target_failed() or ""))
        if not problem and maps != snap[1]:
            problem = "memory map changed:\n" + "".join(
                l + "\n" for l in maps.splitlines() if l not in snap[1].splitlines())
        if not problem:
            b1 = beats()
            if not all(x > y for x, y in zip(b1, b0)):
                problem = "no progress in every thread: %s -> %s" % (b0, b1)
        if not problem:
            return
        if time.time() > deadline:
            raise Failure("%s: %s" % (what, problem))
        time.sleep(0.02)


def run_dump(pid, leave, env_extra, kill_after=None):
    """Runs vxdump; returns its exit status (negative: killed by signal)."""
    env = dict(os.environ, **env_extra)
    args = [VXCR, "dump", "-o", IMG] + (["--leave-running"] if leave else []) + [str(pid)]
    d = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if kill_after is not None:
        time.sleep(kill_after)
        d.send_signal(signal.SIGKILL)
    return d.wait()


def image_complete():
    r = subprocess.run([VXCR, "img", "verify", IMG], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    return r.returncode == 0


class Sweep:
    def __init__(self):
        self.p = start_target()
        self.snap = snapshot(self.p.pid)
        self.kills = self.completed = self.restarts = 0

    def after(self, st, leave, what):
        """Checks the outcome of one dump that may have been killed."""
        if st == 0 and not leave:
            self.completed += 1
            self.fresh()
            return
        if st == 0:
            self.completed += 1
        else:
            self.kills += 1
        try:
            check_target(self.p, self.snap, what)
        except TargetDied:
            # only fine if the dump had finished and killed it: a whole image
            if leave or self.p.returncode != -signal.SIGKILL or not image_complete():
                raise
            self.restarts += 1
            self.fresh()

    def fresh(self):
        self.p.wait()
        self.p = start_target()
        self.snap = snapshot(self.p.pid)

    def count_calls(self, leave):
        cf = os.path.join(TMP, "count")
        st = run_dump(self.p.pid, leave, {"LD_PRELOAD": SHIM, "VXCR_KILL_COUNT": cf})
        if st != 0:
            raise Failure("a plain dump failed (exit %d)" % st)
        self.after(st, leave, "plain dump")
        return int(open(cf).read())


def sweep():
    s = Sweep()
    totals = {}
    for leave in (True, False):
        n = s.count_calls(leave)
        totals[leave] = n
        for when in ("before", "after"):
            for k in range(1, n + 1):
                env = {"LD_PRELOAD": SHIM, "VXCR_KILL_AT": str(k), "VXCR_KILL_WHEN": when}
                st = run_dump(s.p.pid, leave, env)
                s.after(st, leave, "%s, killed %s call %d of %d" %
                        ("--leave-running" if leave else "default", when, k, n))
    print("# calls per dump: %d with --leave-running, %d without" %
          (totals[True], totals[False]))
    return "sweep: %d kills of vxdump at every ptrace/wait/process_vm_writev call " \
           "(before and after each, both modes): target unharmed every time; " \
           "%d dumps had completed (target killed by the dump itself: %d, image complete)" % \
           (s.kills, s.completed, s.restarts)


def random_kills():
    s = Sweep()
    times = []
    for _ in range(7):
        t0 = time.time()
        st = run_dump(s.p.pid, True, {})
        times.append(time.time() - t0)
        s.after(st, True, "timing dump")
    dur = sorted(times)[3]
    rng = random.Random(int(os.environ.get("VX_SEED", "0")) or None)
    for i in range(COUNT):
        leave = rng.random() < 0.5
        delay = rng.uniform(0, dur * 0.9)
        st = run_dump(s.p.pid, leave, {}, kill_after=delay)
        s.after(st, leave, "random kill %d after %.1f ms (%s)" %
                (i, delay * 1000, "--leave-running" if leave else "default"))
    return "random: %d SIGKILLs of vxdump within %.1f ms of its start: %d hit a running " \
           "dump, %d came after it ended; target unharmed every time (restarted %d " \
           "times after complete default-mode dumps)" % \
           (COUNT, dur * 900, s.kills, s.completed, s.restarts)


def main():
    try:
        summary = sweep() if MODE == "sweep" else random_kills()
        print(summary)
        return 0
    except Failure as e:
        print("FAIL: %s" % e)
        return 1
    finally:
        for p in started:
            if p.poll() is None:
                p.kill()
                p.wait()


if __name__ == "__main__":
    sys.exit(main())
