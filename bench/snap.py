#!/usr/bin/env python3
"""Snapshot testing, measured: fresh copies of a warmed-up process per
second, from `vxcr snap serve` (a copy forked from a template, spawn to
exit through the socket), from `vxcr snap run` (a restore from the image,
exec of vxcr to exit; and -n 20 in one run), against a cold start of the
same program (posix_spawn to exit), and the Pss of a running copy
(/proc/PID/smaps_rollup).  Two programs: tests/progs/snap-mem (1 MiB of
warm state) and python3 with numpy imported if it is installed, else with
heavy stdlib imports (ready through contrib/snap/vxsnap.py).  With CRIU
($CRIU or criu on PATH, --no-criu to leave it out): the same program
stopped at the same point (waiting in its ready call) dumped once by CRIU,
then `criu restore -d` of that image again and again, each copy given its
empty argument message through --inherit-fd and run to its exit.
usage: bench/snap.py [BUILD] [--runs N] [--no-criu]   (root; BUILD default: build)"""
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "contrib", "snap"))
import vxsnap  # noqa: E402

RUNS = 200
CRIU = None
if "--no-criu" in sys.argv:
    sys.argv.remove("--no-criu")
else:
    CRIU = os.environ.get("CRIU") or shutil.which("criu")
if "--runs" in sys.argv:
    i = sys.argv.index("--runs")
    RUNS = int(sys.argv[i + 1])
    del sys.argv[i:i + 2]
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
VXCR = os.path.join(BUILD, "bin", "vxcr")
LIB = os.path.join(BUILD, "lib")
os.environ["LD_LIBRARY_PATH"] = LIB
os.environ["VXCR_LIB"] = os.path.join(LIB, "libvxcr.so.0")

PY_PROG = r'''
import sys
sys.path.insert(0, %r)
try:
    import numpy
    warm = numpy.arange(1 << 17)
    what = "numpy " + numpy.__version__
except ImportError:
    import asyncio, decimal, email.parser, http.client, json, unittest, xml.etree.ElementTree
    import argparse, csv, sqlite3, ssl, logging, urllib.request
    warm = [decimal.Decimal(i) for i in range(20000)]
    what = "stdlib imports"
import os, vxsnap
args = vxsnap.ready()
if args and args[0] == "sleep":
    import time
    print(what, flush=True)
    time.sleep(60)
sys.stdout.flush()
os._exit(0)
''' % os.path.join(ROOT, "contrib", "snap")


def rate(fn, n):
    t = time.monotonic()
    for _ in range(n):
        fn()
    dt = time.monotonic() - t
    return n / dt, dt / n * 1000


def cold(argv):
    def one():
        pid = os.posix_spawn(argv[0], argv, {k: v for k, v in os.environ.items()
                                             if k != "VXCR_SNAP_FD"},
                             file_actions=[(os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0)])
        os.waitpid(pid, 0)
    return one


