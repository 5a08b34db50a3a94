"""vxcr snap from Python (docs/snap.md).

ready(): the program's ready call through libvxcr's vxcr_snap_ready(), so
`vxcr snap serve` can fork the program (a program speaking the channel
itself with os.read/os.write works with `vxcr snap run` only).  The
library is $VXCR_LIB, else libvxcr.so.0 from the loader's path.

Client: a connection to `vxcr snap serve` (SOCK_SEQPACKET): spawn() a copy
with arguments and stdio fds, wait() for its wait status.
"""
import array
import ctypes
import os
import socket
import struct

MSG = struct.Struct("<IIiiII")  # type, id, val, pid, len, pad (lib/snap/proto.h)
SPAWN, SPAWNED, EXITED = 1, 2, 3


def ready(lib=None):
    """Says ready; returns this copy's arguments ([] when not under vxcr snap)."""
    if "VXCR_SNAP_FD" not in os.environ:
        return []
    vx = ctypes.CDLL(lib or os.environ.get("VXCR_LIB", "libvxcr.so.0"))
    argc = ctypes.c_int()
    argv = ctypes.POINTER(ctypes.c_char_p)()
    r = vx.vxcr_snap_ready(ctypes.byref(argc), ctypes.byref(argv))
    os.environ.pop("VXCR_SNAP_FD", None)  # the library unset it in C's environ
    if r:
        raise OSError(-r, "vxcr_snap_ready failed")
    return [argv[i].decode() for i in range(argc.value)]


class Client:
    """A connection to `vxcr snap serve --socket PATH`."""

    def __init__(self, path):
        self.sk = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sk.connect(path)
        self.next = 0
        self.ids = {}   # pid -> request id
        self.done = {}  # request id -> wait status

    def _recv(self):
        msg, anc, _, _ = self.sk.recvmsg(MSG.size, socket.CMSG_SPACE(3 * 4))
        if len(msg) < MSG.size:
            raise ConnectionError("snap serve is gone")
        fds = array.array("i")
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(data[:len(data) - len(data) % 4])
        kind, rid, val, pid, _, _ = MSG.unpack(msg)
        if kind == EXITED:
            self.done[rid] = val
        return kind, rid, val, pid, list(fds)

    def spawn(self, args=(), fds=(0, 1, 2)):
        """A fresh copy: returns (pid, pidfd)."""
        self.next += 1
        data = b"".join(a.encode() + b"\0" for a in args)
        self.sk.sendmsg([MSG.pack(SPAWN, self.next, 0, 0, len(data), 0), data],
                        [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
        while True:
            kind, rid, val, pid, got = self._recv()
            if kind == SPAWNED and rid == self.next:
                if val:
                    raise OSError(-val, "snap serve: no copy")
                self.ids[pid] = rid
                return pid, got[0]
            for fd in got:
                os.close(fd)

    def wait(self, pid):
        """Waits for copy pid: its wait status (as os.waitpid's)."""
        rid = self.ids.pop(pid)
        while rid not in self.done:
            for fd in self._recv()[4]:
                os.close(fd)
        return self.done.pop(rid)

    def close(self):
        self.sk.close()
