#!/bin/bash
# A tree in its own network namespace (unshare --net): lo, veth pairs
# inside (one a bridge port), a bridge, a macvlan on a veth, a veth to the
# host (eth0 inside, vxn$$ here), dummy and vlan links when this kernel has
# them, IPv4/IPv6 addresses with flags (nodad, noprefixroute) and
# lifetimes, routes in two tables (a blackhole, a gateway, IPv6), a rule,
# a permanent neighbour, sysctls, an nftables table (and a vxcr_lock table,
# the network lock's name, which is not restored).  Dumped, restored, and
# compared fact by fact (netns-facts.py) from `ip -d -j link/addr/route/
# rule/neigh`, sysctls and `nft -j list ruleset` read inside before and
# after, and so are the tree's sockets (a unix pair with data queued, a
# TCP listener and a UDP socket with a datagram queued, on addresses of
# the namespace: the dump reads them inside it, the restore makes them in
# the rebuilt one); the host end is back with its address and reaches the
# inside (a TCP connect answered by a reset).
. "$(dirname "$0")/lib.sh"
require_cr
H=vxn$$
vx_case_cleanup() { ip link del "$H" 2>/dev/null; true; }

cat >"$T/setup.sh" <<'SETUP'
set -e
ip link set lo up
ip link add d0 type veth peer name d1
ip link set d0 address 02:00:00:00:00:01 mtu 1400 up
ip link set d1 up
ip link add va type veth peer name vb
ip link add br0 type bridge
ip link set vb master br0
ip link set va up; ip link set vb up; ip link set br0 up
ip link add mv0 link d0 type macvlan mode bridge
ip link set mv0 up
if ip link add dm0 type dummy 2>/dev/null; then ip link set dm0 up; echo dummy >>"$1/kinds"; fi
if ip link add link d0 name d0.5 type vlan id 5 2>/dev/null; then echo vlan >>"$1/kinds"; fi
ip addr add 10.1.0.1/24 dev d0
ip addr add 10.1.0.9/24 dev d0 label d0:9
ip addr add 10.2.0.1/24 dev br0 valid_lft 3000 preferred_lft 2000
ip addr add fd00::1/64 dev d0 nodad
ip addr add fd02::1/64 dev br0 nodad valid_lft 4000 preferred_lft 3500
ip addr add 10.3.0.1/24 dev mv0 noprefixroute
ip route add 10.9.0.0/16 via 10.1.0.254
ip route add 10.8.0.0/16 dev d0 table 100
ip route add blackhole 10.7.0.0/16
ip route add 10.6.0.0/16 via 10.1.0.253 metric 50 mtu 1300
ip -6 route add fd01::/64 via fd00::2 dev d0
ip rule add from 10.1.0.0/24 table 100 prio 1000
ip -6 rule add to fd05::/64 table 100 prio 1001
ip neigh add 10.1.0.77 lladdr 02:00:00:00:00:77 dev d0 nud permanent
ip -6 neigh add fd00::77 lladdr 02:00:00:00:00:78 dev d0 nud permanent
sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.d0.rp_filter=2 net.ipv6.conf.br0.accept_ra=0
sysctl -qw net.ipv4.ip_local_port_range="20000 30000" net.core.somaxconn=999
nft add table inet filt
nft add chain inet filt input '{ type filter hook input priority 0; policy accept; }'
nft add rule inet filt input tcp dport 9999 counter drop
nft add set inet filt blocked '{ type ipv4_addr; elements = { 10.66.0.1, 10.66.0.2 }; }'
nft add rule inet filt input ip saddr @blocked drop
nft add table ip vxcr_lock
echo done >"$1/setup.done"
SETUP

# the tree: a sleep holding a unix socketpair with 5 bytes queued, a TCP
# listener on 10.1.0.1:8080 and a UDP socket on 10.1.0.1:5353 with a
# datagram queued (addresses of the namespace: restored first)
cat >"$T/hold.py" <<'PY'
import os, socket
a, b = socket.socketpair()
a.send(b"hello")
l = socket.socket()
l.bind(("10.1.0.1", 8080))
l.listen(4)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("10.1.0.1", 5353))
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.bind(("10.1.0.1", 5354))
c.sendto(b"datagram", ("10.1.0.1", 5353))
c.close()
for s in (a, b, l, u):
    os.set_inheritable(s.fileno(), True)
os.execvp("sleep", ["sleep", "1000"])
PY
start_cmd "$T/out" unshare --net bash -c "bash $T/setup.sh $T && exec python3 -S $T/hold.py"
for ((i = 0; i < 100; i++)); do
	[ "$(cat /proc/$PID/comm 2>/dev/null)" = sleep ] && break
	sleep 0.1
done
[ -e "$T/setup.done" ] || fail "the namespace setup failed: $(tail -n 3 "$T/prog.err")"
ip link add "$H" type veth peer name eth0 netns "/proc/$PID/ns/net" || fail "cannot make veth $H"
ip addr add 10.50.0.1/24 dev "$H" && ip link set "$H" up || fail "cannot set up $H"
nsenter -t "$PID" -n sh -c 'ip addr add 10.50.0.2/24 dev eth0 && ip link set eth0 up' ||
	fail "cannot set up eth0 inside"
