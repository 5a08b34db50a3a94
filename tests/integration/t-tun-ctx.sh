#!/bin/bash
# A tun link in a context's own namespace (vxcr ctx create --net veth...):
# a python3 process, the context's command, holds a tun fd (vxctun0, IFF_TUN |
# IFF_NO_PI, an address, up).  vxdump --ctx, vxrestore: the link is back
# inside the restored context as it was (`ip -d -j link`: ifindex, flags,
# MTU, type, pi, persist off) with its address (and one IPv6 link-local
# address: the kernel's, random, made anew), and the holder's fd still
# moves packets: a UDP datagram it writes into the fd after the restore
# reaches a socket it binds in the namespace.
. "$(dirname "$0")/ctx-lib.sh"
command -v python3 >/dev/null || skip "python3 not installed"
H=vxt$$
N=$(( $$ % 250 + 1 ))
vx_case_cleanup() { ip link del "$H" 2>/dev/null; true; }

cat >"$T/hold.py" <<'PY'
import fcntl, os, signal, socket, struct, sys, time
res = sys.argv[1]
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", b"vxctun0", 0x0001 | 0x1000))
if os.system("ip addr add 10.78.0.1/24 dev vxctun0 && ip link set vxctun0 up"):
    sys.exit(1)
go = []
signal.signal(signal.SIGUSR1, lambda s, f: go.append(1))
with open(res, "w") as f:
    f.write("ready\n")
while not go:
    time.sleep(0.05)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.78.0.1", 5000))
s.settimeout(3)
udp = struct.pack("!HHHH", 4000, 5000, 13, 0) + b"hello"
hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                  socket.inet_aton("10.78.0.2"), socket.inet_aton("10.78.0.1"))
c = sum(struct.unpack("!10H", hdr))
while c >> 16:
    c = (c & 0xffff) + (c >> 16)
hdr = hdr[:10] + struct.pack("!H", ~c & 0xffff) + hdr[12:]
os.write(fd, hdr + udp)
try:
    ok = s.recv(64) == b"hello"
except OSError:
    ok = False
with open(res, "a") as f:
    f.write("PASS\n" if ok else "FAIL\n")
while True:
    time.sleep(1)
PY

# facts FILE: vxctun0 inside the context's namespace
facts()
{
	INIT=$("$VXCR" ctx info "$XID" | awk '$1 == "initpid:" {print $2}')
	{ nsenter -t "$INIT" -n ip -d -j link show vxctun0; nsenter -t "$INIT" -n ip -br addr show vxctun0; } |
		python3 -S -c '
import json, sys
t = sys.stdin.read().split("\n", 1)
l = json.loads(t[0])[0]
print(l["ifindex"], l["ifname"], sorted(set(l["flags"]) - {"LOWER_UP"}), l["mtu"], l.get("link_type"),
      sorted(l["linkinfo"]["info_data"].items()))
a = t[1].split()[2:]
print([x for x in a if not x.startswith("fe80")], "link-local", min(1, len(a) - len([x for x in a if not x.startswith("fe80")])))' >"$1" ||
		fail "cannot read vxctun0 in the context"
}

SPEC="veth:$H,addr=10.202.$N.2/24,host-addr=10.202.$N.1/24"
# making a tun link needs NET_ADMIN, which the default guest set drops
# (issue 14): --bcaps all
"$VXCR" ctx create "$XID" --flags PERSISTENT --bcaps all --net "$SPEC" -- python3 -S "$T/hold.py" "$T/res" \
	>"$T/create.out" 2>"$T/create.err" || fail "ctx create: $(cat "$T/create.err")"
vx_wait_line "$T/res" '^ready$' 20 || fail "the holder did not get ready: $(cat "$T/create.err")"
facts "$T/facts.before"
grep -q "'persist', False" "$T/facts.before" || fail "vxctun0: $(cat "$T/facts.before")"
"$VXDUMP" --ctx "$XID" -o "$T/img" 2>"$T/dump.err" || fail "vxdump --ctx: $(cat "$T/dump.err")"
"$VXCR" img show "$T/img" | grep -q 'FILE_TUN' || fail "no FILE_TUN in the image"
for ((i = 0; i < 100; i++)); do
	ip link show "$H" >/dev/null 2>&1 || break
	sleep 0.05
done
"$VXRESTORE" "$T/img" 2>"$T/restore.err" || fail "vxrestore: $(cat "$T/restore.err")"
sleep 1.5	# the kernel's new link-local address comes with the carrier
facts "$T/facts.after"
diff "$T/facts.before" "$T/facts.after" >"$T/facts.diff" ||
	fail "vxctun0 differs after the restore: $(tr '\n' ' ' <"$T/facts.diff")"
HOLDER=$(ps -eo pid=,comm=,args= | awk -v f="$T/hold.py" '$2 == "python3" && index($0, f) {print $1}')
[ -n "$HOLDER" ] || fail "no holder in the restored context"
kill -USR1 $HOLDER
vx_wait_line "$T/res" '^(PASS|FAIL)$' 20 ||
	fail "no result from the restored holder: $(cat "$T/res") $(cat "$T/restore.err")"
grep -qx PASS "$T/res" || fail "the datagram written into the restored tun fd did not arrive"
"$VXCR" ctx kill "$XID" || fail "ctx kill failed"
"$VXCR" ctx wait "$XID" >/dev/null
pass "$(head -n 1 "$T/facts.after")"
