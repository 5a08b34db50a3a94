#!/usr/bin/env python3
"""vxcr benchmark: dump/restore time, frozen time, image size and the peak
RSS of vxcr's own processes, side by side with CRIU ($CRIU or criu on PATH)
with the ratio of each (CRIU time / vxcr time, vxcr image / CRIU image), and
each ratio that misses the issue-16 target marked.

Workloads: anonymous memory (bench/workload.c: half of each page counters,
half xorshift noise), a python3 dict, trees of small processes and a process
with 100 threads (bench/many.c), whole contexts (`vxcr ctx create` around a
workload, then `vxdump --ctx` / `vxrestore`: rows named "ctx ..."), signed
images (rows named "signed": vxdump --sign with a fresh key, vxrestore
--trusted-keys), with the memcpy and first-touch baselines.

usage: bench/run.py [BUILD] [--reps N] [--quick] [--only S[|S...]] [--dir DIR]
                    [--pipe] [--scale] [--no-criu]
  --only   just the rows whose name contains one of the |-separated strings
  --dir    images in a new directory under DIR (default /dev/shm, a tmpfs;
           VXCR_BENCH_DIR is an alias), e.g. on a disk
  --pipe   `vxcr dump PID | vxcr restore -d -` timed end to end, with the
           dump's frozen time; CRIU has no plain pipe mode: its columns are
           its dump plus restore through files in the same directory
  --scale  the scale rows: anon 256 MiB, 1, 2, 4 GiB and trees of 10, 100,
           1000 processes, with the time per GiB / per process (overall and
           between consecutive rows) to show whether time grows linearly
Times and peak RSS of the dump and restore commands, vxcr and CRIU alike,
come from a small wrapper (`baseline run`: fork, exec, wait4; restored
tasks are not counted, they detach), so Python's own fork is in neither."""
import ctypes, os, shutil, signal, statistics, subprocess, sys, tempfile, time

ARGS = sys.argv[1:]


def opt(name, default=None):
    if name in ARGS:
        i = ARGS.index(name)
        if i + 1 >= len(ARGS):
            sys.exit("bench/run.py: %s needs a value" % name)
        return ARGS[i + 1]
    return default


VALUED = ("--reps", "--only", "--dir")
POS = [a for i, a in enumerate(ARGS) if not a.startswith("--") and
       (i == 0 or ARGS[i - 1] not in VALUED)]
BUILD = POS[0] if POS else "build"
REPS = int(opt("--reps", os.environ.get("VXCR_BENCH_REPS", "5")))
QUICK = "--quick" in ARGS
PIPE = "--pipe" in ARGS
SCALE = "--scale" in ARGS
VXCR = os.path.abspath(os.path.join(BUILD, "bin", "vxcr"))
WORKLOAD = os.path.abspath(os.path.join(BUILD, "bench", "workload"))
BASELINE = os.path.abspath(os.path.join(BUILD, "bench", "baseline"))
MANY = os.path.abspath(os.path.join(BUILD, "bench", "many"))
CRIU = None if "--no-criu" in ARGS else (os.environ.get("CRIU") or shutil.which("criu"))
WARM_MIB = int(os.environ.get("VXCR_BENCH_WARM_MIB", "3072"))
SIGNED = ("--sign", "@key")     # extra of the signed rows: the key made in main()
KEY, TRUSTED = None, None       # its secret key file, the directory of its .pub

# Targets of issue 16 (ratios are CRIU time / vxcr time; image vxcr / CRIU)
T_DUMP, T_REST, T_TOUCH, T_SMALL_MS = 1.3, 1.2, 0.85, 3.0

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
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            tasks = os.listdir("/proc/%d/task" % p)
        except OSError:
            continue
        for t in tasks:
            try:
                kids = open("/proc/%d/task/%s/children" % (p, t)).read().split()
            except OSError:
                continue
            todo += [int(k) for k in kids]
    return out


