#!/usr/bin/env python3
"""Each test case in a fresh copy of one warmed-up python3 (vxcr snap).

    harness.py [--store DIR] [--vxcr PATH] TESTFILE.py

Imports TESTFILE once (its heavy imports and fixtures built at import
time) in a process that then says ready (vxsnap.ready()), takes a snapshot
of it (`vxcr snap take`), serves it (`vxcr snap serve`) and runs every
test_* function of TESTFILE in its own fresh copy: a test that changes
module state, or crashes the interpreter, cannot touch the next one.
Prints PASS/FAIL per test and exits 1 if any failed.  Needs root (vxcr
snap) and libvxcr.so.0 on the loader's path (or $VXCR_LIB).
"""
import ast
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vxsnap  # noqa: E402


def child(path):
    """The snapshotted process: import the tests, get ready, run one."""
    import importlib.util
    import traceback
    spec = importlib.util.spec_from_file_location("snap_tests", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    args = vxsnap.ready()
    if not args:
        return 0  # not under vxcr snap: nothing asked
    try:
        getattr(mod, args[0])()
    except Exception:
        traceback.print_exc()
        return 1
    return 0


def tests_of(path):
    tree = ast.parse(open(path).read(), path)
    return [n.name for n in tree.body
            if isinstance(n, ast.FunctionDef) and n.name.startswith("test")]


def main(argv):
    vxcr = "vxcr"
    store = None
    while argv and argv[0].startswith("--"):
        opt, val, argv = argv[0], argv[1], argv[2:]
        if opt == "--store":
            store = val
        elif opt == "--vxcr":
            vxcr = val
        elif opt == "--child":
            code = child(val)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)  # no interpreter teardown: it would touch every page
        else:
            sys.exit("harness.py: unknown option " + opt)
    if len(argv) != 1:
        sys.exit(__doc__)
    path = os.path.abspath(argv[0])
    tmp = tempfile.mkdtemp(prefix="vxsnap-")
    store = store or os.path.join(tmp, "store")
    sock = os.path.join(tmp, "sock")
    name = "harness-" + os.path.basename(path).replace(".py", "")
    subprocess.run([vxcr, "snap", "take", name, "--store", store, "--", sys.executable,
                    os.path.abspath(__file__), "--child", path], check=True)
    server = subprocess.Popen([vxcr, "snap", "serve", name, "--store", store, "--socket", sock])
    failed = 0
    try:
        while not os.path.exists(sock):
            if server.poll() is not None:
                sys.exit("harness.py: snap serve exited %d" % server.returncode)
            time.sleep(0.01)
        client = vxsnap.Client(sock)
        for test in tests_of(path):
            t = time.monotonic()
            pid, pidfd = client.spawn([test])
            os.close(pidfd)
            status = client.wait(pid)
            ok = os.waitstatus_to_exitcode(status) == 0
            failed += not ok
            print("%s %s (%.1f ms)" % ("PASS" if ok else "FAIL", test,
                                       (time.monotonic() - t) * 1000), flush=True)
        client.close()
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
