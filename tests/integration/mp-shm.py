# python multiprocessing (fork) whose semaphores and Value arena are files
# of /dev/shm, for t-mntns-tmpfsfd and t-ctx-root-tmpfsfd: a Semaphore
# taken once, a Value, a Process blocked on a semaphore; with "named" also
# a named POSIX semaphore kept linked (sem_open maps a temporary name it
# then links to /dev/shm/sem.vxcr-named and removes).  Writes "ready" to
# OUT, waits for SIGUSR1 (sent after the restore), then lets the child set
# the Value and checks every value: "PASS mp" or "FAIL mp: why".
# Usage: python3 -S mp-shm.py OUT [named]
import multiprocessing as mp, _multiprocessing, signal, sys
out = sys.argv[1]
named = None
def say(s):
    with open(out, "a") as f:
        f.write(s + "\n")
def child(go, done, val):
    go.acquire()
    val.value = 42
    done.release()
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
sem = mp.Semaphore(3)
sem.acquire()
if sys.argv[2:] == ["named"]:
    named = _multiprocessing.SemLock(1, 3, 3, "/vxcr-named", False)
    named.acquire()
go, done = mp.Semaphore(0), mp.Semaphore(0)
val = mp.Value("i", 7)
p = mp.Process(target=child, args=(go, done, val))
p.start()
say("ready")
signal.sigwait([signal.SIGUSR1])
why = []
if sem.get_value() != 2:
    why.append("semaphore value %d" % sem.get_value())
if named is not None and named._get_value() != 2:
    why.append("named semaphore value %d" % named._get_value())
if val.value != 7:
    why.append("value %d before" % val.value)
go.release()
if not done.acquire(timeout=10):
    why.append("the child never released")
if val.value != 42:
    why.append("value %d after the child" % val.value)
p.join(10)
if p.exitcode != 0:
    why.append("child exit %s" % p.exitcode)
say("FAIL mp: " + ", ".join(why) if why else "PASS mp")
