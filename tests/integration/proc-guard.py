#!/usr/bin/env python3
"""The /proc guard (issue 11): what /proc shows of a process tree, before
the dump and after the restore, compared line by line.

    proc-guard.py snap ROOT FILE [--main-only]
        Writes one line per fact, "TASK KEY VALUE", for ROOT and all its
        descendants (TASK is "P" for a process, "P/T" for one of its
        threads, "mnt:table#N" for a mount namespace's table).
    proc-guard.py compare FILE ROOT [--case NAME] [--accepted LIST]
                                    [--allow GLOB=REASON]... [--wait S]
                                    [--pidns R] [--main-only]
        Takes the same snapshot of ROOT's tree now and compares it with
        FILE.  Differences whose key matches an --allow glob (a test's
        own, with its reason) or a line of LIST for this case (an issue-11
        item being fixed) are printed as "# guard: ..." and let through;
        any other difference is printed and the exit status is 1.  The
        restored tree may still be settling (the restorer detaching its
        last threads), so a failing comparison is retried for up to S
        seconds (default 3; lib.sh passes 5) before it counts.
    --pidns R: the restored tree is R's, restored into a new PID namespace
        (vxrestore --pidns): both sides are compared by the pids the tasks
        have in their own namespace (ROOT is then only the snapshot's).
    --main-only: ROOT's process and main thread only, for a tree whose
        other members and threads come and go by design.

Only what legitimately changes between a dump and a restore is normalised;
every rule below says why.  Everything is read as if hostile: a task that
vanishes mid-read is recorded as gone, never as a crash.
"""

import fnmatch
import hashlib
import os
import re
import sys
import time

# status fields left out, and why
STATUS_DROP = {
    # memory use: which pages are resident, and the high-water marks the
    # restorer's own work leaves, are not state the program can rely on
    "VmPeak", "VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem", "VmPTE",
    "VmSwap",
    # scheduling counters grow by themselves
    "voluntary_ctxt_switches", "nonvoluntary_ctxt_switches",
    # ids of the task itself: compared through the task key, and PPid of
    # the root is the restorer (handled in read_stat)
    "Tgid", "Pid", "PPid",
    # the size of the fd table the kernel allocated: the restorer uses
    # high temporary fds, which grows it; no syscall shows it otherwise
    "FDSize",
    # NUMA balancing group: assigned by the kernel
    "Ngid",
}

# /proc/PID/stat fields kept (0-based after the comm), by name
STAT_KEEP = {2: "pgrp", 3: "session", 4: "tty_nr", 5: "tpgid",
             15: "priority", 16: "nice", 17: "num_threads", 22: "rsslim",
             23: "startcode", 24: "endcode", 25: "startstack",
             35: "exit_signal", 37: "rt_priority", 38: "policy",
             42: "start_data", 43: "end_data", 44: "start_brk",
             45: "arg_start", 46: "arg_end", 47: "env_start", 48: "env_end",
             49: "exit_code"}
# a zombie: what its parent's wait() and the tree show
STAT_ZOMBIE = {0: "state", 2: "pgrp", 3: "session", 35: "exit_signal", 49: "exit_code"}
STAT_THREAD = {15: "priority", 16: "nice", 37: "rt_priority", 38: "policy"}

# small per-process files compared as they are
PLAIN_FILES = ["personality", "oom_score_adj", "loginuid", "sessionid",
               "timerslack_ns", "coredump_filter", "uid_map", "gid_map",
               "projid_map", "setgroups", "timens_offsets", "cpuset",
               "cgroup", "limits", "timers"]

PSEUDO_LINK = re.compile(r"^([a-z_]+):\[(\d+)\]$")


