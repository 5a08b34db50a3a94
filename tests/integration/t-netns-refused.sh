#!/bin/bash
# What the network namespace code refuses, each in one line, leaving the
# target and the host as they were:
# - at dump: a detached tun queue, a tun link of another type (TUNSETLINK), a veth whose peer is
#   in a third namespace, a process of the tree in another network
#   namespace than its root;
# - at restore: the host end's name taken on the host (the original still
#   runs after --leave-running): no link, namespace or process left;
# - hostile NETNS records (edit-image): a link name with '/', a host end
#   name with '/', lo not ifindex 1, a master that is no bridge, a sysctl
#   outside the list, a route of the local table, an address prefix too long, a veth peer that does not
#   point back;
# - a restore failing, or killed, once its namespace and host end exist,
#   or once its tree exists: the host end goes, no process stays.
. "$(dirname "$0")/lib.sh"
require_cr
H=vxr$$
HOLDER=""
vx_case_cleanup() { ip link del "$H" 2>/dev/null; true; }

# start_ns CMD: a tree in its own network namespace running CMD (bash);
# waits until its comm is sleep
start_ns()
{
	start_cmd "$T/out" unshare --net bash -c "$1"
	for ((i = 0; i < 100; i++)); do
		[ "$(cat /proc/$PID/comm 2>/dev/null)" = sleep ] && break
		sleep 0.1
	done
	[ "$(cat /proc/$PID/comm 2>/dev/null)" = sleep ] || fail "the tree did not start: $(cat "$T/prog.err")"
	vx_remember
}

stop_tree()
{
	kill -9 "$PID" $(cat /proc/$PID/task/$PID/children 2>/dev/null) 2>/dev/null
	vx_wait_gone "$PID" 5
}

# tun/tap (t-tun.sh restores them): a multi-queue tun with a queue
# detached (TUNSETQUEUE IFF_DETACH_QUEUE: that fd shows no link, it cannot
# be told from an unattached one) and a persistent tun whose link type
# TUNSETLINK changed are refused; an fd never attached is a device fd like
# /dev/null (restored)
cat >"$T/tun.py" <<'PY'
import fcntl, os, struct, sys
def tun(name, flags):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", name, flags))
    os.set_inheritable(fd, True)
    return fd
if sys.argv[1] == "detach":
    tun(b"vxmq0", 0x0001 | 0x1000 | 0x0100)
    fd = tun(b"vxmq0", 0x0001 | 0x1000 | 0x0100)
    fcntl.ioctl(fd, 0x400454d9, struct.pack("16sH", b"", 0x0400))
elif sys.argv[1] == "link":
    fd = tun(b"vxtl0", 0x0001 | 0x1000)
    fcntl.ioctl(fd, 0x400454cd, 512)
    fcntl.ioctl(fd, 0x400454cb, 1)
    os.close(fd)
else:
    fd = os.open("/dev/net/tun", os.O_RDWR)
    os.set_inheritable(fd, True)
os.execvp("sleep", ["sleep", "1000"])
PY
start_ns "exec python3 -S $T/tun.py detach"
grep -q "numdisabled 1" <(nsenter -t "$PID" -n ip -d link show vxmq0) || fail "no detached queue"
expect_dump_refused "a detached tun queue" "link vxmq0: 1 detached queues \\(TUNSETQUEUE IFF_DETACH_QUEUE\\): not supported"
stop_tree
start_ns "exec python3 -S $T/tun.py link"
expect_dump_refused "a tun link of another type" "link vxtl0: a tun link of type 512 \\(TUNSETLINK\\)"
stop_tree
start_ns "exec python3 -S $T/tun.py open"
"$VXDUMP" -o "$T/tun.img" --leave-running "$PID" >"$T/tun.out" 2>"$T/tun.err" ||
	fail "vxdump of a tun fd never attached exited $?: $(head -n 3 "$T/tun.err")"
stop_tree

start_cmd "$T/holder.out" unshare --net sleep 1000
HOLDER=$PID
start_ns "exec sleep 1000"
ip link add x$$ netns "/proc/$PID/ns/net" type veth peer name y$$ netns "/proc/$HOLDER/ns/net" ||
	fail "cannot make a veth between two namespaces"
expect_dump_refused "a veth to a third namespace" "link x$$: its veth peer .* third network namespace"
stop_tree

start_ns "unshare --net sleep 1000 & exec sleep 1000"
sleep 0.3
expect_dump_refused "a child in another namespace" "pid [0-9]+ is in another network namespace than the tree's root"
stop_tree