log "kinds beyond veth/bridge/macvlan on this kernel: $(cat "$T/kinds" 2>/dev/null | tr '\n' ' ')"

# snap DIR: what the namespace of $PID holds, and the host end
snap()
{
	mkdir -p "$1"
	nsenter -t "$PID" -n sh -c "
		ip -d -j link >$1/link.json; ip -j addr >$1/addr.json
		ip -j route show table all >$1/route4.json; ip -j -6 route show table all >$1/route6.json
		ip -j rule >$1/rule4.json; ip -j -6 rule >$1/rule6.json; ip -j neigh >$1/neigh.json
		nft -j list ruleset >$1/nft.json
		sysctl net.ipv4.ip_forward net.ipv4.conf.d0.rp_filter net.ipv6.conf.br0.accept_ra \
			net.ipv4.ip_local_port_range net.core.somaxconn net.ipv4.conf.all.forwarding >$1/sysctl.txt
	" || fail "cannot read the namespace of $PID"
	"$VX_ROOT/tests/integration/netns-facts.py" "$1" >"$1/facts" || fail "netns-facts.py failed"
	ip -br addr show "$H" 2>/dev/null | awk '{print $1, $2, $3}' | sed 's/@.*//' >"$1/host"
}

# reach ADDR: a TCP connect to port 1 is refused (the peer answered) in 2 s
reach()
{
	/usr/bin/python3 -S -c '
import socket, sys
try:
    socket.create_connection((sys.argv[1], 1), 2)
except ConnectionRefusedError:
    sys.exit(0)
except OSError:
    sys.exit(1)' "$1"
}

# sockets SNAPFILE: the tree's sockets as ss shows them inside
sockets()
{
	nsenter -t "$PID" -n ss -xlpna 2>/dev/null | awk -v p="pid=$PID," '
		index($0, p) && $1 == "u_str" { print "unix", $2, $3, $4 }' | sort >"$1"
	nsenter -t "$PID" -n ss -tlpn 2>/dev/null | awk -v p="pid=$PID," '
		index($0, p) { print "tcp", $1, $4 }' >>"$1"
	# a UDP socket with one datagram queued (Recv-Q: its memory, not bytes)
	nsenter -t "$PID" -n ss -ulpna 2>/dev/null | awk -v p="pid=$PID," '
		index($0, p) { print "udp", $1, ($2 > 0 ? "queued" : "empty"), $4 }' >>"$1"
}

snap "$T/before"
sockets "$T/before/sockets"
grep -q "unix ESTAB 5 " "$T/before/sockets" && grep -q "tcp LISTEN 10.1.0.1:8080" "$T/before/sockets" &&
	grep -q "udp UNCONN queued 10.1.0.1:5353" "$T/before/sockets" ||
	fail "the tree's sockets are not as set up: $(tr '\n' ' ' <"$T/before/sockets")"
grep -q 'nft table .*vxcr' "$T/before/facts" && fail "netns-facts.py kept the vxcr_lock table"
nsenter -t "$PID" -n nft list tables | grep -q vxcr_lock || fail "no vxcr_lock table to leave out"
n=$(wc -l <"$T/before/facts")
log "$n facts before"
reach 10.50.0.2 || fail "10.50.0.2 does not answer through the veth before the dump"

dump "$PID" "$T/img"
grep -q NETNS <("$VXCR" img show "$T/img" 2>&1) || fail "no NETNS record in the image"
restore_bg "$T/img"
snap "$T/after"
sockets "$T/after/sockets"
diff "$T/before/sockets" "$T/after/sockets" >/dev/null ||
	fail "sockets differ: before $(tr '\n' ' ' <"$T/before/sockets"), after $(tr '\n' ' ' <"$T/after/sockets")"
diff "$T/before/facts" "$T/after/facts" >"$T/facts.diff" ||
	fail "network namespace differs after restore: $(head -n 6 "$T/facts.diff" | tr '\n' ' ')"
diff "$T/before/host" "$T/after/host" >/dev/null ||
	fail "host end differs: $(cat "$T/before/host") / $(cat "$T/after/host")"
nsenter -t "$PID" -n nft list tables | grep -q vxcr_lock && fail "the vxcr_lock table was restored"
reach 10.50.0.2 || fail "10.50.0.2 does not answer through the veth after restore"
v=$(nsenter -t "$PID" -n ip -j addr show dev br0 | /usr/bin/python3 -S -c '
import json, sys
for a in json.load(sys.stdin)[0]["addr_info"]:
    if a.get("local") == "10.2.0.1": print(a["valid_life_time"])')
[ -n "$v" ] && [ "$v" -le 3000 ] && [ "$v" -ge 2900 ] || fail "valid lifetime of 10.2.0.1 is '$v' after restore"
log "$n facts equal after restore; valid lifetime left $v s"
kill -9 "$PID"
vx_wait_gone "$PID" 5
for ((i = 0; i < 100; i++)); do
	ip link show "$H" >/dev/null 2>&1 || break
	sleep 0.05
done
ip link show "$H" >/dev/null 2>&1 && fail "host end $H outlives the restored namespace"
pass "$n facts"