def readf(path, binary=False):
    """The contents of a /proc file, or None if it (or its task) is gone."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    return data if binary else data.decode("utf-8", "backslashreplace")


def readlink(path):
    try:
        return os.readlink(path)
    except OSError:
        return None


def listdir(path):
    """Sorted entries of a /proc directory, [] if it (or its task) is gone."""
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def tree_pids(root):
    """root and its descendants, parents before children."""
    out, todo = [], [root]
    while todo:
        p = todo.pop(0)
        out.append(p)
        kids = []
        for t in sorted(listdir("/proc/%d/task" % p), key=int):
            c = readf("/proc/%d/task/%s/children" % (p, t))
            kids += [int(x) for x in (c or "").split()]
        todo += sorted(kids)
    return out


class Snap:
    """One snapshot: facts plus the canonical names given to objects whose
    identity is an inode or id the kernel allocates anew at restore."""

    def __init__(self, root, main_only=False):
        self.root = root
        self.main_only = main_only
        self.lines = []
        self.canon = {}      # (kind, raw id) -> "kind#N", in order seen
        self.mntns = {}      # mnt ns link -> canonical name
        self.own_ns = {}
        for n in listdir("/proc/self/ns"):
            self.own_ns[readlink("/proc/self/ns/" + n)] = True
        # devices of our mounts: a file on a superblock none of them has
        # (a tmpfs of the tree's own mount namespace) is made anew at
        # restore, with new inode numbers
        self.host_devs = set()
        for line in (readf("/proc/self/mountinfo") or "").splitlines():
            f = line.split()
            if len(f) > 2:
                mj, _, mn = f[2].partition(":")
                self.host_devs.add((int(mj), int(mn)))

    def own_dev(self, dev):
        """Is dev (st_dev) a superblock of the tree's own namespace?"""
        return (os.major(dev), os.minor(dev)) not in self.host_devs

    def name(self, kind, raw):
        """A canonical name for an allocated id: the Nth such object seen
        (pipes, sockets, ghost files...).  Sharing (two fds on one pipe)
        still shows, the number the kernel chose does not."""
        k = (kind, raw)
        if k not in self.canon:
            self.canon[k] = "%s#%d" % (kind, sum(1 for x in self.canon if x[0] == kind) + 1)
        return self.canon[k]

    def add(self, task, key, value):
        value = str(value).replace("\n", "\\n")
        self.lines.append("%s %s %s" % (task, key.replace(" ", "_"), value))

    # ---- per task ----

    def read_status(self, task, path):
        s = readf(path)
        if s is None:
            self.add(task, "gone", "1")
            return
        for line in s.splitlines():
            k, _, v = line.partition(":")
            v = " ".join(v.split())
            if k in STATUS_DROP:
                continue
            if k == "State":
                # running, sleeping or in disk wait is a matter of the
                # moment; stopped (T), traced (t) and zombie are state
                v = v[:1] if v[:1] in "TtZX" else "-"
            elif k == "SigQ":
                # the count is of the real uid's queued signals machine
                # wide; the limit is RLIMIT_SIGPENDING
                v = v.partition("/")[2]
            self.add(task, "status." + k, v)

    def read_stat(self, task, path, keep, is_root):
        s = readf(path)
        if s is None:
            return
        f = s[s.rfind(")") + 2:].split()
        for i, n in keep.items():
            if i < len(f):
                self.add(task, "stat." + n, f[i])
        # the root's parent is whoever started it, then vxrestore
        if not is_root and len(f) > 1:
            self.add(task, "stat.ppid", f[1])

    def read_task(self, pid, tid, is_root):
        task = "%d/%d" % (pid, tid)
        base = "/proc/%d/task/%d" % (pid, tid)
        self.read_status(task, base + "/status")
        self.read_stat(task, base + "/stat", STAT_THREAD, is_root)
        self.add(task, "comm", (readf(base + "/comm") or "").strip())

    # ---- per process ----

    def link_target(self, pid, t, path=None):
        """An fd/cwd/exe link, normalised: pseudo-file inodes get canonical
        names; a deleted file is named by its inode ("<deleted#N>"), not by
        its path: restore recreates it as an unnamed file in a place of its
        own choosing (the old directory today, "DIR/#INODE (deleted)";
        issue 11 moves ghosts to a private place), and the same name in an
        fd and a mapping still says they are one file."""
        if t is None:
            return "?"
        m = PSEUDO_LINK.match(t)
        if m:
            return "%s:[%s]" % (m.group(1), self.name(m.group(1), m.group(2)))
        if t.endswith(" (deleted)"):
            base = t[:-10]
            if base.startswith("/memfd:"):
                return "%s (deleted)" % base
            try:
                st = os.stat(path) if path else None
            except OSError:
                st = None
            key = (st.st_dev, st.st_ino) if st else t
            return "<%s> (deleted)" % self.name("deleted", key)
        return t

    def mount_names(self, pid):
        """mnt_id -> "mountpoint" for pid's mount namespace: mount ids are
        allocated anew when a namespace is recreated."""
        names = {}
        for line in (readf("/proc/%d/mountinfo" % pid) or "").splitlines():
            f = line.split()
            if len(f) > 4:
                names[f[0]] = f[4]
        return names

    def read_fds(self, pid):
        base = "/proc/%d" % pid
        fds = sorted(listdir(base + "/fd"), key=int)
        mounts = self.mount_names(pid)
        for fd in fds:
            link = readlink("%s/fd/%s" % (base, fd))
            target = self.link_target(pid, link, "%s/fd/%s" % (base, fd))
            self.add(pid, "fd.%s" % fd, target)
            info = readf("%s/fdinfo/%s" % (base, fd))
            if info is None:
                continue
            pseudo = link is None or not link.startswith("/") or link.endswith(" (deleted)")
            # a file of an internal mount (a POSIX queue: "/NAME" on the
            # IPC namespace's own mqueue mount) is a recreated inode too;
            # a path the process reaches (fds it got from outside its mount
            # namespace: on mounts it does not list) is not
            mnt = re.search(r"^mnt_id:\s*(\d+)", info, re.M)
            pseudo = pseudo or (mnt is not None and mnt.group(1) not in mounts and
                                not os.path.exists("%s/root%s" % (base, link)))
            try:
                pseudo = pseudo or self.own_dev(os.stat("%s/fd/%s" % (base, fd)).st_dev)
            except OSError:
                pass
            self.read_fdinfo(pid, fd, info, mounts, pseudo, target)

    def read_fdinfo(self, pid, fd, info, mounts, pseudo, target):
        seen = {}
        for line in info.splitlines():
            k, _, v = line.partition(":")
            v = " ".join(v.split())
            if k == "mnt_id":
                # the id of a mount is allocated anew; its place is not.
                # pipes, sockets and anon inodes live on internal mounts
                # not in mountinfo
                v = mounts.get(v, "internal")
            elif k == "ino" and pseudo:
                # a recreated pipe, socket, anon inode or ghost file is a
                # new inode; which fds share it shows in the fd links
                v = self.name("ino", target)
            elif k == "lock" and pseudo:
                # "... PID MAJ:MIN:INO START END": the inode's numbers, as ino
                v = re.sub(r"\b[0-9a-f]+:[0-9a-f]+:\d+\b", self.name("ino", target), v)
            elif k == "eventfd-id":
                # an ida number allocated at eventfd creation
                continue
            elif k in ("ticks", "it_value"):
                # timerfd: expirations and time to the next one run on in
                # real time, also while the image sits on disk; only
                # whether it is armed is state
                if k == "ticks":
                    continue
                v = "armed" if v not in ("(0, 0)", "(0,0)") else "disarmed"
                # a periodic timer that expired shows (0, 0) until a read
                # or timerfd_gettime re-arms it (the dump's gettime does):
                # armed or not then depends on when it was last looked at
                if re.search(r"^it_interval:\s*\((?!0, 0\))", info, re.M):
                    v = "periodic"
            elif k == "tfd":
                # epoll target: "fd events: E data: D pos:P ino:I sdev:S"
                fields = v.split()
                k = "tfd." + fields[0]
                v = re.sub(r"ino:[0-9a-f]+ sdev:[0-9a-f]+", "", " ".join(fields[1:])).strip()
            n = seen.get(k, 0)
            seen[k] = n + 1
            self.add(pid, "fdinfo.%s.%s%s" % (fd, k, "" if n == 0 else ".%d" % n), v)

    def read_maps(self, pid):
        """Every mapping with its flags (smaps' VmFlags).  Addresses,
        permissions and offsets are exact; the inode of a recreated
        object (shmem, memfd, ghost file, SysV segment) is not.

        Where the kernel splits one mapping into several VMAs that differ
        only in VM_ACCOUNT ("ac": commit charge, set on private mappings
        that were writable once, e.g. a library's RELRO part) or in
        nothing at all (anon VMAs of different anon_vma origin), the
        parts are joined into one "map." fact and the split is a fact of
        its own, "vma.": what a program sees through memory is the first,
        the kernel's bookkeeping the second."""
        s = readf("/proc/%d/smaps" % pid)
        if s is None:
            return
        vmas, cur = [], None
        for line in s.splitlines():
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                f = line.split(None, 5)
                a, b = (int(x, 16) for x in f[0].split("-"))
                cur = {"start": a, "end": b, "perms": f[1], "off": int(f[2], 16),
                       "dev": f[3], "ino": f[4], "path": f[5] if len(f) > 5 else "",
                       "flags": [], "pkey": None}
                vmas.append(cur)
            elif line.startswith("VmFlags:") and cur:
                cur["flags"] = line[8:].split()
            elif line.startswith("ProtectionKey:") and cur:
                cur["pkey"] = line.split()[1]
        joined = []
        for v in vmas:
            v["ac"] = "ac" in v["flags"]
            v["flags"] = " ".join(x for x in v["flags"] if x != "ac")
            p = joined[-1] if joined else None
            if p and p["end"] == v["start"] and all(
                    p[k] == v[k] for k in ("perms", "dev", "ino", "path", "flags", "pkey")) \
                    and (v["ino"] == "0" or v["off"] == p["off"] + p["end"] - p["start"]):
                p["parts"].append(v)
                p["end"] = v["end"]
            else:
                v["parts"] = [dict(v)]
                joined.append(v)
        for v in joined:
            rng = "%x-%x" % (v["start"], v["end"])
            dev, ino, path = v["dev"], v["ino"], v["path"]
            if path.endswith(" (deleted)") and not (
                    path.startswith("/memfd:") or path.startswith("/SYSV")
                    or path.startswith("/dev/zero")):
                # a deleted file: named as its fds are (see link_target)
                mj, mn = (int(x, 16) for x in dev.split(":"))
                path = "<%s> (deleted)" % self.name("deleted", (os.makedev(mj, mn), int(ino)))
                dev, ino = "-", "-"
            elif dev.startswith("00:") and ino != "0" and path.startswith("/") and \
                    not path.startswith(("/memfd:", "/SYSV", "/dev/zero")) and self.own_dev(os.makedev(0, int(dev[3:], 16))):
                # a file of the tree's own tmpfs: made anew, named by its path
                ino = "-"
                dev = "own"
            elif path.startswith("/memfd:") or path.startswith("/SYSV") \
                    or (dev.startswith("00:") and ino != "0"):
                ino = self.name("ino", (dev, ino))
                dev = "shm"
            self.add(pid, "map." + rng, "%s %08x %s %s %s [%s]" % (
                v["perms"], v["off"], dev, ino, path, v["flags"]))
            if v["pkey"] not in (None, "0"):
                self.add(pid, "map.%s.pkey" % rng, v["pkey"])
            # a private writable mapping is always charged: said only otherwise
            if len(v["parts"]) > 1 or v["ac"] != (v["perms"][1:2] == "w" and v["perms"][3] == "p"):
                self.add(pid, "vma." + rng, " ".join(
                    "%x-%x%s" % (x["start"], x["end"], ":ac" if x["ac"] else "")
                    for x in v["parts"]))

    def read_ns(self, pid):
        """Namespaces: the guard's own (the host's) or a private one by
        canonical name; a mount namespace also gets its table, once."""
        for n in listdir("/proc/%d/ns" % pid):
            link = readlink("/proc/%d/ns/%s" % (pid, n))
            if link is None:
                continue
            v = "host" if link in self.own_ns else self.name("ns-" + n, link)
            self.add(pid, "ns." + n, v)
            if n == "mnt" and link not in self.mntns:
                # tables by order of appearance: a tree restored into a
                # new mount namespace compares its table with the dump's
                self.mntns[link] = "table#%d" % (len(self.mntns) + 1)
                self.read_mountinfo(pid, self.mntns[link])

    def read_mountinfo(self, pid, nsname):
        """A mount table keyed by mount point, ids replaced by places
        (mount ids are allocated anew in a recreated namespace)."""
        s = readf("/proc/%d/mountinfo" % pid)
        if s is None:
            return
        where = {}
        rows = []
        for line in s.splitlines():
            f = line.split()
            if len(f) < 7:
                continue
            where[f[0]] = f[4]
            rows.append(f)
        seen = {}
        for f in rows:
            mp = f[4]
            n = seen.get(mp, 0)
            seen[mp] = n + 1
            sep = f.index("-", 6) if "-" in f[6:] else len(f)
            key = "%s%s" % (mp, "" if n == 0 else ".%d" % n)
            # a superblock made anew (tmpfs, proc, ... of a restored mount
            # namespace) gets a new anonymous device number (major 0)
            dev = "0:*" if f[2].startswith("0:") else f[2]
            rest = " ".join([where.get(f[1], "?"), dev, f[3], f[5]] + f[sep:])
            self.add("mnt:" + nsname, "mount." + key, rest)
            # the optional fields (shared:N, master:N, ...) on their own:
            # a namespace made a slave of the host's changes only these
            self.add("mnt:" + nsname, "propagation." + key, " ".join(f[6:sep]))

    def read_process(self, pid, is_root):
        base = "/proc/%d" % pid
        if not os.path.isdir(base):
            self.add(pid, "gone", "1")
            return
        stat = readf(base + "/stat") or ""
        if stat[stat.rfind(")") + 2:][:1] in ("Z", "X"):
            # a zombie has no memory, fds or threads left; its masks,
            # affinity and creds are those it died with, which nothing can
            # observe but /proc (restore recreates it by an exit of its
            # own): only what wait() and the tree see is compared
            self.read_stat(pid, base + "/stat", STAT_ZOMBIE, is_root)
            self.add(pid, "comm", (readf(base + "/comm") or "").strip())
            return
        for name in PLAIN_FILES:
            s = readf("%s/%s" % (base, name))
            if s is None:
                continue
            for i, line in enumerate(s.splitlines()):
                self.add(pid, "%s.%d" % (name, i), " ".join(line.split()))
        # "/autogroup-ID nice N": the id is allocated per session anew
        ag = (readf(base + "/autogroup") or "").split()
        if ag:
            self.add(pid, "autogroup.nice", ag[-1])
        self.read_stat(pid, base + "/stat", STAT_KEEP, is_root)
        for name in ("cmdline", "environ", "auxv"):
            data = readf("%s/%s" % (base, name), binary=True)
            if data is not None:
                self.add(pid, name, hashlib.sha1(data).hexdigest()[:16] + " len %d" % len(data))
        ksm = readf(base + "/ksm_stat") or ""
        for line in ksm.splitlines():
            if line.startswith("ksm_merge_any") or line.startswith("ksm_mergeable"):
                self.add(pid, "ksm." + line.split(":")[0], line.split(":")[-1].strip())
        for name in ("cwd", "root", "exe"):
            self.add(pid, name, self.link_target(pid, readlink("%s/%s" % (base, name)),
                                                 "%s/%s" % (base, name)))
        self.read_ns(pid)
        self.read_maps(pid)
        self.read_fds(pid)
        for t in sorted(listdir(base + "/task"), key=int):
            if not self.main_only or int(t) == pid:
                self.read_task(pid, int(t), is_root)

    def take(self):
        for p in [self.root] if self.main_only else tree_pids(self.root):
            self.read_process(p, p == self.root)
        return self.lines


