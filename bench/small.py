#!/usr/bin/env python3
"""Small-process restore, measured as snapshot testing sees it: one 1 MiB
bench/workload is dumped once, then `vxcr restore -d --pidfile F IMG` runs
N times (exec to exit, like hyperfine), each restored process killed by pid
before the next.  With --dump each run dumps a fresh workload first and
times that dump too (`vxcr dump -o IMG PID`, exec to exit).  Prints the median, mean, min and p90 in ms, and with
--stages the medians of the restore's stage times (VXCR_LOG=3).
With several BUILDs the builds are alternated run by run (the VM's speed
drifts), each on its own image made by its own vxdump.
usage: bench/small.py BUILD [BUILD...] [--runs N] [--mib M] [--stages] [--dump]
       [--dump-args "ARGS"] [--restore-args "ARGS"]"""
import ctypes, os, re, shlex, shutil, signal, statistics, subprocess, sys, tempfile, time

libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: the restored land on us


def opt(name, default):
    if name in sys.argv:
        i = sys.argv.index(name)
        v = sys.argv[i + 1]
        del sys.argv[i:i + 2]
        return v
    return default


RUNS = int(opt("--runs", "50"))
MIB = int(opt("--mib", "1"))
DARGS = shlex.split(opt("--dump-args", ""))
RARGS = shlex.split(opt("--restore-args", ""))
STAGES = "--stages" in sys.argv
DUMP = "--dump" in sys.argv
BUILDS = [a for a in sys.argv[1:] if not a.startswith("--")] or ["build"]
STAGE_RE = re.compile(r"stage (.+) at ([0-9.]+) ms")
TOTAL_RE = re.compile(r"restored pid .* in ([0-9.]+) ms")


def kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        while os.path.exists("/proc/%d" % pid):
            time.sleep(0.001)


def make_image(build, tmp, res=None):
    ready = os.path.join(tmp, "ready")
    p = subprocess.Popen([os.path.join(build, "bench", "workload"), str(MIB), ready],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    while not (os.path.exists(ready) and os.path.getsize(ready) > 0):
        time.sleep(0.005)
    os.unlink(ready)
    img = os.path.join(tmp, "img")
    t = time.monotonic()
    r = subprocess.run([os.path.join(build, "bin", "vxcr"), "dump"] + DARGS + ["-o", img, str(p.pid)],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True)
    if res is not None:
        res.setdefault("dump", []).append((time.monotonic() - t) * 1000)
    if r.returncode:
        p.kill()
        sys.exit("%s: dump failed: %s" % (build, r.stderr.strip()))
    p.wait()
    return img


def restore_once(build, img, tmp, res):
    pidfile = os.path.join(tmp, "pid")
    env = dict(os.environ, VXCR_LOG="3") if STAGES else None
    argv = [os.path.join(build, "bin", "vxcr"), "restore", "-d", "--pidfile", pidfile] + RARGS + [img]
    t = time.monotonic()
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, env=env)
    dt = (time.monotonic() - t) * 1000
    if r.returncode:
        sys.exit("%s: restore failed: %s" % (build, r.stderr.strip()))
    kill(int(open(pidfile).read()))
    os.unlink(pidfile)
    res["wall"].append(dt)
    for m in STAGE_RE.finditer(r.stderr):
        res.setdefault(m.group(1), []).append(float(m.group(2)))
    m = TOTAL_RE.search(r.stderr)
    if m:
        res.setdefault("inside", []).append(float(m.group(1)))


def main():
    tmps = [tempfile.mkdtemp(prefix="vxsmall-", dir="/dev/shm") for _ in BUILDS]
    imgs = [make_image(b, t) for b, t in zip(BUILDS, tmps)]
    results = [{"wall": []} for _ in BUILDS]
    for _ in range(RUNS):
        for b, img, t, res in zip(BUILDS, imgs, tmps, results):
            if DUMP:
                make_image(b, t, res)
            restore_once(b, img, t, res)
    for b, img, res in zip(BUILDS, imgs, results):
        w = sorted(res["wall"])
        print("%s: %d runs, image %d bytes: median %.2f ms, mean %.2f, min %.2f, p90 %.2f"
              % (b, len(w), os.path.getsize(img), statistics.median(w),
                 statistics.mean(w), w[0], w[int(len(w) * 0.9)]))
        for k, v in res.items():
            if k != "wall":
                print("  %-14s median %.3f ms" % (k, statistics.median(v)))
    for img, t in zip(imgs, tmps):
        shutil.rmtree(t)


main()