def kill_tree(pid):
    """Kills a restored tree by pid: the descendants, then the root."""
    pids = tree_pids(pid)
    for p in reversed(pids[1:]):
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    kill_pid(pid)
    wait_gone(pids)


def reap_zombies():
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


def wait_gone(pids, timeout=30):
    """After a dump or kill: reaps the tree's members (orphans land on us,
    the subreaper) until none of pids exists, so restore finds them free."""
    t = now()
    while now() - t < timeout:
        reap_zombies()
        if not any(os.path.exists("/proc/%d" % p) for p in pids):
            return
        time.sleep(0.005)
    raise RuntimeError("processes still exist: %s" % pids[:10])


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
        subprocess.run([BASELINE, "warm", str(max(WARM_MIB, min(mib, 8192)))], check=True)


class Failed(RuntimeError):
    pass


def run_measured(argv, env=None):
    """Runs argv to the end under `baseline run` (bench/baseline.c); returns
    (seconds, stdout, stderr, peak RSS in bytes), both measured by that
    small wrapper's wait4.  Raises Failed with its stderr on a non-zero exit."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        rfile = os.path.join(tempfile.gettempdir(), "vxcr-bench-run.%d" % os.getpid())
        p = subprocess.Popen([BASELINE, "run", rfile] + argv, stdin=subprocess.DEVNULL,
                             stdout=out, stderr=err, env=env)
        _, status, _ = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        o, e = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if p.returncode != 0:
        raise Failed("%s %s failed (%d): %s" % (os.path.basename(argv[0]), argv[1],
                                                p.returncode, e.strip()[-300:]))
    dt, rss = read_run(rfile)
    return dt, o, e, rss


def read_run(rfile, wchar=False):
    """The "SECONDS MAXRSS_KIB WCHAR" that `baseline run` wrote: (seconds,
    RSS bytes) or, with wchar, (seconds, RSS bytes, bytes written)."""
    with open(rfile) as f:
        dt, kib, wc = f.read().split()
    os.unlink(rfile)
    return (float(dt), int(kib) * 1024) + ((int(wc),) if wchar else ())


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


def criu_frozen(text):
    """CRIU's own frozen time (--display-stats: "Frozen time: N us"), seconds."""
    for line in text.splitlines():
        if line.startswith("Frozen time:"):
            return float(line.split()[2]) / 1e6
    return None


def new_res():
    return {k: [] for k in ("dump", "restore", "frozen", "img", "raw", "rss_d", "rss_r", "e2e")}


def bench_vxcr(kind, arg, mib, tmp, extra=()):
    res = new_res()
    img = os.path.join(tmp, "img")
    rextra = ["--trusted-keys", TRUSTED] if "--sign" in extra else []
    extra = [KEY if a == "@key" else a for a in extra]
    for rep in range(REPS):
        p = start(kind, arg, tmp)
        if rep == 0 and not SCALE:
            raw = os.path.join(tmp, "raw.img")
            run_measured([VXCR, "dump", "--leave-running", "--compress", "none", "-o", raw,
                          str(p.pid)])
            res["raw"].append(os.path.getsize(raw))
            os.unlink(raw)
        warm(mib)
        pids = tree_pids(p.pid)
        try:
            dt, _, err, rss = run_measured([VXCR, "dump", "--stats"] + list(extra) +
                                           ["-o", img, str(p.pid)])
        except Failed:
            kill_tree(p.pid)
            p.returncode = -signal.SIGKILL
            raise
        p.wait()
        wait_gone(pids)
        st = parse_stats(err)
        res["dump"].append(dt)
        res["rss_d"].append(rss)
        res["frozen"].append(st.get("frozen_ms", dt * 1000) / 1000)
        res["img"].append(os.path.getsize(img))
        warm(mib)
        pidfile = os.path.join(tmp, "pid")
        dt, _, _, rss = run_measured([VXCR, "restore", "-d", "--pidfile", pidfile] + rextra +
                                     [img])
        res["restore"].append(dt)
        res["rss_r"].append(rss)
        kill_tree(int(open(pidfile).read()))
        os.unlink(img)
        reap_zombies()
    return res


