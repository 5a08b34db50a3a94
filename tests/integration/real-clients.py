#!/usr/bin/python3
"""Clients of a real server that keep their connections across a checkpoint.

Used by tests/integration/t-real-*.sh (issue 13).  Opens --conns
connections to ADDR (HOST:PORT or [IPv6]:PORT over TCP, or a path: a
UNIX socket), does the KIND's setup on them, writes "ready" to OUT, then on every SIGUSR1
runs one round of checks on the *same* sockets (never a reconnect) and
writes "PASS round N: ..." or "FAIL round N: ..." to OUT.  Each round
also checks that every socket still has its local and peer address of
before.  SIGTERM ends it.

With --busy, one more connection sends requests back to back from a
thread the whole time, through the dump and the restore (each answer
checked: a redis or memcached counter must come back incremented by
exactly one, so a request lost or run twice is seen); each round also
waits until it has gone on past where it was.

With --spawn CMD..., the server is started first as this process's child
(a tree holding both the server and its clients: a test that dumps the
client dumps both).

KIND:
  http PATH BODY  GET PATH with HTTP/1.1 keep-alive; the body must be BODY
  redis           SET 1000 keys on the first connection, each connection
                  reads all of them back every round (and one key of its own)
  memcached       the same over memcached's text protocol
"""
import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time

NKEYS = 1000


def say(out, line):
    with open(out, "a") as f:
        f.write(line + "\n")


def connect(addr, timeout):
    deadline = time.time() + timeout
    while True:
        if addr.startswith("/"):
            s, to = socket.socket(socket.AF_UNIX), addr
        elif addr.startswith("["):  # [IPv6]:PORT
            host, port = addr[1:].rsplit("]:", 1)
            s, to = socket.socket(socket.AF_INET6), (host, int(port))
        else:
            host, port = addr.rsplit(":", 1)
            s, to = socket.socket(socket.AF_INET), (host, int(port))
        try:
            s.connect(to)
            if not addr.startswith("/"):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return s
        except OSError:
            s.close()
            if time.time() > deadline:
                raise
            time.sleep(0.05)


class Conn:
    def __init__(self, sock):
        self.s = sock
        self.buf = b""
        self.names = (sock.getsockname(), sock.getpeername())

    def send(self, data):
        self.s.sendall(data)

    def fill(self):
        b = self.s.recv(65536)
        if not b:
            raise ConnectionError("connection closed by the server")
        self.buf += b

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def take(self, n):
        while len(self.buf) < n:
            self.fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def same(self):
        return (self.s.getsockname(), self.s.getpeername()) == self.names


def http_get(c, path):
    c.send(b"GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n"
           % path.encode())
    return read_http(c)


def read_http(c):
    status = c.line()
    length, close = None, False
    while True:
        h = c.line()
        if not h:
            break
        k, _, v = h.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
        if k.strip().lower() == b"connection" and v.strip().lower() == b"close":
            close = True
    if length is None:
        raise ValueError("no Content-Length in the answer (%r)" % status)
    body = c.take(length)
    if close:
        raise ValueError("the server closes the keep-alive connection")
    if b" 200 " not in status + b" ":
        raise ValueError("status %r" % status)
    return body.decode()


def resp(c, *args):
    c.send(b"*%d\r\n" % len(args) + b"".join(
        b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in args))
    line = c.line()
    if line[:1] == b"$":
        n = int(line[1:])
        return None if n < 0 else c.take(n + 2)[:-2].decode()
    if line[:1] == b"-":
        raise ValueError(line.decode())
    return line[1:].decode()


def mc_set(c, k, v):
    c.send(b"set %s 0 0 %d\r\n%s\r\n" % (k.encode(), len(v), v.encode()))
    if c.line() != b"STORED":
        raise ValueError("set %s not stored" % k)


def mc_get(c, k):
    c.send(b"get %s\r\n" % k.encode())
    line = c.line()
    if line == b"END":
        return None
    n = int(line.split()[3])
    v = c.take(n + 2)[:-2].decode()
    if c.line() != b"END":
        raise ValueError("get %s: no END" % k)
    return v


def setup(kind, conns, args):
    if kind == "http":
        for c in conns:
            if http_get(c, args[0]) != args[1]:
                raise ValueError("first GET: wrong body")
        return "GET %s on %d keep-alive connection(s)" % (args[0], len(conns))
    put = resp if kind == "redis" else None
    for i in range(NKEYS):
        if put:
            if put(conns[0], "SET", "key:%d" % i, "value-%d" % (i * 7)) != "OK":
                raise ValueError("SET failed")
        else:
            mc_set(conns[0], "key:%d" % i, "value-%d" % (i * 7))
    for n, c in enumerate(conns):
        if put:
            put(c, "SET", "own:%d" % n, "conn-%d" % n)
        else:
            mc_set(c, "own:%d" % n, "conn-%d" % n)
    return "%d keys set over %d connection(s)" % (NKEYS, len(conns))