def parse(lines):
    facts = {}
    for line in lines:
        task, _, rest = line.partition(" ")
        key, _, value = rest.partition(" ")
        facts[(task, key)] = value
    return facts


# facts whose values are pids, as the task's own pid namespace numbers them
PID_VALUED = ("stat.ppid", "stat.pgrp", "stat.session", "stat.tpgid")
NS_PID_FIELDS = ("status.NSpid", "status.NStgid", "status.NSpgid", "status.NSsid")


def by_ns_pids(facts):
    """Facts of a tree restored into a new PID namespace (vxrestore
    --pidns), renamed to the pids it has there: the pid where its own
    namespace numbers it (the last NSpid field) for each task and for each
    pid-valued fact; a pid outside the tree becomes "outside" (the root's
    parent, group and session are the restorer's).  Applied to both sides:
    the dump's tree is in the host's namespace, where its pids are its
    NSpid too."""
    pidmap = {}
    for (task, key), value in facts.items():
        if key == "status.NSpid" and "/" in task:
            host = task.split("/")[1]
            pidmap[host] = value.split()[-1] if value.split() else host
    inside = set(pidmap.values())

    def task_name(task):
        if task.startswith("mnt:"):  # a mount table, not a task
            return task
        return "/".join(pidmap.get(x, x) for x in task.split("/"))

    out = {}
    for (task, key), value in facts.items():
        if key in NS_PID_FIELDS:
            value = (value.split() or [""])[-1]
            if key in ("status.NSpgid", "status.NSsid") and value not in inside:
                value = "outside"
        elif key in PID_VALUED:
            value = pidmap.get(value, "outside" if value not in ("0", "-1") else value)
            if value not in inside and value not in ("0", "-1"):
                value = "outside"
        out[(task_name(task), key)] = value
    return out