def wait_both(pids, timeout=600):
    """Reaps every child until both pids (dump, restore) have exited; the
    target and its orphans are reaped on the way (their pids must be free
    for the restore).  Returns {pid: exit code}."""
    t0, done = now(), {}
    while len(done) < len(pids):
        if now() - t0 > timeout:
            raise Failed("pipe: no end after %d s" % timeout)
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            time.sleep(0.0005)
            continue
        if pid in pids:
            done[pid] = os.waitstatus_to_exitcode(status)
    return done


def pipe_once(p, tmp, res, extra=()):
    """One `vxcr dump --stats PID | vxcr restore -d --pidfile F -`, each
    under `baseline run` (its time and peak RSS)."""
    pidfile = os.path.join(tmp, "pid")
    errs = [os.path.join(tmp, n) for n in ("d.err", "r.err")]
    runs = [os.path.join(tmp, n) for n in ("d.run", "r.run")]
    r, w = os.pipe()
    with open(errs[0], "w") as de, open(errs[1], "w") as re_:
        t = now()
        d = subprocess.Popen([BASELINE, "run", runs[0], VXCR, "dump", "--stats"] +
                             list(extra) + [str(p.pid)], stdin=subprocess.DEVNULL, stdout=w,
                             stderr=de)
        rs = subprocess.Popen([BASELINE, "run", runs[1], VXCR, "restore", "-d", "--pidfile",
                               pidfile, "-"], stdin=r, stdout=subprocess.DEVNULL, stderr=re_)
        os.close(r)
        os.close(w)
        done = wait_both([d.pid, rs.pid])
        dt = now() - t
    d.returncode, rs.returncode = done[d.pid], done[rs.pid]
    if d.returncode or rs.returncode:
        raise Failed("pipe: dump %d, restore %d: %s %s" % (
            d.returncode, rs.returncode, open(errs[0]).read().strip()[-200:],
            open(errs[1]).read().strip()[-200:]))
    st = parse_stats(open(errs[0]).read())
    dd, drss, written = read_run(runs[0], wchar=True)
    rd, rrss = read_run(runs[1])
    res["e2e"].append(dt)
    res["dump"].append(dd)
    res["restore"].append(rd)
    res["frozen"].append(st.get("frozen_ms", 0) / 1000)
    res["img"].append(written)  # the image and the one stats line
    res["rss_d"].append(drss)
    res["rss_r"].append(rrss)
    kill_tree(int(open(pidfile).read()))


def bench_pipe(kind, arg, mib, tmp, extra=()):
    res = new_res()
    for rep in range(REPS):
        p = start(kind, arg, tmp)
        warm(mib)
        try:
            pipe_once(p, tmp, res, extra)
        finally:
            kill_tree(p.pid)
            p.returncode = -signal.SIGKILL  # reaped by wait_both or kill_tree
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
            raise Failed("ctx create failed: " + open(err).read().strip())
        wait_file(ready)

    def end(self):
        if self.vxcr("ctx", "kill", self.xid).returncode == 0:
            self.vxcr("ctx", "wait", self.xid, timeout=30)
        reap_zombies()  # its supervisor was reparented to us


