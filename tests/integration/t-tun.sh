#!/bin/bash
# tun/tap in a tree's own network namespace (unshare --net; tests/progs/
# tun.c): a tun fd (vxtun0, IFF_TUN | IFF_NO_PI, an address, up, a send
# buffer, O_NONBLOCK), a multi-queue tap with two fds (vxtap0, a MAC, an
# MTU, IFF_VNET_HDR, a vnet header size, little-endian vnet headers; a
# child shares the fds), and a persistent tun owned by uid 65534 that
# nobody holds (vxptun0).  Dumped, restored: the links compared inside the
# restored namespace from `ip -d -j link` and `ip -j addr` (normalised:
# operstate and counters left out), the two non-persistent links not left
# persistent, and the restored process's fds still work: a UDP datagram
# written into the tun fd reaches a socket of the namespace and an ICMP
# echo written there is answered back into the fd (tun.c checks).
# Refused: a tap with a classic filter (at dump, the target unharmed);
# hostile FILE/NETNS edits (a name with '/', flags outside the set, an
# owner out of range, a queue of a link the namespace lacks, a link left
# not persistent that nobody holds); a restore failing or killed once the
# tree exists: no process left, the host's links as before.
. "$(dirname "$0")/lib.sh"
require_cr

# start_ns [ARG]: the tree (tun ARG) in a namespace of its own
start_ns()
{
	rm -f "$T/out"
	start_cmd "$T/out" unshare --net bash -c \
		"ip link set lo up && ip tuntap add vxptun0 mode tun user 65534 && exec $PROGS/tun $T/out ${1:-}"
	vx_wait_line "$OUT" '^ready$' 20 || fail "tun did not get ready: $(cat "$T/prog.err")"
	sleep 0.2
	vx_remember
}

# links FILE: the namespace of $PID, normalised
links()
{
	{ nsenter -t "$PID" -n ip -d -j link; echo; nsenter -t "$PID" -n ip -j addr; } |
		python3 -S -c '
import json, sys
parts = sys.stdin.read().split("\n\n")
links, addrs = json.loads(parts[0]), json.loads(parts[1])
for l in links:
    info = l.get("linkinfo", {})
    print("link", l["ifindex"], l["ifname"], sorted(set(l.get("flags", [])) - {"LOWER_UP", "NO-CARRIER"}),
          l["mtu"], l.get("address"), l.get("txqlen"), l.get("link_type"), info.get("info_kind"),
          sorted(info.get("info_data", {}).items()), l.get("num_tx_queues"))
for a in addrs:
    for i in a.get("addr_info", []):
        if i.get("family") == "inet":
            print("addr", a["ifname"], i["local"], i["prefixlen"], i.get("scope"))' >"$1" ||
		fail "cannot read the links of $PID"
}

ip -br link | awk '{print $1}' | sort >"$T/host.before"

start_ns
links "$T/links.before"
grep -q "vxtap0.*'numqueues', 2" "$T/links.before" || fail "no two-queue tap: $(cat "$T/links.before")"
grep -q "vxptun0.*'persist', True.*'user', 'nobody'" "$T/links.before" ||
	fail "no persistent tun of nobody: $(cat "$T/links.before")"
dump "$PID" "$T/img.lr" --leave-running
"$VXCR" img show "$T/img.lr" >"$T/show" 2>&1 || fail "vxcr img show failed"
[ "$(grep -c 'FILE_TUN' "$T/show")" = 3 ] || fail "image shows $(grep -c FILE_TUN "$T/show") tun queues, expected 3"

EDIT=$VX_BUILD/tests/fuzz/edit-image
[ -x "$EDIT" ] || fail "$EDIT not built"
i=$(file_index "$T/img.lr" 'p.get("kind") == "FILE_TUN" and p["tun"]["name"] == "vxtun0"') ||
	fail "no queue of vxtun0 in the image"
