# The server of t-ctx-root-cr, run inside a --root guest by its python3
# (-S, stdlib only: ctypes calls libc for the IPC calls python has no
# wrappers for).  It makes, in the context's IPC namespace: a POSIX queue
# /vxq holding four messages at three priorities (an mq fd held open), a
# SysV semaphore set of three with known values and a SysV queue with
# three typed messages; and files in /dev/shm (the guest's tmpfs): two
# small ones, an 8 MiB random one (more than a zstd frame of the image
# before the pages), a subdirectory with a file and a symlink.  On /dev/shm
# it also holds a POSIX named semaphore at 5 (sem_open: sem.vxsem, mapped)
# and served.log, open for appending, a line per "add".  Then it serves
# numbered requests: the test renames a file to /tmp/req ("N CMD [ARG]"),
# the server appends
# "N RESULT served=K total=T" to /tmp/resp, K counting the requests
# served (each must be the next number) and T the sum of "add" values,
# both kept in memory only, so that a restored server shows it goes on
# with its state.  Commands:
#   add V      total += V (and a line in /dev/shm/served.log)
#   state      the IPC state: mq attributes, semaphore values, SysV qnum,
#              the named semaphore's value
#   psem       sem_post on the named semaphore, then its value
#   mqrecv     take the POSIX queue's next message ("TEXT/PRIO")
#   mqsend T P put message T with priority P back
#   semop I D  add D to semaphore I (no SEM_UNDO), then its values
#   msgrcv T   take the SysV queue's first message of type T
import ctypes
import os
import time

libc = ctypes.CDLL(None, use_errno=True)
O_RDWR, O_CREAT, O_EXCL, O_NONBLOCK = 0o2, 0o100, 0o200, 0o4000
IPC_CREAT, IPC_NOWAIT = 0o1000, 0o4000
GETALL, SETALL = 13, 17
SEM_KEY, MSG_KEY = 0x7653, 0x7651
libc.mq_receive.restype = ctypes.c_ssize_t
libc.msgrcv.restype = ctypes.c_ssize_t
libc.sem_open.restype = ctypes.c_void_p


class MqAttr(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_long), ("maxmsg", ctypes.c_long),
                ("msgsize", ctypes.c_long), ("curmsgs", ctypes.c_long),
                ("pad", ctypes.c_long * 4)]


class SemBuf(ctypes.Structure):
    _fields_ = [("num", ctypes.c_ushort), ("op", ctypes.c_short),
                ("flg", ctypes.c_short)]


class MsgBuf(ctypes.Structure):
    _fields_ = [("mtype", ctypes.c_long), ("mtext", ctypes.c_char * 256)]


def check(ret, what):
    if ret < 0:
        e = ctypes.get_errno()
        raise OSError(e, "%s: %s" % (what, os.strerror(e)))
    return ret


def mq_send(mq, text, prio):
    b = text.encode()
    check(libc.mq_send(mq, b, len(b), prio), "mq_send")


def mq_recv(mq):
    buf = ctypes.create_string_buffer(128)
    prio = ctypes.c_uint()
    n = check(libc.mq_receive(mq, buf, 128, ctypes.byref(prio)), "mq_receive")
    return "%s/%d" % (buf.raw[:n].decode(), prio.value)


def sem_values(sid):
    vals = (ctypes.c_ushort * 3)()
    check(libc.semctl(sid, 0, GETALL, vals), "semctl GETALL")
    return ",".join(str(v) for v in vals)


def psem_value(psem):
    v = ctypes.c_int()
    check(libc.sem_getvalue(ctypes.c_void_p(psem), ctypes.byref(v)), "sem_getvalue")
    return v.value


def msg_send(qid, mtype, text):
    m = MsgBuf(mtype, text.encode())
    check(libc.msgsnd(qid, ctypes.byref(m), len(text), 0), "msgsnd")


