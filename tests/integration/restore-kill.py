#!/usr/bin/env python3
"""Kills vxrestore at every ptrace/wait/process_vm_writev call and at every
stage of a restore, or at random instants, and checks each time that it
left nothing behind: no process with a pid of the image, no SysV segment
of the image, no new file in the programs' directory, and the image
unchanged.  A restore that had completed before the kill is fine: its tree
runs; the driver ends it and counts it.

usage: restore-kill.py BUILD TMPDIR sweep|random [COUNT]
Images: tests/progs fds (files, FIFO, deleted file, pipes), tree-basic (7
processes), sysv-shm (a SysV segment vxrestore creates: its leftover
is removed after the dump) and ipcns (its own IPC namespace: every object
lives in the namespace vxrestore makes, which must go with it; also
killed once that namespace is built); VX_KILL_PROGS names others.  Prints
'# ...' lines and one summary line; exit 0 pass, 1 fail.
"""
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time

BUILD, TMP, MODE = sys.argv[1], sys.argv[2], sys.argv[3]
COUNT = int(sys.argv[4]) if len(sys.argv) > 4 else 500
VXCR = os.path.join(BUILD, "bin/vxcr")
SHIM = os.path.join(BUILD, "tests/shim/killshim.so")
STAGES = ("child", "layout", "pages", "tree", "creds")
# stages only some images pass
IMAGE_STAGES = {"ipcns": ("ipcns-built",)}
PROGS = os.environ.get("VX_KILL_PROGS", "fds tree-basic sysv-shm ipcns").split()


class Failure(Exception):
    pass


def md5(path):
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def segments():
    with open("/proc/sysvipc/shm") as f:
        return {int(l.split()[1]) for l in f.readlines()[1:]}


