#!/usr/bin/python3 -S
# mntns-facts.py PID: /proc/PID/mountinfo normalised, one mount a line,
# sorted: a mount is named by its point and how many mounts of the same
# point are below it (stacking), its parent by that name too (mount ids
# differ between namespaces), peer groups renumbered by first use in that
# order, anonymous devices (major 0) written 0:*; so a restored namespace
# that matches the dumped one prints the same text.
import sys

def main():
    rows = {}
    for l in open("/proc/%s/mountinfo" % sys.argv[1]).read().splitlines():
        f = l.split(" ")
        rows[f[0]] = f

    def name(i):
        n, p = 0, rows[i][1]
        while p in rows and rows[p][4] == rows[i][4]:
            n, p = n + 1, rows[p][1]
        return "%s#%d" % (rows[i][4], n)

    out = []
    for i, f in rows.items():
        sep = f.index("-")
        parent = name(f[1]) if f[1] in rows else "-"
        dev = f[2] if not f[2].startswith("0:") else "0:*"
        out.append([name(i), parent, dev, f[3], f[5], f[6:sep], " ".join(f[sep + 1:])])
    out.sort()
    groups = {}
    for o in out:
        tags = []
        for t in o[5]:
            k, _, v = t.partition(":")
            tags.append(k + ":" + groups.setdefault(v, "g%d" % (len(groups) + 1)) if v else k)
        o[5] = ",".join(tags) or "private"
        print(" ".join(o))

main()