link_index()
{
	"$VXCR" img show "$T/img.lr" | python3 -S -c '
import re, sys
t = sys.stdin.read()
i = t.index(" NETNS ")
names = re.findall(r"\{ifindex=\d+ name=\"([^\"]+)\"", t[i:t.index(" addrs=[", i)])
print(names.index(sys.argv[1]))' "$1"
}
P=$(link_index vxptun0) || fail "vxptun0 not in NETNS"
hostile()
{
	"$EDIT" "$T/img.lr" "$T/h.img" "$1" || fail "edit-image $1 failed"
	expect_refused_by "$2" "$3" "$VXRESTORE" --pidns "$T/h.img"
}
hostile "FILE[$i].tun.name=a/b" "a link name with /" "tun queue .*link name, flags"
hostile "FILE[$i].tun.flags=0x3" "tun and tap at once" "tun queue .*flags 0x3"
hostile "FILE[$i].tun.flags=0x10001" "a flag outside the set" "tun queue .*flags 0x10001"
hostile "FILE[$i].tun.owner=4294967295" "an owner out of range" "tun queue .*owner or group out of range"
hostile "FILE[$i].tun.vnet_hdr_sz=2" "a vnet header of 2 bytes" "tun queue .*vnet header size 2"
hostile "FILE[$i].tun.name=vxptun9" "a queue of a link the namespace lacks" "tun queue .* of link vxptun9: no such tun/tap link"
hostile "NETNS[0].links[$P].tun_flags=0x1001" "a link left not persistent that nobody holds" \
	"tun link vxptun0 is not persistent and no queue"
hostile "NETNS[0].links[$P].tun_flags=0x8001" "a link flag outside the set" "tun vxptun0: flags 0x8001"
hostile "NETNS[0].links[$P].tun_group=-2" "a group of -2" "tun vxptun0: owner .* or group -2 out of range"
hostile "NETNS[0].links[$P].mac=020000000001" "a MAC on a tun" "tun vxptun0: a MAC address on a tun"
ip -br link | awk '{print $1}' | sort >"$T/host.after"
cmp -s "$T/host.before" "$T/host.after" || fail "a refused restore changed the host's links"

# a restore failing once its tree exists (every queue attached): nothing left
VXCR_TEST_FAIL=tree "$VXRESTORE" --pidns "$T/img.lr" 2>"$T/fail.err" && fail "an injected failure ignored"
ip -br link | awk '{print $1}' | sort >"$T/host.after"
cmp -s "$T/host.before" "$T/host.after" || fail "a failed restore changed the host's links"
# killed there: its namespace (persistent links and all) goes with the tree
pgrep -x tun | sort >"$T/tuns.before"
VXCR_TEST_PAUSE=tree VXCR_LOG=2 "$VXRESTORE" --pidns "$T/img.lr" >"$T/kill.out" 2>"$T/kill.err" &
RPID=$!
vx_track "$RPID"
vx_wait_line "$T/kill.err" "pausing at tree" 20 || fail "vxrestore did not pause at tree"
kill -9 "$RPID"
wait "$RPID" 2>/dev/null
vx_untrack "$RPID"
for ((i = 0; i < 40; i++)); do pgrep -x tun | sort | cmp -s - "$T/tuns.before" && break; sleep 0.05; done
pgrep -x tun | sort | cmp -s - "$T/tuns.before" || fail "a restored tun process outlived the killed vxrestore"
ip -br link | awk '{print $1}' | sort >"$T/host.after"
cmp -s "$T/host.before" "$T/host.after" || fail "a killed restore changed the host's links"
go_and_check
vx_wait_gone "$PID" 10 || fail "tun $PID did not exit after its check"
vx_untrack "$PID"

# the real cycle
start_ns
links "$T/links.before"
dump "$PID" "$T/img"
sum=$(sha256sum <"$T/img")
restore_bg "$T/img"
links "$T/links.after"
diff "$T/links.before" "$T/links.after" >"$T/links.diff" ||
	fail "the restored namespace differs: $(tr '\n' ' ' <"$T/links.diff")"
log "$(grep -c . "$T/links.after") link and address facts the same, e.g. $(grep vxtap0 "$T/links.after" | head -n 1)"
go_and_check
grep -q "^echo reply read back from the tun fd" "$OUT" || fail "no echo reply line"
wait_restore_exit 0
[ "$(sha256sum <"$T/img")" = "$sum" ] || fail "vxrestore modified the image"
vx_untrack "$PID"

# a tap with a classic filter: refused at dump, the tree unharmed
start_ns filter
expect_dump_refused "a tap with a socket filter" "tun/tap queue of link vxflt0\): a socket filter \(TUNATTACHFILTER"
kids=$(cat /proc/$PID/task/$PID/children)
kill -9 "$PID" $kids
for k in "$PID" $kids; do # every one gone before the harness looks for leftovers
	vx_wait_gone "$k" 10 || fail "tun $k did not die"
done
vx_untrack "$PID"
ip -br link | awk '{print $1}' | sort >"$T/host.after"
cmp -s "$T/host.before" "$T/host.after" || fail "the host's links changed"
pass
