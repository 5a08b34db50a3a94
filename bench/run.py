#!/usr/bin/env python3
"""vxcr benchmark: dump/restore time, throughput, frozen time and image size
for anonymous-memory workloads, a python3 dict, a tree of 100 small
processes and one process with 100 threads (bench/many.c), whole contexts
(`vxcr ctx create` around a workload, then `vxdump --ctx` / `vxrestore`: rows
named "ctx ..."), signed images (rows named "signed": vxdump --sign with a
fresh key, vxrestore --trusted-keys), with memcpy / first-touch baselines and, when a criu binary
is found ($CRIU or PATH), CRIU side by side.
Prints a table of medians.
usage: bench/run.py BUILD [--reps N] [--quick] [--only SUBSTRING]
(--only: run just the workloads whose name contains SUBSTRING)"""
import ctypes, os, shutil, signal, statistics, subprocess, sys, tempfile, time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
REPS = int(os.environ.get("VXCR_BENCH_REPS", "5"))
QUICK = "--quick" in sys.argv
if "--reps" in sys.argv:
    REPS = int(sys.argv[sys.argv.index("--reps") + 1])
VXCR = os.path.abspath(os.path.join(BUILD, "bin", "vxcr"))
WORKLOAD = os.path.abspath(os.path.join(BUILD, "bench", "workload"))
BASELINE = os.path.abspath(os.path.join(BUILD, "bench", "baseline"))
MANY = os.path.abspath(os.path.join(BUILD, "bench", "many"))
CRIU = os.environ.get("CRIU") or shutil.which("criu")
WARM_MIB = int(os.environ.get("VXCR_BENCH_WARM_MIB", "3072"))
SIGNED = ("--sign", "@key")     # extra of the signed rows: the key made in main()
KEY, TRUSTED = None, None       # its secret key file, the directory of its .pub

libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: we reap what we restore


def now():
    return time.monotonic()


def wait_file(path, timeout=120):
    t = now()
    while now() - t < timeout:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            return
        time.sleep(0.01)
    raise RuntimeError("workload did not become ready: " + path)


