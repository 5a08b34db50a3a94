#!/usr/bin/env python3
"""vxcr TCP benchmark: dump and restore times of one process holding 1, 100
and 1000 established loopback connections (bench/tcpconns.c: both ends of
each, a few bytes queued each way), medians of N runs, and the time from
the restore's return to every connection having exchanged a byte each way
(resume); with --queued, the connections wait in the listener's accept
queue instead (accepted after the restore).  With CRIU=path (or /tmp/criu-src/criu/criu, or criu in PATH),
CRIU's `dump --tcp-established` / `restore` side by side (--network-lock nftables:
no iptables here).
usage: bench/tcp.py BUILD [--reps N] [--conns 1,100,1000] [--queued]"""
import ctypes, os, shutil, signal, statistics, subprocess, sys, tempfile, time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
REPS = int(sys.argv[sys.argv.index("--reps") + 1]) if "--reps" in sys.argv else 5
CONNS = [int(x) for x in (sys.argv[sys.argv.index("--conns") + 1].split(",")
                          if "--conns" in sys.argv else ["1", "100", "1000"])]
QUEUED = "--queued" in sys.argv
VXDUMP = os.path.abspath(os.path.join(BUILD, "bin", "vxdump"))
VXRESTORE = os.path.abspath(os.path.join(BUILD, "bin", "vxrestore"))
PROG = os.path.abspath(os.path.join(BUILD, "bench", "tcpconns"))
CRIU = os.environ.get("CRIU") or (
    "/tmp/criu-src/criu/criu" if os.access("/tmp/criu-src/criu/criu", os.X_OK)
    else shutil.which("criu"))

libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: we reap what we restore


def wait_text(path, want, timeout=60):
    t = time.monotonic()
    while time.monotonic() - t < timeout:
        try:
            with open(path) as f:
                got = f.read()
            if got in want:
                return got
        except FileNotFoundError:
            pass
        time.sleep(0.001)
    raise RuntimeError("%s: no %s" % (path, want))


def gone(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for _ in range(2000):
        try:
            if os.waitpid(-1, os.WNOHANG) == (0, 0):
                pass
        except ChildProcessError:
            pass
        if not os.path.exists("/proc/%d" % pid):
            return
        time.sleep(0.005)


def run(cmd, **kw):
    t = time.monotonic()
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, **kw)
    dt = time.monotonic() - t
    if r.returncode:
        raise RuntimeError("%s: %s" % (cmd[0], r.stderr.decode()[-300:]))
    return dt


def one(tool, n, d):
    ready = os.path.join(d, "ready")
    p = subprocess.Popen([PROG, str(n), ready] + (["queued"] if QUEUED else []),
                         stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return measure(tool, n, d, p, ready)
    finally:
        gone(p.pid)  # also when a step failed: the workload or its restored copy


def criu_tables():
    """The inet tables of CRIU's network lock on this host now."""
    out = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    return {l.split()[2] for l in out.splitlines()
            if l.startswith("table inet CRIU-") and len(l.split()) == 3}


def measure(tool, n, d, p, ready):
    if tool == "vxcr":
        return measure_one(tool, n, d, p, ready)
    before = criu_tables()
    try:
        return measure_one(tool, n, d, p, ready)
    finally:
        # CRIU keeps its lock from the dump until a restore that succeeds:
        # a failed or crashed run must not leave it on the host
        for t in criu_tables() - before:
            subprocess.run(["nft", "delete", "table", "inet", t])


def measure_one(tool, n, d, p, ready):
    wait_text(ready, ("ready",))
    img = os.path.join(d, "img")
    if tool == "vxcr":
        td = run([VXDUMP, "--tcp-established", "--no-sync", "-o", img, str(p.pid)])
        p.wait()
        size = os.path.getsize(img)
        tr = run([VXRESTORE, "-d", img])
    else:
        shutil.rmtree(img, ignore_errors=True)
        os.mkdir(img)
        td = run([CRIU, "dump", "-t", str(p.pid), "--tcp-established", "--shell-job",
                  "--network-lock", "nftables", "-D", img, "-o", "dump.log"])
        p.wait()
        size = sum(os.path.getsize(os.path.join(img, f)) for f in os.listdir(img))
        tr = run([CRIU, "restore", "-d", "--tcp-established", "--shell-job", "--network-lock",
                  "nftables", "-D", img,
                  "-o", "restore.log"])
    t = time.monotonic()
    os.kill(p.pid, signal.SIGUSR1)
    got = wait_text(ready, ("ok", "bad"))
    resume = time.monotonic() - t
    if got != "ok":
        raise RuntimeError("%s: the restored connections do not work" % tool)
    return td, tr, resume, size


def main():
    tools = ["vxcr"] + (["criu"] if CRIU else [])
    print("# TCP C/R%s, medians of %d; %s" % (", connections in the accept queue" if QUEUED else "",
                                              REPS, "CRIU: " + CRIU if CRIU else "no CRIU"))
    print("%-6s %6s %10s %10s %10s %10s" % ("tool", "conns", "dump ms", "restore ms",
                                            "resume ms", "image KB"))
    for n in CONNS:
        for tool in tools:
            res = []
            with tempfile.TemporaryDirectory(prefix="vxcr-bench-tcp.") as d:
                try:
                    for _ in range(REPS):
                        res.append(one(tool, n, d))
                except RuntimeError as e:
                    print("%-6s %6d failed: %s" % (tool, n, str(e).strip().splitlines()[-1]
                                                   if str(e).strip() else "?"))
                    continue
            med = [statistics.median(x) for x in zip(*res)]
            print("%-6s %6d %10.1f %10.1f %10.1f %10.0f" % (tool, n, med[0] * 1e3, med[1] * 1e3,
                                                        med[2] * 1e3, med[3] / 1024))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
