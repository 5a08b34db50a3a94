#!/usr/bin/env python3
"""UDP sockets benchmark (issue 13): a process with 1000 bound UDP sockets,
and one with 1000 datagrams of 100 bytes queued on a socket (bench/udpsocks.c):
vxdump / vxrestore times and image size, medians of REPS runs; CRIU side by
side when a criu binary is found ($CRIU, /tmp/criu-src/criu/criu, PATH).
CRIU keeps no UDP receive queue: the "queued" row measures its dump of the
sockets without their datagrams.
usage: bench/udp.py BUILD [--reps N]"""
import os, shutil, signal, statistics, subprocess, sys, tempfile, time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
REPS = int(sys.argv[sys.argv.index("--reps") + 1]) if "--reps" in sys.argv else 5
VXCR = os.path.abspath(os.path.join(BUILD, "bin", "vxcr"))
PROG = os.path.abspath(os.path.join(BUILD, "bench", "udpsocks"))
CRIU = os.environ.get("CRIU") or (
    "/tmp/criu-src/criu/criu" if os.access("/tmp/criu-src/criu/criu", os.X_OK)
    else shutil.which("criu"))


def start(tmp, n, q):
    ready = os.path.join(tmp, "ready")
    if os.path.exists(ready):
        os.unlink(ready)
    p = subprocess.Popen([PROG, ready, str(n), str(q)], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    t = time.monotonic()
    while not os.path.exists(ready) or os.path.getsize(ready) == 0:
        if time.monotonic() - t > 30 or p.poll() is not None:
            raise RuntimeError("udpsocks did not get ready")
        time.sleep(0.01)
    return p


def timed(cmd):
    t = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.monotonic() - t
    if r.returncode:
        raise RuntimeError("%s: %s" % (" ".join(cmd), r.stderr.strip()[:300]))
    return dt


def gone(pid):
    for _ in range(500):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)


def kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    gone(pid)


def queued(pid):
    """Datagrams queued on the restored process's first socket (fd 3)."""
    with open("/proc/net/udp") as f:
        lines = f.read().splitlines()[1:]
    ino = os.readlink("/proc/%d/fd/3" % pid).strip("socket:[]")
    for line in lines:
        col = line.split()
        if col[9] == ino:
            return int(col[4].split(":")[1], 16)  # rx_queue bytes (truesize)
    return -1


def bench_vxcr(tmp, n, q):
    res = {"dump": [], "restore": [], "img": [], "rxq": []}
    for _ in range(REPS):
        p = start(tmp, n, q)
        img = os.path.join(tmp, "img")
        res["dump"].append(timed([VXCR, "dump", "-o", img, str(p.pid)]))
        p.wait()
        res["img"].append(os.path.getsize(img))
        pidf = os.path.join(tmp, "pid")
        res["restore"].append(timed([VXCR, "restore", "-d", "--pidfile", pidf, img]))
        pid = int(open(pidf).read())
        res["rxq"].append(queued(pid))
        kill(pid)
        os.unlink(img)
    return res


def bench_criu(tmp, n, q):
    res = {"dump": [], "restore": [], "img": [], "rxq": []}
    for _ in range(REPS):
        d = tempfile.mkdtemp(dir=tmp)
        p = start(tmp, n, q)
        res["dump"].append(timed([CRIU, "dump", "-t", str(p.pid), "-D", d]))
        p.wait()
        res["img"].append(sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)))
        pidf = os.path.join(d, "pid")
        res["restore"].append(timed([CRIU, "restore", "-d", "-D", d, "--pidfile", pidf]))
        pid = int(open(pidf).read())
        res["rxq"].append(queued(pid))
        kill(pid)
        shutil.rmtree(d)
    return res


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    import ctypes
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: reap the restored
    tmp = tempfile.mkdtemp(prefix="vxcr-bench-udp.")
    rows = [("1000 UDP sockets", 1000, 0), ("1000 queued datagrams", 2, 1000)]
    print("udp bench: %d reps, medians, criu: %s" % (REPS, CRIU or "not found"))
    print("%-24s %9s %9s %8s %9s | %9s %9s %8s %9s" % (
        "workload", "dump ms", "rest ms", "img KiB", "rxq B", "criu dump", "criu rest",
        "img KiB", "rxq B"))
    try:
        for name, n, q in rows:
            v = bench_vxcr(tmp, n, q)
            c = None
            if CRIU:
                try:
                    c = bench_criu(tmp, n, q)
                except RuntimeError as e:
                    print("# criu: %s" % e)
            line = "%-24s %9.1f %9.1f %8.1f %9d" % (
                name, med(v["dump"]) * 1e3, med(v["restore"]) * 1e3, med(v["img"]) / 1024,
                med(v["rxq"]))
            if c:
                line += " | %9.1f %9.1f %8.1f %9d" % (
                    med(c["dump"]) * 1e3, med(c["restore"]) * 1e3, med(c["img"]) / 1024,
                    med(c["rxq"]))
            print(line, flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


main()
