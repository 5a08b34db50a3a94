#!/usr/bin/env python3
"""What signing costs, measured A/B: one anonymous-memory workload (bench/
workload) is dumped alternately with and without --sign (--leave-running),
then one signed image of it is restored alternately with and without
--trusted-keys.  Alternating on the same process and image keeps a busy
machine's drift out of the difference.  Prints medians of wall, user and
system time (the children's rusage) per mode.
usage: bench/sign-ab.py BUILD [--reps N] [--mib N] [--compress none]"""
import ctypes, os, shutil, signal, statistics, subprocess, sys, tempfile, time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
REPS = int(sys.argv[sys.argv.index("--reps") + 1]) if "--reps" in sys.argv else 7
MIB = int(sys.argv[sys.argv.index("--mib") + 1]) if "--mib" in sys.argv else 1024
COMP = ["--compress", "none"] if "none" in sys.argv else []
VXCR = os.path.abspath(os.path.join(BUILD, "bin", "vxcr"))
WORKLOAD = os.path.abspath(os.path.join(BUILD, "bench", "workload"))
BASELINE = os.path.abspath(os.path.join(BUILD, "bench", "baseline"))
WARM_MIB = int(os.environ.get("VXCR_BENCH_WARM_MIB", "3072"))

libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: restored processes are ours to reap


def kill_pid(pid):
    """SIGKILLs pid and waits until it is reaped (it is our child or, restored, reparented to us)."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    for _ in range(2000):
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        if not os.path.exists("/proc/%d" % pid):
            return
        time.sleep(0.005)
    raise RuntimeError("pid %d did not go away" % pid)


def timed(argv):
    """Runs argv after warming memory as bench/run.py does (this VM's host
    takes freed memory back, and faulting it in again would count); returns
    (wall, user, sys) seconds of it."""
    if WARM_MIB:
        subprocess.run([BASELINE, "warm", str(WARM_MIB)], check=True)
    t0, w = os.times(), time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True)
    w, t1 = time.monotonic() - w, os.times()
    if r.returncode:
        raise RuntimeError("%s failed: %s" % (argv[:2], r.stderr.strip()))
    return w, t1.children_user - t0.children_user, t1.children_system - t0.children_system


def ab(name, argv_of):
    """Runs argv_of(mode) for both modes REPS times, alternating; prints medians."""
    res = {False: [], True: []}
    for _ in range(REPS):
        for signed in (False, True):
            res[signed].append(argv_of(signed))
    for signed in (False, True):
        v = res[signed]
        print("%-8s %-9s wall %6.0f ms  user %6.0f ms  sys %6.0f ms" %
              (name, "signed" if signed else "plain", *(statistics.median(x[i] for x in v) * 1000
                                                       for i in range(3))))
    base, sig = (statistics.median(x[0] for x in res[s]) for s in (False, True))
    print("%-8s signing costs %+.0f ms (%+.1f%%)" % (name, (sig - base) * 1000, (sig / base - 1) * 100))


def main():
    tmp = tempfile.mkdtemp(prefix="vxcr-sign-ab-", dir="/dev/shm")
    p = None
    try:
        os.mkdir(os.path.join(tmp, "keys"))
        os.mkdir(os.path.join(tmp, "trusted"), 0o700)
        key = os.path.join(tmp, "keys", "k")
        subprocess.run([VXCR, "key", "new", key], check=True, capture_output=True)
        shutil.copy(key + ".pub", os.path.join(tmp, "trusted"))
        ready, img = os.path.join(tmp, "ready"), os.path.join(tmp, "img")
        p = subprocess.Popen([WORKLOAD, str(MIB), ready], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, start_new_session=True)
        while not os.path.exists(ready) or os.path.getsize(ready) == 0:
            time.sleep(0.01)
        print("%d MiB workload, %s, %d reps, medians" % (MIB, "raw" if COMP else "zstd", REPS))
        sign = ["--sign", key + ".key"]
        ab("dump", lambda s: timed([VXCR, "dump", "--leave-running", "-o", img] + COMP +
                                   (sign if s else []) + [str(p.pid)]))
        subprocess.run([VXCR, "dump", "-o", img] + COMP + sign + [str(p.pid)], check=True)
        p.wait()
        p = None
        pidfile = os.path.join(tmp, "pid")

        def restore(signed):
            keys = ["--trusted-keys", os.path.join(tmp, "trusted")] if signed else []
            t = timed([VXCR, "restore", "-d", "--pidfile", pidfile] + keys + [img])
            kill_pid(int(open(pidfile).read()))
            return t
        ab("restore", restore)
    finally:
        if p:
            kill_pid(p.pid)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