def kill_pid(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        # not our child (reparented elsewhere): wait until it is gone
        for _ in range(500):
            if not os.path.exists("/proc/%d" % pid):
                break
            time.sleep(0.01)


def tree_pids(pid):
    """pid and all its descendants, parents first (from /proc/P/task/*/children)."""
    out = [pid]
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for t in tasks:
        try:
            kids = open("/proc/%d/task/%s/children" % (pid, t)).read().split()
        except OSError:
            continue
        for k in kids:
            out += tree_pids(int(k))
    return out


def kill_tree(pid):
    """Kills a restored tree by pid: stops the root, kills the descendants, then the root."""
    pids = tree_pids(pid)
    for p in reversed(pids[1:]):
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    kill_pid(pid)


def reap_zombies():
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


def wait_gone(pids, timeout=10):
    """After a dump: reaps the killed tree's members (orphans land on us,
    the subreaper) until none of pids exists, so restore finds them free."""
    t = now()
    while now() - t < timeout:
        reap_zombies()
        if not any(os.path.exists("/proc/%d" % p) for p in pids):
            return
        time.sleep(0.005)
    raise RuntimeError("dumped processes still exist: %s" % pids)


def workload_argv(kind, arg, ready):
    if kind == "mem":
        argv = [WORKLOAD, str(arg), ready]
    elif kind in ("procs", "threads"):
        argv = [MANY, kind, str(arg), ready]
    else:
        code = ("d = {i: str(i) for i in range(%d)}\n"
                "open(%r, 'w').write('ready')\n"
                "import signal\nwhile True: signal.pause()\n" % (arg, ready))
        argv = ["python3", "-c", code]
    return argv


def start(kind, arg, tmp):
    ready = os.path.join(tmp, "ready")
    if os.path.exists(ready):
        os.unlink(ready)
    p = subprocess.Popen(workload_argv(kind, arg, ready), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    wait_file(ready)
    return p


def warm(mib):
    if mib >= 256 and WARM_MIB:
        subprocess.run([BASELINE, "warm", str(WARM_MIB)], check=True)


def run_timed(argv, **kw):
    t = now()
    r = subprocess.run(argv, capture_output=True, text=True, **kw)
    dt = now() - t
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (argv[0:2], r.returncode, r.stderr.strip()))
    return dt, r


def parse_stats(text):
    out = {}
    for line in text.splitlines():
        if line.startswith("stats:") or "frozen_ms=" in line:
            for tok in line.split():
                if "=" in tok:
                    k, v = tok.split("=", 1)
                    try:
                        out[k] = float(v)
                    except ValueError:
                        pass
    return out


def bench_vxcr(kind, arg, mib, tmp, extra=()):
    res = {"dump": [], "restore": [], "frozen": [], "img": [], "raw": []}
    img = os.path.join(tmp, "img")
    rextra = ["--trusted-keys", TRUSTED] if "--sign" in extra else []
    extra = [KEY if a == "@key" else a for a in extra]
    for rep in range(REPS):
        p = start(kind, arg, tmp)
        if rep == 0:
            raw = os.path.join(tmp, "raw.img")
            run_timed([VXCR, "dump", "--leave-running", "--compress", "none", "-o", raw, str(p.pid)])
            res["raw"].append(os.path.getsize(raw))
            os.unlink(raw)
        warm(mib)
        pids = tree_pids(p.pid)
        dt, r = run_timed([VXCR, "dump", "--stats"] + list(extra) + ["-o", img, str(p.pid)])
        p.wait()
        wait_gone(pids)
        st = parse_stats(r.stderr)
        res["dump"].append(dt)
        res["frozen"].append(st.get("frozen_ms", dt * 1000) / 1000)
        res["img"].append(os.path.getsize(img))
        warm(mib)
        pidfile = os.path.join(tmp, "pid")
        dt, _ = run_timed([VXCR, "restore", "-d", "--pidfile", pidfile] + rextra + [img])
        res["restore"].append(dt)
        kill_tree(int(open(pidfile).read()))
        os.unlink(img)
        reap_zombies()
    return res


class Ctx:
    """Contexts of the ctx rows: our own run directory and xid; every
    context is ended (vxcr ctx kill + wait) between reps and at exit."""

    def __init__(self, tmp):
        self.env = dict(os.environ, VXCR_RUNDIR=os.path.join(tmp, "run"))
        self.xid = str(40000 + os.getpid() % 20000)

    def vxcr(self, *args, **kw):
        return subprocess.run([VXCR] + list(args), env=self.env, capture_output=True,
                              text=True, **kw)

    def create(self, kind, arg, tmp):
        ready = os.path.join(tmp, "ready")
        if os.path.exists(ready):
            os.unlink(ready)
        err = os.path.join(tmp, "create.err")
        # no pipes: the workload inherits them and would hold them open
        with open(err, "w") as f:
            r = subprocess.run([VXCR, "ctx", "create", self.xid, "--"] +
                               workload_argv(kind, arg, ready), env=self.env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=f)
        if r.returncode != 0:
            raise RuntimeError("ctx create failed: " + open(err).read().strip())
        wait_file(ready)

    def end(self):
        if self.vxcr("ctx", "kill", self.xid).returncode == 0:
            self.vxcr("ctx", "wait", self.xid, timeout=30)
        reap_zombies()  # its supervisor was reparented to us


def bench_ctx(kind, arg, mib, tmp, extra=()):
    """vxdump --ctx (kills it, returns once its record is gone) and vxrestore
    (returns once the context runs) of a context whose main command is the
    workload; same result keys as bench_vxcr."""
    res = {"dump": [], "restore": [], "frozen": [], "img": [], "raw": []}
    img = os.path.join(tmp, "img")
    c = Ctx(tmp)
    try:
        for rep in range(REPS):
            c.create(kind, arg, tmp)
            if rep == 0:
                raw = os.path.join(tmp, "raw.img")
                run_timed([VXCR, "dump", "--ctx", c.xid, "--leave-running", "--compress", "none",
                           "-o", raw], env=c.env)
                res["raw"].append(os.path.getsize(raw))
                os.unlink(raw)
            warm(mib)
            dt, r = run_timed([VXCR, "dump", "--ctx", c.xid, "--stats"] + list(extra) +
                              ["-o", img], env=c.env)
            reap_zombies()
            st = parse_stats(r.stderr)
            res["dump"].append(dt)
            res["frozen"].append(st.get("frozen_ms", dt * 1000) / 1000)
            res["img"].append(os.path.getsize(img))
            warm(mib)
            dt, _ = run_timed([VXCR, "restore", img], env=c.env)
            res["restore"].append(dt)
            c.end()
            os.unlink(img)
    finally:
        c.end()
    return res


def bench_criu(kind, arg, mib, tmp):
    res = {"dump": [], "restore": [], "img": []}
    for rep in range(REPS):
        d = tempfile.mkdtemp(dir=tmp)
        p = start(kind, arg, tmp)
        warm(mib)
        pids = tree_pids(p.pid)
        dt, _ = run_timed([CRIU, "dump", "-t", str(p.pid), "-D", d])
        p.wait()
        wait_gone(pids)
        res["dump"].append(dt)
        res["img"].append(sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)))
        warm(mib)
        pidfile = os.path.join(d, "pid")
        dt, _ = run_timed([CRIU, "restore", "-d", "-D", d, "--pidfile", pidfile])
        res["restore"].append(dt)
        kill_tree(int(open(pidfile).read()))
        shutil.rmtree(d)
        reap_zombies()
    return res


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def baseline(mode, mib):
    vals = [float(subprocess.run([BASELINE, mode, str(mib)], capture_output=True,
                                 text=True, check=True).stdout) for _ in range(3)]
    return med(vals)


