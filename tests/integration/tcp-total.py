"""A TCP server and client keeping a running total, for tests of connections
that move (t-ctx-net-tcp, t-mig-ctx).

server ADDR PORT [TRIGGER]: accepts one client and answers each line N with
  "COUNT TOTAL PID"; once the file TRIGGER exists it accepts one more
  connection and answers it "queued " + its first line.
client ADDR PORT OUT [SRC]: connects (from address SRC if given), appends
  "port P" to OUT, then sends 1, 2, 3, ... every 50 ms and appends
  "I ANSWER" per answer; "EOF" and exit 1 when the connection ends."""
import os, socket, sys, time


def server(addr, port, trigger=None):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, int(port)))
    ls.listen(4)
    c, _ = ls.accept()
    f = c.makefile("rw")
    total = n = 0
    waiting = trigger is not None
    for line in f:
        n += 1
        total += int(line)
        f.write("%d %d %d\n" % (n, total, os.getpid()))
        f.flush()
        if waiting and os.path.exists(trigger):
            q, _ = ls.accept()
            q.sendall(b"queued " + q.recv(100))
            q.close()
            waiting = False


def client(addr, port, out, src=None):
    s = socket.create_connection((addr, int(port)), 5, source_address=(src, 0) if src else None)
    s.settimeout(60)
    f = s.makefile("rw")
    with open(out, "a") as o:
        o.write("port %d\n" % s.getsockname()[1])
    i = 0
    while True:
        i += 1
        f.write("%d\n" % i)
        f.flush()
        line = f.readline()
        if not line:
            with open(out, "a") as o:
                o.write("EOF\n")
            sys.exit(1)
        with open(out, "a") as o:
            o.write("%d %s" % (i, line))
        time.sleep(0.05)


if __name__ == "__main__":
    {"server": server, "client": client}[sys.argv[1]](*sys.argv[2:])
