#!/usr/bin/env python3
"""TCP ends for the network lock tests (t-netlock*.sh), on loopback only.

  tcp-peer.py listen PORTFILE LOG   listens on 127.0.0.1 (port written to
        PORTFILE), accepts one connection, then sends one byte every 50 ms
        and appends "outq N" (its unacknowledged bytes, SIOCOUTQ) to LOG
  tcp-peer.py connect PORT READY    connects to 127.0.0.1:PORT, writes
        "ready" to READY and holds the connection, reading nothing
  tcp-peer.py listener READY        only a listening socket on 127.0.0.1,
        "ready" written to READY once it listens
  tcp-peer.py pair LOG              both ends in one process (a connection
        inside a network namespace): the client sends and logs as above

Each mode ends by itself after 120 s; the test kills it by pid before.
"""
import fcntl
import os
import socket
import struct
import sys
import termios
import time

SIOCOUTQ = termios.TIOCOUTQ
LIMIT_S = 120


def outq(s):
    buf = fcntl.ioctl(s.fileno(), SIOCOUTQ, struct.pack("i", 0))
    return struct.unpack("i", buf)[0]


def send_and_log(s, log):
    s.setblocking(False)
    end = time.monotonic() + LIMIT_S
    with open(log, "a", buffering=1) as f:
        while time.monotonic() < end:
            try:
                s.send(b"x")
            except BlockingIOError:
                pass
            f.write("outq %d\n" % outq(s))
            time.sleep(0.05)


def main():
    mode = sys.argv[1]
    if mode == "listen":
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        with open(sys.argv[2] + ".tmp", "w") as f:
            f.write("%d\n" % ls.getsockname()[1])
        os.rename(sys.argv[2] + ".tmp", sys.argv[2])
        ls.settimeout(LIMIT_S)
        s, _ = ls.accept()
        send_and_log(s, sys.argv[3])
    elif mode == "connect":
        s = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
        with open(sys.argv[3], "w") as f:
            f.write("ready\n")
        time.sleep(LIMIT_S)
        s.close()
    elif mode == "listener":
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.bind(("127.0.0.1", 0))
        ls.listen(4)
        with open(sys.argv[2], "w") as f:
            f.write("ready\n")
        time.sleep(LIMIT_S)
    elif mode == "pair":
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        c = socket.create_connection(ls.getsockname())
        s, _ = ls.accept()
        send_and_log(c, sys.argv[2])
        s.close()
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