def setup():
    attr = MqAttr(0, 8, 128, 0)
    mq = check(libc.mq_open(b"/vxq", O_RDWR | O_CREAT | O_EXCL | O_NONBLOCK,
                            0o640, ctypes.byref(attr)), "mq_open")
    for text, prio in (("low-a", 1), ("high", 7), ("mid", 4), ("low-b", 1)):
        mq_send(mq, text, prio)
    sid = check(libc.semget(SEM_KEY, 3, IPC_CREAT | 0o600), "semget")
    check(libc.semctl(sid, 0, SETALL, (ctypes.c_ushort * 3)(3, 7, 11)),
          "semctl SETALL")
    qid = check(libc.msgget(MSG_KEY, IPC_CREAT | 0o600), "msgget")
    for mtype, text in ((2, "two"), (5, "five"), (2, "two-again")):
        msg_send(qid, mtype, text)
    os.makedirs("/dev/shm/sub/deeper")
    with open("/dev/shm/small.txt", "w") as f:
        f.write("small file on the guest's tmpfs\n")
    with open("/dev/shm/sub/deeper/note", "w") as f:
        f.write("a note\n" * 100)
    with open("/dev/shm/big.bin", "wb") as f:
        f.write(os.urandom(8 << 20))
    os.chmod("/dev/shm/sub/deeper/note", 0o600)
    os.utime("/dev/shm/small.txt", (1000000000, 1000000000))
    os.symlink("deeper/note", "/dev/shm/sub/link")
    psem = libc.sem_open(b"/vxsem", O_CREAT | O_EXCL, 0o600, 5)
    if not psem:
        check(-1, "sem_open")
    serve.log = open("/dev/shm/served.log", "a", buffering=1)
    return mq, sid, qid, psem


def serve(mq, sid, qid, psem, req):
    n, cmd, *args = req.split()
    if cmd == "add":
        serve.total += int(args[0])
        serve.log.write("add %s total %d\n" % (args[0], serve.total))
        return n, "ok"
    if cmd == "psem":
        check(libc.sem_post(ctypes.c_void_p(psem)), "sem_post")
        return n, "psem=%d" % psem_value(psem)
    if cmd == "state":
        attr = MqAttr()
        check(libc.mq_getattr(mq, ctypes.byref(attr)), "mq_getattr")
        qnum = [line.split()[4] for line in open("/proc/sysvipc/msg")
                if line.split()[1] == str(qid)]
        return n, "mq=%d/%d/%d/%d sem=%s msgq=%s psem=%d" % (
            attr.flags & O_NONBLOCK, attr.maxmsg, attr.msgsize, attr.curmsgs,
            sem_values(sid), ",".join(qnum), psem_value(psem))
    if cmd == "mqrecv":
        return n, mq_recv(mq)
    if cmd == "mqsend":
        mq_send(mq, args[0], int(args[1]))
        return n, "ok"
    if cmd == "semop":
        op = SemBuf(int(args[0]), int(args[1]), IPC_NOWAIT)
        check(libc.semop(sid, ctypes.byref(op), 1), "semop")
        return n, sem_values(sid)
    if cmd == "msgrcv":
        m = MsgBuf()
        k = check(libc.msgrcv(qid, ctypes.byref(m), 256, int(args[0]),
                              IPC_NOWAIT), "msgrcv")
        return n, "%d:%s" % (m.mtype, m.mtext[:k].decode())
    return n, "unknown command " + cmd


def main():
    mq, sid, qid, psem = setup()
    served = 0
    serve.total = 0
    with open("/tmp/resp", "a") as f:
        f.write("ready pid=%d mq=%d sem=%d msg=%d\n" % (os.getpid(), mq, sid, qid))
    while True:
        try:
            with open("/tmp/req") as f:
                req = f.read()
        except FileNotFoundError:
            time.sleep(0.01)
            continue
        os.unlink("/tmp/req")
        served += 1
        try:
            n, res = serve(mq, sid, qid, psem, req)
        except Exception as e:
            n, res = req.split()[0], "error %s" % e
        if int(n) != served:
            res += " (expected request %d)" % served
        with open("/tmp/resp", "a") as f:
            f.write("%s %s served=%d total=%d\n" % (n, res, served, serve.total))


main()
