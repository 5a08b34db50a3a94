#!/usr/bin/env python3
"""Frozen time of vxdump --leave-running: the copy-on-write snapshot (the
default) against --no-cow (frozen until every page is read), and CRIU's
dump --leave-running (its stats-dump frozen_time) when a criu binary is
found ($CRIU or PATH).  Targets: bench/workload (MiB touched, then idle)
and tests/progs/cow-writer (writes its memory all the time).

usage: bench/cow.py [BUILD] [REPS]   (root; medians of REPS, default 5)
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
REPS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
VXDUMP = os.path.join(BUILD, "bin", "vxdump")
WORKLOAD = os.path.join(BUILD, "bench", "workload")
WRITER = os.path.join(BUILD, "tests", "progs", "cow-writer")
CRIU = os.environ.get("CRIU") or shutil.which("criu")


def start(kind, mib, tmp):
    ready = os.path.join(tmp, "ready")
    if os.path.exists(ready):
        os.unlink(ready)
    if kind == "idle":
        argv = [WORKLOAD, str(mib), ready]
    else:
        argv = [WRITER, ready, str(mib)]
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    t = time.time()
    while not os.path.exists(ready) or os.path.getsize(ready) == 0:
        if time.time() - t > 60:
            raise RuntimeError("workload not ready")
        time.sleep(0.01)
    time.sleep(0.3)
    return p


def stop(p):
    p.kill()
    p.wait()


def vx_frozen(pid, tmp, extra):
    img = os.path.join(tmp, "img")
    r = subprocess.run([VXDUMP, "--leave-running", "--stats", "--no-sync", "-o", img]
                       + extra + [str(pid)], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError("vxdump failed: " + r.stderr.strip())
    os.unlink(img)
    for tok in r.stderr.split():
        if tok.startswith("frozen_ms="):
            return float(tok.split("=")[1])
    raise RuntimeError("no frozen_ms")


def varint(b, i):
    v = s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7f) << s
        s += 7
        if c < 0x80:
            return v, i


def fields(b):
    i, out = 0, {}
    while i < len(b):
        key, i = varint(b, i)
        if key & 7 == 0:
            v, i = varint(b, i)
        elif key & 7 == 2:
            n, i = varint(b, i)
            v, i = b[i:i + n], i + n
        else:
            raise ValueError("wire type %d" % (key & 7))
        out[key >> 3] = v
    return out


def criu_frozen(pid, tmp):
    d = os.path.join(tmp, "criu")
    shutil.rmtree(d, ignore_errors=True)
    os.mkdir(d)
    r = subprocess.run([CRIU, "dump", "-t", str(pid), "-D", d, "--leave-running"],
                       capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError("criu dump failed: " + r.stderr.strip()[-300:])
    b = open(os.path.join(d, "stats-dump"), "rb").read()
    n = int.from_bytes(b[8:12], "little")  # two magics, then the entry's size
    dump = fields(fields(b[12:12 + n])[1])
    shutil.rmtree(d)
    return dump[2] / 1000.0  # frozen_time, us


def main():
    rows = []
    with tempfile.TemporaryDirectory(prefix="vxcr-cow-bench.", dir="/tmp") as tmp:
        for kind in ("idle", "writer"):
            for mib in (256, 1024):
                res = {"cow": [], "no-cow": [], "criu": []}
                for _ in range(REPS):
                    for how in res:
                        if how == "criu" and not CRIU:
                            continue
                        p = start(kind, mib, tmp)
                        try:
                            if how == "criu":
                                res[how].append(criu_frozen(p.pid, tmp))
                            else:
                                res[how].append(vx_frozen(p.pid, tmp,
                                                          ["--no-cow"] if how == "no-cow" else []))
                        finally:
                            stop(p)
                rows.append((kind, mib, res))
    print("frozen ms of a --leave-running dump, medians of %d (criu: %s)" % (REPS, CRIU or "not found"))
    print("%-8s %6s %10s %10s %10s %8s" % ("target", "MiB", "cow", "no-cow", "criu", "cow/criu"))
    for kind, mib, res in rows:
        med = {k: statistics.median(v) if v else float("nan") for k, v in res.items()}
        print("%-8s %6d %10.1f %10.1f %10.1f %8.3f" % (kind, mib, med["cow"], med["no-cow"],
                                                       med["criu"], med["cow"] / med["criu"]))


if __name__ == "__main__":
    main()