def main():
    none = ("--compress", "none")
    workloads = [("anon 64 MiB", "mem", 64, 64, ()), ("anon 256 MiB", "mem", 256, 256, ()),
                 ("anon 1 GiB", "mem", 1024, 1024, ()),
                 ("anon 1 GiB, signed", "mem", 1024, 1024, SIGNED),
                 ("anon 1 GiB, raw", "mem", 1024, 1024, none),
                 ("anon 1 GiB, raw, signed", "mem", 1024, 1024, none + SIGNED),
                 ("small 1 MiB", "mem", 1, 1, ()),
                 ("python3 dict 1e6", "py", 1000000, 0, ()),
                 ("tree 100 procs", "procs", 100, 0, ()),
                 ("100 threads", "threads", 100, 0, ()),
                 ("ctx small 1 MiB", "ctx:mem", 1, 1, ()),
                 ("ctx anon 64 MiB", "ctx:mem", 64, 64, ()),
                 ("ctx python3 1e6", "ctx:py", 1000000, 0, ())]
    if QUICK:
        workloads = [w for w in workloads if w[2] != 1024]
    if "--only" in sys.argv:
        only = sys.argv[sys.argv.index("--only") + 1]
        workloads = [w for w in workloads if only in w[0]]
    memcpy = baseline("memcpy", 1024)
    touch = baseline("touch", 1024)
    print("vxcr bench: %d reps, medians%s" % (REPS, ", criu: " + CRIU if CRIU else ", criu: not found"))
    print("baseline: memcpy %.0f MB/s, first touch of fresh memory %.0f MB/s" % (memcpy, touch))
    hdr = "%-18s %9s %9s %9s %9s %9s %10s %10s" % (
        "workload", "dump ms", "rest ms", "dump MB/s", "rest MB/s", "frozen ms", "img MiB", "raw MiB")
    if CRIU:
        hdr += " %10s %10s %10s" % ("criu dump", "criu rest", "criu MiB")
    print("(rows marked raw: --compress none; img = zstd image, raw = uncompressed image)")
    print(hdr)
    # Images go to tmpfs so the numbers measure the tool, not the disk (the
    # image is fsync'ed before the target is killed; on tmpfs that is free).
    base = os.environ.get("VXCR_BENCH_DIR") or ("/dev/shm" if os.path.isdir("/dev/shm") else None)
    tmp = tempfile.mkdtemp(prefix="vxcr-bench-", dir=base)
    print("images in %s" % tmp)
    global KEY, TRUSTED
    KEY, TRUSTED = os.path.join(tmp, "bench.key"), os.path.join(tmp, "trusted")
    os.mkdir(TRUSTED, 0o700)
    subprocess.run([VXCR, "key", "new", os.path.join(tmp, "bench")], check=True,
                   stdout=subprocess.DEVNULL)
    shutil.copy(os.path.join(tmp, "bench.pub"), TRUSTED)
    try:
        for name, kind, arg, mib, extra in workloads:
            if kind.startswith("ctx:"):
                r = bench_ctx(kind[4:], arg, mib, tmp, extra)
            else:
                r = bench_vxcr(kind, arg, mib, tmp, extra)
            d, rs = med(r["dump"]), med(r["restore"])
            line = "%-18s %9.1f %9.1f %9s %9s %9.1f %10.1f %10.1f" % (
                name, d * 1000, rs * 1000,
                "%.0f" % (mib * 1.048576 / d) if mib else "-",
                "%.0f" % (mib * 1.048576 / rs) if mib else "-",
                med(r["frozen"]) * 1000, med(r["img"]) / 2**20, med(r["raw"]) / 2**20)
            if CRIU and not extra and not kind.startswith("ctx:"):
                c = bench_criu(kind, arg, mib, tmp)
                line += " %10.1f %10.1f %10.1f" % (med(c["dump"]) * 1000,
                                                  med(c["restore"]) * 1000, med(c["img"]) / 2**20)
            print(line, flush=True)
            if mib == 1024:
                print("  %s: restore rate / first-touch rate: %.0f%%" %
                      (name, 100 * mib * 1.048576 / rs / touch))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