class Image:
    """A dumped test program: its image, pids, segments and directory."""

    def __init__(self, prog):
        self.dir = os.path.join(TMP, prog)
        os.mkdir(self.dir)
        out = os.path.join(self.dir, "out")
        p = subprocess.Popen([os.path.join(BUILD, "tests/progs", prog), out],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
        for _ in range(500):
            if os.path.exists(out) and "ready" in open(out).read():
                break
            time.sleep(0.01)
        else:
            p.kill()
            raise Failure("%s did not get ready" % prog)
        time.sleep(0.2)
        self.img = os.path.join(TMP, prog + ".img")
        r = subprocess.run([VXCR, "dump", "-o", self.img, str(p.pid)], stderr=subprocess.PIPE)
        p.wait()
        if r.returncode:
            raise Failure("dump of %s failed: %s" % (prog, r.stderr.decode()))
        recs = json.loads(subprocess.run([VXCR, "img", "json", self.img],
                                         stdout=subprocess.PIPE).stdout)["records"]
        self.pids = [r["payload"]["pid"] for r in recs if r["type"] == "TASK"]
        self.segs = {r["payload"]["shmid"] for r in recs if r["type"] == "SYSV_SHM"}
        for s in self.segs & segments():      # restore must create them
            subprocess.run(["ipcrm", "-m", str(s)])
        self.sum = md5(self.img)
        self.files = sorted(os.listdir(self.dir))
        self.name = prog

    def leftovers(self):
        """What a killed restore left, as text, or None."""
        left = [p for p in self.pids if alive(p)]
        if left:
            return "processes %s" % left
        segs = self.segs & segments()
        if segs:
            return "SysV segments %s" % sorted(segs)
        files = sorted(os.listdir(self.dir))
        if files != self.files:
            return "files %s" % sorted(set(files) - set(self.files))
        return None

    def wait_clean(self, what):
        deadline = time.time() + 3
        while True:
            left = self.leftovers()
            if not left:
                return
            if time.time() > deadline:
                raise Failure("%s: %s: left %s" % (self.name, what, left))
            time.sleep(0.02)

    def end_restored(self):
        """A restore that completed: end its tree (by pid) and its segments."""
        for p in self.pids:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        for s in self.segs & segments():
            subprocess.run(["ipcrm", "-m", str(s)])


def restore(im, env, kill_after=None, wait_line=None):
    """Runs vxrestore -d IMAGE, killed after kill_after s or once its log
    says wait_line (if given); returns True if it had completed (exit 0)."""
    errf = os.path.join(TMP, "restore.err")
    with open(errf, "w") as err:
        r = subprocess.Popen([VXCR, "restore", "-d", im.img], env=dict(os.environ, **env),
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    if wait_line:
        for _ in range(1000):
            if r.poll() is not None or wait_line in open(errf).read():
                break
            time.sleep(0.01)
        r.send_signal(signal.SIGKILL)
    elif kill_after is not None:
        time.sleep(kill_after)
        r.send_signal(signal.SIGKILL)
    return r.wait() == 0


class Counts:
    kills = completed = 0


def released(pid):
    """A restored process that runs on its own: alive, untraced, not stopped."""
    try:
        with open("/proc/%d/status" % pid) as f:
            st = dict(l.split(":", 1) for l in f if ":" in l)
    except OSError:
        return False
    return st["TracerPid"].strip() == "0" and st["State"].split()[0] not in ("t", "T", "Z")


def one(im, c, what, env, **kw):
    # killed only after the whole tree was released: that restore completed
    if restore(im, env, **kw) or all(released(p) for p in im.pids):
        c.completed += 1
        im.end_restored()
    else:
        c.kills += 1
    im.wait_clean(what)
    if md5(im.img) != im.sum:
        raise Failure("%s: %s: the image changed" % (im.name, what))


def sweep(images):
    c = Counts()
    for im in images:
        cf = os.path.join(TMP, "count")
        one(im, c, "counting", env={"LD_PRELOAD": SHIM, "VXCR_KILL_COUNT": cf})
        n = int(open(cf).read()) if os.path.exists(cf) else 0
        if n == 0:
            raise Failure("%s: no calls counted" % im.name)
        for when in ("before", "after"):
            for k in range(1, n + 1):
                one(im, c, "killed %s call %d of %d" % (when, k, n),
                    env={"LD_PRELOAD": SHIM, "VXCR_KILL_AT": str(k), "VXCR_KILL_WHEN": when})
        for stage in STAGES + IMAGE_STAGES.get(im.name, ()):
            one(im, c, "killed at stage %s" % stage, wait_line="pausing at " + stage,
                env={"VXCR_TEST_PAUSE": stage, "VXCR_LOG": "2"})
        print("# %s: %d calls per restore" % (im.name, n))
    return "sweep: %d kills of vxrestore (every ptrace/wait/process_vm_writev call, " \
           "before and after, and every stage) of %d images: nothing left, images " \
           "unchanged; %d restores had completed" % (c.kills, len(images), c.completed)


def random_kills(images):
    c = Counts()
    rng = random.Random(int(os.environ.get("VX_SEED", "0")) or None)
    durs = {}
    for im in images:
        t = []
        for _ in range(5):
            t0 = time.time()
            one(im, c, "timing", env={})
            t.append(time.time() - t0)
        durs[im.name] = sorted(t)[2]
    for i in range(COUNT):
        im = images[i % len(images)]
        d = rng.uniform(0, durs[im.name])
        one(im, c, "random kill %d after %.1f ms" % (i, d * 1000), env={}, kill_after=d)
    return "random: %d SIGKILLs of vxrestore at random instants of %d images: " \
           "nothing left, images unchanged (%d hit a running restore, %d came " \
           "after it completed)" % (COUNT, len(images), c.kills, c.completed - 5 * len(images))


def main():
    try:
        images = [Image(p) for p in PROGS]
        print(sweep(images) if MODE == "sweep" else random_kills(images))
        return 0
    except Failure as e:
        print("FAIL: %s" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
