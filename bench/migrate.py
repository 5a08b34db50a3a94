#!/usr/bin/env python3
"""vxcr live-migration benchmark: a process of MIB MiB rewriting its memory
at RATE MiB/s (tests/progs/mig-dirty) moves from this network namespace to
one the bench makes (a veth pair between them), with `vxcr migrate`
(pre-copy, the default), `vxcr migrate --no-precopy`, and, when a criu
binary is found ($CRIU or PATH), CRIU's dump + transfer (a tar stream over
TCP between the two namespaces, images on tmpfs both sides) + restore of
the same workload: the process is down for all of CRIU's (this kernel has
no soft-dirty bits, so CRIU cannot pre-dump).  Prints medians: frozen time
(vxcr: seize to kill, the service's downtime apart from the restore's
last step), total time, bytes on the wire / memory, rounds, the channel's
encryption time.
usage: bench/migrate.py BUILD [--reps N] [--sizes 256,1024] [--rates 0,10,100]"""
import json, os, shutil, signal, socket, statistics, subprocess, sys, tempfile, time
import ctypes

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"


def arg(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


REPS = int(arg("--reps", os.environ.get("VXCR_BENCH_REPS", "3")))
SIZES = [int(x) for x in arg("--sizes", "256,1024").split(",")]
RATES = [int(x) for x in arg("--rates", "0,10,100").split(",")]
VXCR = os.path.abspath(os.path.join(BUILD, "bin", "vxcr"))
PROG = os.path.abspath(os.path.join(BUILD, "tests", "progs", "mig-dirty"))
CRIU = os.environ.get("CRIU") or shutil.which("criu")
NS = "vxcr-bmig-%d" % os.getpid()
N = os.getpid() % 250 + 1
SRC, DST, PORT = "10.78.%d.1" % N, "10.78.%d.2" % N, 7412

libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: restored trees end up ours


def sh(*a, **kw):
    return subprocess.run(list(a), check=True, **kw)


def in_ns(*a):
    return ["nsenter", "--net=/run/netns/" + NS] + list(a)


def setup(tmp):
    sh("ip", "netns", "add", NS)
    sh("ip", "-n", NS, "link", "set", "lo", "up")
    sh("ip", "link", "add", "vxbm%d" % N, "type", "veth", "peer", "name", "vxbm%db" % N,
       "netns", NS)
    sh("ip", "addr", "add", SRC + "/24", "dev", "vxbm%d" % N)
    sh("ip", "link", "set", "vxbm%d" % N, "up")
    sh("ip", "-n", NS, "addr", "add", DST + "/24", "dev", "vxbm%db" % N)
    sh("ip", "-n", NS, "link", "set", "vxbm%db" % N, "up")
    for h in ("a", "b"):
        os.makedirs(os.path.join(tmp, h, "trusted"), 0o700)
        sh(VXCR, "key", "new", os.path.join(tmp, h, "host"), stdout=subprocess.DEVNULL)
    shutil.copy(os.path.join(tmp, "b", "host.pub"), os.path.join(tmp, "a", "trusted", "b.pub"))
    shutil.copy(os.path.join(tmp, "a", "host.pub"), os.path.join(tmp, "b", "trusted", "a.pub"))


def teardown():
    subprocess.run(["ip", "netns", "del", NS], stderr=subprocess.DEVNULL)


def wait_line(path, text, timeout=120):
    t = time.monotonic()
    while time.monotonic() - t < timeout:
        try:
            if text in open(path).read():
                return
        except FileNotFoundError:
            pass
        time.sleep(0.01)
    raise RuntimeError("no '%s' in %s" % (text, path))


def kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    for _ in range(500):
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return
        except ChildProcessError:
            if not os.path.exists("/proc/%d" % pid):
                return
        time.sleep(0.01)


def reap():
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def warm(mib):
    """Touches and frees 3x mib of memory: this VM's host backs guest memory
    on its first touch (4-8x slower than memory touched before), which
    would be charged to whichever side touches fresh memory first (as
    bench/run.py does)."""
    subprocess.run([sys.executable, "-c", "b = bytearray(%d << 20)\nfor i in range(0, len(b), 4096): b[i] = 1" % (3 * mib)], check=True)


def start(tmp, mib, rate):
    warm(mib)
    out = os.path.join(tmp, "out")
    if os.path.exists(out):
        os.unlink(out)
    # its own session, as CRIU wants of a tree it dumps (no --shell-job)
    p = subprocess.Popen([PROG, out, str(mib), str(rate)], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    wait_line(out, "ready")
    time.sleep(1.0)  # let it dirty at its rate for a while
    return p


def bench_vxcr(tmp, mib, rate, extra):
    rows = []
    for _ in range(REPS):
        p = start(tmp, mib, rate)
        serr = os.path.join(tmp, "serve.err")
        with open(serr, "w") as f:
            srv = subprocess.Popen(in_ns(VXCR, "serve", "--once", "--pidns", "--keys",
                                         os.path.join(tmp, "b"), "--listen",
                                         "%s:%d" % (DST, PORT)), stdout=subprocess.DEVNULL,
                                   stderr=f)
        wait_line(serr, "listening")
        t = time.monotonic()
        r = subprocess.run([VXCR, "migrate", "--keys", os.path.join(tmp, "a"), "--stats"] +
                           list(extra) + [str(p.pid), "%s:%d" % (DST, PORT)],
                           capture_output=True, text=True)
        wall = time.monotonic() - t
        srv.wait(timeout=60)
        if r.returncode:
            kill(p.pid)
            raise RuntimeError("vxcr migrate: " + r.stderr.strip())
        p.wait()
        st = json.loads([l for l in r.stderr.splitlines() if l.startswith("{")][-1])
        st["wall_ms"] = wall * 1000
        rows.append(st)
        kill(int(r.stdout.strip()))
        reap()
    return rows


def bench_criu(tmp, mib, rate):
    rows = []
    for _ in range(REPS):
        src = tempfile.mkdtemp(dir=tmp)
        dst = tempfile.mkdtemp(dir=tmp)
        p = start(tmp, mib, rate)
        # the receiving end in the other namespace: python3 on a socket there
        rx = subprocess.Popen(in_ns(sys.executable, "-c", RECV, DST, str(PORT + 1), dst))
        time.sleep(0.3)
        t = time.monotonic()
        sh(CRIU, "dump", "-t", str(p.pid), "-D", src, stderr=subprocess.DEVNULL)
        t_dump = time.monotonic()
        p.wait()
        s = socket.create_connection((DST, PORT + 1), 10)
        with s:
            tar = subprocess.Popen(["tar", "-c", "-C", src, "."], stdout=subprocess.PIPE)
            shutil.copyfileobj(tar.stdout, s.makefile("wb"))
            tar.wait()
        rx.wait(timeout=60)
        t_xfer = time.monotonic()
        pidfile = os.path.join(dst, "pid")
        sh(*in_ns(CRIU, "restore", "-d", "-D", dst, "--pidfile", pidfile),
           stderr=subprocess.DEVNULL)
        t_rest = time.monotonic()
        rows.append({"dump_ms": (t_dump - t) * 1000, "xfer_ms": (t_xfer - t_dump) * 1000,
                     "restore_ms": (t_rest - t_xfer) * 1000, "down_ms": (t_rest - t) * 1000})
        kill(int(open(pidfile).read()))
        shutil.rmtree(src)
        shutil.rmtree(dst)
        reap()
    return rows


RECV = r"""
import socket, subprocess, sys
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((sys.argv[1], int(sys.argv[2])))
ls.listen(1)
c, _ = ls.accept()
subprocess.run(["tar", "-x", "-C", sys.argv[3]], stdin=c.fileno(), check=True)
"""


def med(rows, key):
    return statistics.median(r[key] for r in rows)


def main():
    if not os.path.exists(PROG):
        sys.exit("bench/migrate.py: %s not built (make)" % PROG)
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    tmp = tempfile.mkdtemp(prefix="vxcr-bmig-", dir=base)
    print("vxcr migrate bench: %d reps, medians; criu: %s" % (REPS, CRIU or "not found"))
    print("%-16s %6s %9s %9s %7s %9s %8s %10s %10s %10s" % (
        "workload", "rounds", "frozen ms", "total ms", "sent/mem", "crypt ms", "nopre fz",
        "criu down", "criu dump", "fz ratio"))
    try:
        setup(tmp)
        for mib in SIZES:
            for rate in RATES:
                v = bench_vxcr(tmp, mib, rate, ())
                n = bench_vxcr(tmp, mib, rate, ("--no-precopy",))
                line = "%-16s %6.0f %9.1f %9.1f %7.2f %9.1f %8.1f" % (
                    "%d MiB @%d MiB/s" % (mib, rate), med(v, "rounds"), med(v, "frozen_ms"),
                    med(v, "total_ms"), med(v, "wire_bytes") / (mib << 20),
                    med(v, "crypt_ms"), med(n, "frozen_ms"))
                if CRIU:
                    c = bench_criu(tmp, mib, rate)
                    line += " %10.1f %10.1f %10.3f" % (med(c, "down_ms"), med(c, "dump_ms"),
                                                       med(v, "frozen_ms") / med(c, "down_ms"))
                print(line, flush=True)
    finally:
        teardown()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
