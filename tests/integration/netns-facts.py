#!/usr/bin/python3 -S
"""Prints the facts of a network namespace that a restore must give back,
one per line, sorted, from the JSON files of `ip -d -j link`, `ip -j addr`,
`ip -j route show table all` (v4 and v6), `ip -j rule` (v4 and v6),
`ip -j neigh`, `nft -j list ruleset` and a sysctl listing in DIR.
Left out, each for its reason: ifindexes of peers in other namespaces and
netnsids (the kernel numbers them anew), counters, operstate/LOWER_UP and
carrier (they follow the peer's state a moment later), kernel-made IPv6
link-local routes and addresses (remade from the MAC, compared through
the MAC), handles of nftables objects (renumbered), tables named vxcr*
(the network lock's, never restored), tentative/dadfailed flags (DAD
runs anew).  Lifetimes are compared to within 30 s."""
import json, os, sys

d = sys.argv[1]
facts = []


def load(name):
    p = os.path.join(d, name)
    try:
        with open(p) as f:
            t = f.read().strip()
        return json.loads(t) if t else []
    except (OSError, ValueError):
        return []


VOLATILE_FLAGS = {"LOWER_UP", "NO-CARRIER", "M-DOWN"}
for l in load("link.json"):
    name = l.get("ifname")
    flags = sorted(set(l.get("flags", [])) - VOLATILE_FLAGS)
    info = l.get("linkinfo", {})
    kind = info.get("info_kind", "")
    data = info.get("info_data", {})
    extra = ""
    if kind == "macvlan":
        extra = "mode=%s" % data.get("mode")
    if kind == "vlan":
        extra = "id=%s" % data.get("id")
    facts.append("link %s ifindex=%s kind=%s mtu=%s mac=%s flags=%s master=%s txqlen=%s %s" % (
        name, l.get("ifindex"), kind, l.get("mtu"), l.get("address"), ",".join(flags),
        l.get("master", "-"), l.get("txqlen"), extra))
    if "link" in l and "link_netnsid" not in l:
        facts.append("link %s lower=%s" % (name, l["link"]))

for l in load("addr.json"):
    for a in l.get("addr_info", []):
        if a.get("scope") == "link" and a.get("family") == "inet6" and str(a.get("local", "")).startswith("fe80"):
            continue
        life = []
        for k in ("valid_life_time", "preferred_life_time"):
            v = a.get(k, 4294967295)
            life.append("forever" if v == 4294967295 else "~%d" % (int(v) // 60))
        fl = sorted(k for k in ("noprefixroute", "nodad", "home", "mngtmpaddr", "secondary")
                    if a.get(k))
        facts.append("addr %s %s %s/%s scope=%s label=%s flags=%s life=%s" % (
            l.get("ifname"), a.get("family"), a.get("local"), a.get("prefixlen"),
            a.get("scope"), a.get("label", "-"), ",".join(fl), "/".join(life)))

for f in ("route4.json", "route6.json"):
    for r in load(f):
        if r.get("table") == "local" or r.get("protocol") == "kernel":
            continue
        r = {k: v for k, v in r.items() if k not in ("expires", "flags")}
        facts.append("route " + json.dumps(r, sort_keys=True))

for f in ("rule4.json", "rule6.json"):
    for r in load(f):
        facts.append("rule %s %s" % (f[4], json.dumps(r, sort_keys=True)))

for n in load("neigh.json"):
    if "PERMANENT" in n.get("state", []):
        facts.append("neigh " + json.dumps(n, sort_keys=True))

tables = set()
for o in load("nft.json").get("nftables", []) if isinstance(load("nft.json"), dict) else []:
    if "metainfo" in o:
        continue
    (k, v), = o.items()
    t = v.get("table", v.get("name") if k == "table" else None)
    if str(t).startswith("vxcr"):
        continue
    v = {x: y for x, y in v.items() if x != "handle"}
    facts.append("nft %s %s" % (k, json.dumps(v, sort_keys=True)))

try:
    with open(os.path.join(d, "sysctl.txt")) as f:
        for line in f:
            facts.append("sysctl " + line.strip())
except OSError:
    pass

for f in sorted(facts):
    print(f)