def bench_ctx(kind, arg, mib, tmp, extra=()):
    """vxdump --ctx (kills it, returns once its record is gone) and vxrestore
    (returns once the context runs) of a context whose main command is the
    workload; same result keys as bench_vxcr."""
    res = new_res()
    img = os.path.join(tmp, "img")
    c = Ctx(tmp)
    try:
        for rep in range(REPS):
            c.create(kind, arg, tmp)
            if rep == 0:
                raw = os.path.join(tmp, "raw.img")
                run_measured([VXCR, "dump", "--ctx", c.xid, "--leave-running", "--compress",
                              "none", "-o", raw], env=c.env)
                res["raw"].append(os.path.getsize(raw))
                os.unlink(raw)
            warm(mib)
            dt, _, err, rss = run_measured([VXCR, "dump", "--ctx", c.xid, "--stats"] +
                                           list(extra) + ["-o", img], env=c.env)
            reap_zombies()
            st = parse_stats(err)
            res["dump"].append(dt)
            res["rss_d"].append(rss)
            res["frozen"].append(st.get("frozen_ms", dt * 1000) / 1000)
            res["img"].append(os.path.getsize(img))
            warm(mib)
            dt, _, _, rss = run_measured([VXCR, "restore", img], env=c.env)
            res["restore"].append(dt)
            res["rss_r"].append(rss)
            c.end()
            os.unlink(img)
    finally:
        c.end()
    return res


def bench_criu(kind, arg, mib, tmp):
    """CRIU's dump and restore through files in tmp (also the reference of
    the pipe rows: dump + restore)."""
    res = new_res()
    for rep in range(REPS):
        d = tempfile.mkdtemp(dir=tmp)
        p = start(kind, arg, tmp)
        warm(mib)
        pids = tree_pids(p.pid)
        try:
            dt, out, err, rss = run_measured([CRIU, "dump", "-t", str(p.pid), "-D", d,
                                              "--display-stats"])
        except Failed:
            kill_tree(p.pid)
            p.returncode = -signal.SIGKILL
            shutil.rmtree(d)
            raise
        p.wait()
        wait_gone(pids)
        res["dump"].append(dt)
        res["rss_d"].append(rss)
        fr = criu_frozen(out + err)
        if fr is not None:
            res["frozen"].append(fr)
        res["img"].append(sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)
                              if f.endswith(".img")))
        warm(mib)
        pidfile = os.path.join(d, "pid")
        dt, _, _, rss = run_measured([CRIU, "restore", "-d", "-D", d, "--pidfile", pidfile])
        res["restore"].append(dt)
        res["rss_r"].append(rss)
        res["e2e"].append(res["dump"][-1] + dt)
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


def ms(x):
    return "%.1f" % (x * 1000) if x == x else "-"


def mib_s(x):
    if x != x:
        return "-"
    return ("%.2f" if x < 10 * 2**20 else "%.1f") % (x / 2**20)


def ratio(num, den, target, higher=True):
    """num/den as "1.42x", with " <" when it misses target (at least target
    when higher, at most when not)."""
    if not (num == num and den == den) or den == 0:
        return "-"
    r = num / den
    miss = r < target if higher else r > target
    return ("%.3fx%s" if r < 0.1 else "%.2fx%s") % (r, " <" if miss else "")


def rss_pair(r):
    if not r["rss_d"]:
        return "-"
    return "%.0f/%.0f" % (max(r["rss_d"]) / 2**20, max(r["rss_r"]) / 2**20)


ALL_ROWS = [("anon 64 MiB", "mem", 64, 64, ()), ("anon 256 MiB", "mem", 256, 256, ()),
            ("anon 1 GiB", "mem", 1024, 1024, ()),
            ("anon 1 GiB, signed", "mem", 1024, 1024, SIGNED),
            ("anon 1 GiB, raw", "mem", 1024, 1024, ("--compress", "none")),
            ("anon 1 GiB, raw, signed", "mem", 1024, 1024, ("--compress", "none") + SIGNED),
            ("small 1 MiB", "mem", 1, 1, ()),
            ("python3 dict 1e6", "py", 1000000, 0, ()),
            ("tree 100 procs", "procs", 100, 0, ()),
            ("100 threads", "threads", 100, 0, ()),
            ("ctx small 1 MiB", "ctx:mem", 1, 1, ()),
            ("ctx anon 64 MiB", "ctx:mem", 64, 64, ()),
            ("ctx python3 1e6", "ctx:py", 1000000, 0, ())]