def check(kind, conns, args):
    if kind == "http":
        for n, c in enumerate(conns):
            body = http_get(c, args[0])
            if body != args[1]:
                return "connection %d: body %r" % (n, body[:40])
        return None
    get = (lambda c, k: resp(c, "GET", k)) if kind == "redis" else mc_get
    for n, c in enumerate(conns):
        bad = [i for i in range(NKEYS) if get(c, "key:%d" % i) != "value-%d" % (i * 7)]
        if bad:
            return "connection %d: %d keys wrong (key:%d first)" % (n, len(bad), bad[0])
        if get(c, "own:%d" % n) != "conn-%d" % n:
            return "connection %d: its own key is wrong" % n
    return None


class Busy(threading.Thread):
    """Requests sent every millisecond whether answered or not (up to 64
    unanswered), so that some arrive while the server is frozen; this
    thread reads and checks the answers in order."""

    def __init__(self, kind, addr, args):
        super().__init__(daemon=True)
        self.kind, self.args = kind, args
        self.c = Conn(connect(addr, 30))
        self.count, self.sent, self.error = 0, 0, None
        if kind == "http":
            self.req = (b"GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % args[0].encode())
        elif kind == "redis":
            self.req = b"*2\r\n$4\r\nINCR\r\n$4\r\nbusy\r\n"
        else:
            mc_set(self.c, "busy", "0")
            self.req = b"incr busy 1\r\n"

    def writer(self):
        try:
            while not self.error:
                if self.sent - self.count < 64:
                    self.c.send(self.req)
                    self.sent += 1
                time.sleep(0.001)
        except OSError as e:
            self.error = "send: %s: %s" % (type(e).__name__, e)

    def one(self):
        if self.kind == "http":
            if read_http(self.c) != self.args[1]:
                raise ValueError("wrong body")
            return
        line = self.c.line()
        v = int(line[1:] if self.kind == "redis" else line)
        if v != self.count + 1:
            raise ValueError("counter %d after %d answers" % (v, self.count))

    def run(self):
        threading.Thread(target=self.writer, daemon=True).start()
        try:
            while True:
                self.one()
                self.count += 1
        except (OSError, ValueError) as e:
            self.error = "%s: %s" % (type(e).__name__, e)

    def advanced(self, since):
        """None once count passed since (within 60 s), else why not."""
        deadline = time.time() + 60
        while self.count <= since and not self.error and time.time() < deadline:
            time.sleep(0.01)
        if self.error:
            return "busy connection after %d requests: %s" % (self.count, self.error)
        if self.count <= since:
            return "busy connection stuck after %d requests" % self.count
        if not self.c.same():
            return "the busy socket's addresses changed"
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("kind", choices=["http", "redis", "memcached"])
    ap.add_argument("addr")
    ap.add_argument("args", nargs="*")
    ap.add_argument("--conns", type=int, default=1)
    ap.add_argument("--busy", action="store_true")
    ap.add_argument("--check-only", action="store_true",
                    help="one new connection reads the keys set before, then exits")
    ap.add_argument("--spawn", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    srv = None
    if a.spawn:
        d = os.path.dirname(a.out)
        srv = subprocess.Popen(a.spawn, stdin=subprocess.DEVNULL,
                               stdout=open(os.path.join(d, "server.out"), "w"),
                               stderr=subprocess.STDOUT)
    if a.check_only:
        try:
            why = check(a.kind, [Conn(connect(a.addr, 30))], a.args)
        except (OSError, ValueError) as e:
            why = "%s: %s" % (type(e).__name__, e)
        say(a.out, "FAIL check: %s" % why if why else "PASS check: the keys of before read")
        sys.exit(1 if why else 0)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGTERM})
    try:
        conns = [Conn(connect(a.addr, 30)) for _ in range(a.conns)]
        what = setup(a.kind, conns, a.args)
        busy = Busy(a.kind, a.addr, a.args) if a.busy else None
    except (OSError, ValueError) as e:
        say(a.out, "FAIL setup: %s" % e)
        sys.exit(1)
    if busy:
        busy.start()
        what += ", a busy connection"
    say(a.out, "ready %s, local %s" % (what, [c.names[0] for c in conns]))
    rnd = 0
    while signal.sigwait({signal.SIGUSR1, signal.SIGTERM}) == signal.SIGUSR1:
        rnd += 1
        try:
            since = busy.count if busy else 0
            why = check(a.kind, conns, a.args)
            if not why and busy:
                why = busy.advanced(since)
            if not why and not all(c.same() for c in conns):
                why = "a socket's addresses changed"
        except (OSError, ValueError) as e:
            why = "%s: %s" % (type(e).__name__, e)
        if why:
            say(a.out, "FAIL round %d: %s" % (rnd, why))
            sys.exit(1)
        say(a.out, "PASS round %d: %s, same sockets%s" % (
            rnd, what, ", %d busy requests" % busy.count if busy else ""))
    if srv:
        srv.terminate()


if __name__ == "__main__":
    main()
