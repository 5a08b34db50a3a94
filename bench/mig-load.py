"""Clients of a redis server under load while it migrates (bench/mig-redis.sh).
usage: mig-load.py ADDR PORT CONNS OUT SRC: CONNS connections from address
SRC, each sending INCR k<i> in a loop, one request in flight; on SIGTERM
writes to OUT one line: requests answered, requests lost (an error or a
dropped connection), the longest wait for one answer (ms), and whether
each counter equals the answers its connection got."""
import signal, socket, sys, threading, time

addr, port, conns, out, src = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
stop = threading.Event()
stats = []


def conn(i):
    st = {"ok": 0, "lost": 0, "stall": 0.0, "last": 0}
    stats.append(st)
    try:
        s = socket.create_connection((addr, port), 5, source_address=(src, 0))
        s.settimeout(30)
        f = s.makefile("rwb")
        f.write(b"DEL k%d\r\n" % i)
        f.flush()
        f.readline()
        while not stop.is_set():
            t = time.monotonic()
            f.write(b"INCR k%d\r\n" % i)
            f.flush()
            line = f.readline()
            if not line.startswith(b":"):
                st["lost"] += 1
                return
            st["stall"] = max(st["stall"], time.monotonic() - t)
            st["ok"] += 1
            st["last"] = int(line[1:])
    except OSError:
        st["lost"] += 1


threads = [threading.Thread(target=conn, args=(i,), daemon=True) for i in range(conns)]
for t in threads:
    t.start()
signal.signal(signal.SIGTERM, lambda *a: stop.set())
while not stop.is_set():
    time.sleep(0.05)
for t in threads:
    t.join(5)
with open(out, "w") as o:
    o.write("answered %d lost %d stall_ms %.1f consistent %s\n" % (
        sum(s["ok"] for s in stats), sum(s["lost"] for s in stats),
        1000 * max(s["stall"] for s in stats), all(s["ok"] == s["last"] for s in stats)))