def pss_kb(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return -1


def serve_bench(store, name, tmp, runs, sleep_args):
    sock = os.path.join(tmp, name + ".sock")
    srv = subprocess.Popen([VXCR, "snap", "serve", name, "--store", store, "--socket", sock])
    while not os.path.exists(sock):
        time.sleep(0.01)
    c = vxsnap.Client(sock)
    null = os.open("/dev/null", os.O_RDWR)
    warm = c.spawn([], (null, null, null))  # the first request waits for the template
    os.close(warm[1])
    c.wait(warm[0])

    def one():
        pid, pidfd = c.spawn([], (null, null, null))
        os.close(pidfd)
        c.wait(pid)
    r = rate(one, runs)
    # Pss of 10 running copies
    rd, wr = os.pipe()
    pids = []
    for _ in range(10):
        pid, pidfd = c.spawn(sleep_args, (null, wr, null))
        os.close(pidfd)
        pids.append(pid)
    os.close(wr)
    with os.fdopen(rd) as f:
        for _ in pids:
            f.readline()
    pss = sorted(pss_kb(p) for p in pids)
    for p in pids:
        os.kill(p, signal.SIGKILL)
        c.wait(p)
    c.close()
    srv.terminate()
    srv.wait()
    os.close(null)
    return r, pss[len(pss) // 2]


def run_bench(store, name, runs):
    null = subprocess.DEVNULL

    def one():
        subprocess.run([VXCR, "snap", "run", name, "--store", store], stdout=null, check=True)
    r = rate(one, runs)
    t = time.monotonic()
    subprocess.run([VXCR, "snap", "run", name, "--store", store, "-n", "20"], stdout=null,
                   stderr=null, check=True)
    batch = (time.monotonic() - t) / 20 * 1000
    return r, batch


def criu_bench(argv, tmp, runs):
    """Copies per second made by `criu restore -d` of one CRIU image of the
    program waiting in its ready call (spawn to exit, as serve's)."""
    d = tempfile.mkdtemp(dir=tmp)
    r0, w0 = os.pipe()
    r1, w1 = os.pipe()
    ino_r, ino_w = os.fstat(r0).st_ino, os.fstat(w1).st_ino

    def chan():
        os.dup2(r0, 3)
        os.dup2(w1, 4)
    env = dict(os.environ, VXCR_SNAP_FD="3,4")
    p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True, preexec_fn=chan,
                         pass_fds=(3, 4))
    os.close(w1)
    if os.read(r1, 1) not in (b"R", b"S"):
        raise RuntimeError("%s: no ready byte" % argv[0])
    subprocess.run([CRIU, "dump", "-t", str(p.pid), "-D", d], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    p.wait()
    for fd in (r0, w0, r1):
        os.close(fd)
    pidfile = os.path.join(d, "pid")

    def one():
        a, b = os.pipe()
        c, e = os.pipe()
        os.write(b, (0).to_bytes(4, "little"))
        os.close(b)
        if os.path.exists(pidfile):
            os.unlink(pidfile)
        subprocess.run([CRIU, "restore", "-d", "-D", d, "--pidfile", pidfile,
                        "--inherit-fd", "fd[%d]:pipe:[%d]" % (a, ino_r),
                        "--inherit-fd", "fd[%d]:pipe:[%d]" % (e, ino_w)],
                       pass_fds=(a, e), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        for fd in (a, c, e):
            os.close(fd)
        os.waitpid(int(open(pidfile).read()), 0)  # ours: we are the subreaper
    try:
        return rate(one, runs)
    finally:
        shutil.rmtree(d)


def main():
    if CRIU:
        ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    tmp = tempfile.mkdtemp(prefix="vxcr-snapbench-", dir="/dev/shm")
    store = os.path.join(tmp, "store")
    py = os.path.join(tmp, "prog.py")
    with open(py, "w") as f:
        f.write(PY_PROG)
    progs = [("snap-mem (1 MiB)", "mem", [os.path.join(BUILD, "tests", "progs", "snap-mem")],
              ["show", "sleep", "60000"]),
             ("python3", "py", [sys.executable, py], ["sleep"])]
    rows = []
    for label, name, argv, sleep_args in progs:
        subprocess.run([VXCR, "snap", "take", name, "--store", store, "--"] + argv,
                       stdout=subprocess.DEVNULL, check=True)
        size = os.path.getsize(os.path.join(store, name, "image")) / 1048576
        n = RUNS if name == "mem" else max(RUNS // 4, 10)
        (srate, sms), pss = serve_bench(store, name, tmp, n, sleep_args)
        (rrate, rms), batch = run_bench(store, name, max(n // 4, 5))
        crate, cms = rate(cold(argv), n)
        krate, kms = criu_bench(argv, tmp, max(n // 10, 5)) if CRIU else (float("nan"),) * 2
        rows.append((label, size, srate, sms, rrate, rms, batch, crate, cms, krate, kms,
                     srate / krate, pss))
    print("criu: %s" % (CRIU or "not found (--no-criu or none on PATH)"))
    print("| program | image MiB | serve /s (ms) | run /s (ms) | run -n 20, ms/copy "
          "| cold start /s (ms) | criu restore /s (ms) | serve/criu | Pss/copy kB (serve) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %s | %.1f | %.0f (%.2f) | %.0f (%.2f) | %.2f | %.0f (%.2f) | %.0f (%.2f) "
              "| %.0fx | %d |" % r)
    subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