SCALE_ROWS = [("anon 256 MiB", "mem", 256, 256, ()), ("anon 1 GiB", "mem", 1024, 1024, ()),
              ("anon 2 GiB", "mem", 2048, 2048, ()), ("anon 4 GiB", "mem", 4096, 4096, ()),
              ("tree 10 procs", "procs", 10, 0, ()), ("tree 100 procs", "procs", 100, 0, ()),
              ("tree 1000 procs", "procs", 1000, 0, ())]


def rows():
    if SCALE:
        ws = SCALE_ROWS
    elif PIPE:
        ws = [w for w in ALL_ROWS if not w[1].startswith("ctx:") and "signed" not in w[0]]
    else:
        ws = ALL_ROWS
    if QUICK:
        ws = [w for w in ws if w[2] < 1024 or w[1] != "mem"]
    only = opt("--only")
    if only:
        ws = [w for w in ws if any(o in w[0] for o in only.split("|"))]
    return ws


def header(touch):
    if PIPE:
        cols = ["workload", "vxcr pipe ms", "criu d+r ms", "x", "vxcr frozen", "criu frozen",
                "piped MiB", "criu MiB", "x", "RSS d/r MiB", "criu RSS d/r"]
    elif SCALE:
        cols = ["workload", "dump ms", "criu dump", "x", "rest ms", "criu rest", "x",
                "dump/unit", "step", "rest/unit", "step", "criu d/r per unit", "RSS d/r MiB",
                "criu RSS d/r"]
    else:
        cols = ["workload", "dump ms", "criu dump", "x", "rest ms", "criu rest", "x",
                "rest/touch", "frozen ms", "criu frozen", "img MiB", "criu MiB", "x", "raw MiB",
                "RSS d/r MiB", "criu RSS d/r"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))


def line_file(name, mib, r, c, touch):
    d, rs = med(r["dump"]), med(r["restore"])
    cd, cr = med(c["dump"]), med(c["restore"])
    rt = "-"
    if mib >= 256:
        frac = mib * 1.048576 / rs / touch
        rt = "%.0f%%%s" % (100 * frac, " <" if mib >= 1024 and frac < T_TOUCH else "")
    rest = ms(rs) + (" <" if name.startswith("small") and rs * 1000 >= T_SMALL_MS else "")
    return [name, ms(d), ms(cd), ratio(cd, d, T_DUMP), rest, ms(cr), ratio(cr, rs, T_REST), rt,
            ms(med(r["frozen"])), ms(med(c["frozen"])), mib_s(med(r["img"])),
            mib_s(med(c["img"])), ratio(med(r["img"]), med(c["img"]), 1.0, False),
            mib_s(med(r["raw"])), rss_pair(r), rss_pair(c)]


def line_pipe(name, r, c):
    e, ce = med(r["e2e"]), med(c["e2e"])
    cd, cr = med(c["dump"]), med(c["restore"])
    # the pipe's target combines both: CRIU's dump / 1.3 plus its restore / 1.2
    target = (cd + cr) / (cd / T_DUMP + cr / T_REST) if cd == cd else T_REST
    return [name, ms(e), ms(ce), ratio(ce, e, target), ms(med(r["frozen"])),
            ms(med(c["frozen"])), mib_s(med(r["img"])), mib_s(med(c["img"])),
            ratio(med(r["img"]), med(c["img"]), 1.0, False), rss_pair(r), rss_pair(c)]


def line_scale(name, units, prev, r, c):
    """prev: (units, dump s, restore s) of the previous row of the same kind."""
    d, rs = med(r["dump"]), med(r["restore"])
    cd, cr = med(c["dump"]), med(c["restore"])
    step_d = step_r = "-"
    if prev and units > prev[0]:
        step_d = "%.1f" % ((d - prev[1]) * 1000 / (units - prev[0]))
        step_r = "%.1f" % ((rs - prev[2]) * 1000 / (units - prev[0]))
    cpu = "%.1f/%.1f" % (cd * 1000 / units, cr * 1000 / units) if cd == cd else "-"
    return [name, ms(d), ms(cd), ratio(cd, d, T_DUMP), ms(rs), ms(cr), ratio(cr, rs, T_REST),
            "%.1f" % (d * 1000 / units), step_d, "%.1f" % (rs * 1000 / units), step_r, cpu,
            rss_pair(r), rss_pair(c)]