# an image with a veth to the host; the original keeps running
start_ns "ip link set lo up; ip link add br0 type bridge; ip link add va type veth peer name vb; ip link set vb master br0; ip addr add 10.5.0.1/24 dev br0; ip route add blackhole 10.6.0.0/16; sysctl -qw net.ipv4.ip_forward=1; nft add table inet t; exec sleep 1000"
ip link add "$H" type veth peer name eth0 netns "/proc/$PID/ns/net" || fail "cannot make $H"
dump "$PID" "$T/img" --leave-running
ip -br link | awk '{print $1}' | sort >"$T/links.before"
expect_refused_by "the host end's name taken" "host link $H exists already" "$VXRESTORE" --pidns "$T/img"
ip -br link | awk '{print $1}' | sort >"$T/links.after"
cmp -s "$T/links.before" "$T/links.after" ||
	fail "the refused restore changed the host's links: $(diff "$T/links.before" "$T/links.after" | tr '\n' ' ')"
vx_alive "$PID" && [ "$(vx_starttime "$PID")" = "$ORIG_START" ] || fail "the original was hurt"

EDIT=$VX_BUILD/tests/fuzz/edit-image
[ -x "$EDIT" ] || fail "$EDIT not built"
# index of link NAME in the image's NETNS record
link_index()
{
	"$VXCR" img show "$T/img" | /usr/bin/python3 -S -c '
import re, sys
t = sys.stdin.read()
i = t.index(" NETNS ")
names = re.findall(r"\{ifindex=\d+ name=\"([^\"]+)\"", t[i:t.index(" addrs=[", i)])
print(names.index(sys.argv[1]))' "$1"
}
BR=$(link_index br0) VB=$(link_index vb) ETH=$(link_index eth0) VA=$(link_index va) ||
	fail "links not found in the image"
hostile()
{
	local what=$1 edit=$2 pat=$3
	"$EDIT" "$T/img" "$T/h.img" "$edit" || fail "edit-image $edit failed"
	expect_refused_by "$what" "$pat" "$VXRESTORE" --pidns "$T/h.img"
}
hostile "a link name with /" "NETNS[0].links[$BR].name=a/b" "link name \"a/b\" refused"
hostile "a host end name with /" "NETNS[0].links[$ETH].host.name=../x" "host end name \"../x\" refused"
hostile "lo not ifindex 1" "NETNS[0].links[0].ifindex=77" "only lo is ifindex 1"
hostile "a master that is no bridge" "NETNS[0].links[$VB].master=1" "master 1 is not a bridge"
hostile "a veth peer that does not point back" "NETNS[0].links[$VA].veth_peer=1" "does not point back"
hostile "a sysctl outside the list" "NETNS[0].sysctls[0].name=../../../proc/sysrq-trigger" \
	"sysctl .* is not one vxcr restores"
hostile "a route of the local table" "NETNS[0].routes[0].table=255" "a route of table 255"
hostile "an address prefix of 99" "NETNS[0].addrs[0].prefixlen=99" "an address of family 2, 4 bytes, prefix 99"
ip -br link | awk '{print $1}' | sort >"$T/links.after"
cmp -s "$T/links.before" "$T/links.after" || fail "a hostile restore changed the host's links"

# the original gone (and its host end with it), a restore that fails or
# is killed once the namespace and the host end exist leaves neither
wait_no_host_end()
{
	for ((i = 0; i < 100; i++)); do
		ip link show "$H" >/dev/null 2>&1 || return 0
		sleep 0.05
	done
	fail "host end $H left behind $1"
}
kill -9 "$PID"
vx_wait_gone "$PID" 5
wait_no_host_end "by the killed original"
ip -br link | awk '{print $1}' | sort >"$T/links.before"
VXCR_TEST_FAIL=netns-built "$VXRESTORE" "$T/img" 2>"$T/fail.err" && fail "an injected failure ignored"
[ "$(wc -l <"$T/fail.err")" = 1 ] || fail "failed restore: $(cat "$T/fail.err")"
wait_no_host_end "by a failed restore"
for stage in netns-built tree; do
	VXCR_TEST_PAUSE=$stage VXCR_LOG=2 "$VXRESTORE" "$T/img" >"$T/kill.out" 2>"$T/kill.err" &
	RPID=$!
	vx_track "$RPID"
	vx_wait_line "$T/kill.err" "pausing at $stage" 20 || fail "vxrestore did not pause at $stage"
	ip link show "$H" >/dev/null 2>&1 || fail "no host end $H while paused at $stage"
	kill -9 "$RPID"
	wait "$RPID" 2>/dev/null
	wait_no_host_end "by vxrestore killed at $stage"
	sleep 0.2
	vx_alive "$PID" && fail "a process $PID left by vxrestore killed at $stage"
done
ip -br link | awk '{print $1}' | sort >"$T/links.after"
cmp -s "$T/links.before" "$T/links.after" || fail "a failed or killed restore changed the host's links"
pass "4 dump refusals, the taken name, 8 hostile records, failed and killed restores"