def load_accepted(path, case):
    """Lines "CASE-GLOB KEY-GLOB ITEM..." of the accepted list that apply
    to this case, as (key glob, item)."""
    out = []
    if not path:
        return out
    for line in readf(path).splitlines() if readf(path) else []:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        f = line.split(None, 2)
        if len(f) == 3 and fnmatch.fnmatchcase(case, f[0]):
            out.append((f[1], f[2]))
    return out


def differences(before, after):
    """(task, key, before value, after value) for every fact that differs."""
    out = []
    for k in sorted(set(before) | set(after)):
        b, a = before.get(k), after.get(k)
        if b != a:
            out.append((k[0], k[1], b, a))
    return out


def compare(argv):
    snapfile, root = argv[0], int(argv[1])
    case, accepted_path, allows, wait, main_only = "", "", [], 3.0, False
    pidns = None
    i = 2
    while i < len(argv):
        if argv[i] == "--case":
            case = argv[i + 1]
        elif argv[i] == "--accepted":
            accepted_path = argv[i + 1]
        elif argv[i] == "--allow":
            g, _, why = argv[i + 1].partition("=")
            if not why:
                print("proc-guard: --allow %s needs =REASON" % g)
                return 2
            allows.append((g, "test: " + why))
        elif argv[i] == "--wait":
            wait = float(argv[i + 1])
        elif argv[i] == "--pidns":
            pidns = int(argv[i + 1])
        elif argv[i] == "--main-only":
            main_only = True
            i -= 1
        else:
            print("proc-guard: unknown option %s" % argv[i])
            return 2
        i += 2
    before = parse(readf(snapfile).splitlines())
    if pidns is not None:
        before, root = by_ns_pids(before), pidns
    rules = allows + load_accepted(accepted_path, case)
    deadline = time.monotonic() + wait
    while True:
        after = parse(Snap(root, main_only).take())
        diffs = differences(before, by_ns_pids(after) if pidns is not None else after)
        bad, excused = [], []
        for d in diffs:
            why = next((r for g, r in rules if fnmatch.fnmatchcase(d[1], g)), None)
            (excused if why else bad).append((d, why))
        if not bad or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    for (t, k, b, a), why in excused:
        print("# guard: %s %s: %s -> %s (accepted: %s)" % (t, k, b, a, why))
    for (t, k, b, a), _ in bad[:300]:
        print("guard: %s %s: before %s, after %s" % (t, k, b if b is not None else "(none)",
                                                      a if a is not None else "(none)"))
    if len(bad) > 300:
        print("guard: ... and %d more" % (len(bad) - 300))
    return 1 if bad else 0


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "snap":
        lines = Snap(int(sys.argv[2]), "--main-only" in sys.argv[4:]).take()
        with open(sys.argv[3], "w") as f:
            f.write("\n".join(lines) + "\n")
        return 0
    if len(sys.argv) >= 4 and sys.argv[1] == "compare":
        return compare(sys.argv[2:])
    print(__doc__.strip().splitlines()[2], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