def legend():
    print("x: CRIU time / vxcr time (targets: dump >= %.1fx, restore >= %.1fx), image vxcr / "
          "CRIU (target <= 1); ' <' marks a miss, so does 'rest/touch' under %.0f%% at 1 GiB "
          "and a small restore of %.0f ms or more" % (T_DUMP, T_REST, 100 * T_TOUCH, T_SMALL_MS))
    if PIPE:
        print("pipe: vxcr = `vxcr dump --stats PID | vxcr restore -d -` from the dump's start "
              "until both exit (restored tree running); CRIU has no plain pipe mode: its "
              "column is its dump + restore through image files in the same directory; the "
              "target is CRIU's dump / 1.3 + restore / 1.2")
    if SCALE:
        print("per unit: ms per GiB (anon) or per process (trees); step: the same between "
              "this row and the one before (constant when time grows linearly)")
    print("RSS: peak resident set (ru_maxrss) of the dump / restore command, MiB; "
          "rows marked raw: --compress none")


def run_row(w, tmp, criu_cache):
    name, kind, arg, mib, extra = w
    if kind.startswith("ctx:"):
        r = bench_ctx(kind[4:], arg, mib, tmp, extra)
    elif PIPE:
        r = bench_pipe(kind, arg, mib, tmp, extra)
    else:
        r = bench_vxcr(kind, arg, mib, tmp, extra)
    c = new_res()
    if CRIU and not kind.startswith("ctx:"):
        if (kind, arg) not in criu_cache:
            try:
                criu_cache[(kind, arg)] = bench_criu(kind, arg, mib, tmp)
            except Failed as e:
                print("  criu on %s: %s" % (name, e), flush=True)
                criu_cache[(kind, arg)] = new_res()
        c = criu_cache[(kind, arg)]
    return r, c


def main():
    ws = rows()
    memcpy = baseline("memcpy", 1024)
    touch = baseline("touch", 1024)
    base = opt("--dir") or os.environ.get("VXCR_BENCH_DIR") or \
        ("/dev/shm" if os.path.isdir("/dev/shm") else None)
    tmp = tempfile.mkdtemp(prefix="vxcr-bench-", dir=base)
    mode = "pipe" if PIPE else "scale" if SCALE else "files"
    print("vxcr bench (%s): %d reps, medians; criu: %s" % (mode, REPS, CRIU or "not found"))
    print("baseline: memcpy %.0f MB/s, first touch of fresh memory %.0f MB/s" % (memcpy, touch))
    print("images in %s" % tmp)
    legend()
    global KEY, TRUSTED
    KEY, TRUSTED = os.path.join(tmp, "bench.key"), os.path.join(tmp, "trusted")
    os.mkdir(TRUSTED, 0o700)
    subprocess.run([VXCR, "key", "new", os.path.join(tmp, "bench")], check=True,
                   stdout=subprocess.DEVNULL)
    shutil.copy(os.path.join(tmp, "bench.pub"), TRUSTED)
    header(touch)
    criu_cache, prev = {}, {}
    try:
        for w in ws:
            name, kind, arg, mib = w[0], w[1], w[2], w[3]
            try:
                r, c = run_row(w, tmp, criu_cache)
            except Failed as e:
                print("| %s | failed: %s |" % (name, e), flush=True)
                continue
            if PIPE:
                cols = line_pipe(name, r, c)
            elif SCALE:
                units = mib / 1024 if kind == "mem" else arg
                cols = line_scale(name, units, prev.get(kind), r, c)
                prev[kind] = (units, med(r["dump"]), med(r["restore"]))
            else:
                cols = line_file(name, mib, r, c, touch)
            print("| " + " | ".join(cols) + " |", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
