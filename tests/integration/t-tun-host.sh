#!/bin/bash
# tun fds of a tree in vxdump's own network namespace (the host case; the
# case runs in a namespace made for it, which plays the host):
# - a tun link that is gone at restore (not persistent: it died with the
#   dumped tree) is made again by the restore, ours by construction (made
#   as vxtun%d, renamed), with its MTU, IPv4 and IPv6 addresses and up: the
#   fd works again; a tap also gets its MAC; hostile addresses, MTU or MAC
#   in the image are refused;
# - a persistent host link of the image's type, flags, owner and group is
#   attached to (the process had CAP_NET_ADMIN);
# - refused in one line, the links as before: that link recreated with
#   another owner, as a tap, not persistent and held by another process,
#   not a tun link at all, gone while recorded persistent, and an image
#   whose process could not attach by itself (CREDS edited: uid 1000, no
#   capabilities); a restore failing or killed once its tree exists (the
#   link made) leaves no link;
# - an unattached /dev/net/tun fd while some link has a detached queue
#   (they cannot be told apart) is refused at dump.
. "$(dirname "$0")/lib.sh"
require_cr
vx_enter_netns "$@"
HOLD=""
vx_case_cleanup() { [ -n "$HOLD" ] && kill -9 "$HOLD" 2>/dev/null; ip link del vxtun0 2>/dev/null; true; }
snap() { ip -br link | awk '{print $1}' | sort >"$1"; }
same_links()
{
	snap "$T/links.after"
	cmp -s "$T/links.before" "$T/links.after" ||
		fail "$1 changed the links: $(diff "$T/links.before" "$T/links.after" | tr '\n' ' ')"
}

# 1. not persistent: made again at restore
start_prog tun host
ip link set vxtun0 mtu 1400 || fail "cannot set vxtun0's MTU"
ip addr add fd00:77::1/64 nodad dev vxtun0 || fail "cannot add an IPv6 address"
dump "$PID" "$T/img"
for ((i = 0; i < 40; i++)); do ip link show vxtun0 >/dev/null 2>&1 || break; sleep 0.05; done
ip link show vxtun0 >/dev/null 2>&1 && fail "vxtun0 outlived the dumped tree"
snap "$T/links.before"
VXCR_TEST_FAIL=tree "$VXRESTORE" "$T/img" 2>"$T/fail.err" && fail "an injected failure ignored"
same_links "a restore failing after the link was made"
# killed once every process exists (the link made): it goes with the tree
VXCR_TEST_PAUSE=tree VXCR_LOG=2 "$VXRESTORE" "$T/img" >"$T/kill.out" 2>"$T/kill.err" &
RPID=$!
vx_track "$RPID"
vx_wait_line "$T/kill.err" "pausing at tree" 20 || fail "vxrestore did not pause at tree"
ip link show vxtun0 >/dev/null 2>&1 || fail "the paused restore made no vxtun0"
kill -9 "$RPID"
wait "$RPID" 2>/dev/null
vx_untrack "$RPID"
for ((i = 0; i < 100; i++)); do ip link show vxtun0 >/dev/null 2>&1 || break; sleep 0.05; done
same_links "a killed restore"
for ((i = 0; i < 40; i++)); do vx_alive "$PID" || break; sleep 0.05; done
vx_alive "$PID" && fail "pid $PID left by the killed restore"
EDIT=$VX_BUILD/tests/fuzz/edit-image
i=$(file_index "$T/img" 'p.get("kind") == "FILE_TUN"') || fail "no FILE_TUN in the image"
for e in "FILE[$i].tun.addrs[0].prefixlen=99:tun queue .*an address of family 2, 4 bytes, prefix 99" \
	"FILE[$i].tun.addrs[0].ifindex=1:tun queue .*prefix 24, link 1 refused" \
	"FILE[$i].tun.addrs[1].local=0a:tun queue .*an address of family 10, 1 bytes" \
	"FILE[$i].tun.mtu=9:tun queue .*MTU 9"; do
	"$EDIT" "$T/img" "$T/h.img" "${e%%:*}" || fail "edit-image ${e%%:*}"
	snap "$T/links.before"
	expect_refused_by "${e%%:*}" "${e#*:}" "$VXRESTORE" "$T/h.img"
	same_links "${e%%:*}"
done
restore_bg "$T/img"
ip -d link show vxtun0 | grep -q "tun type tun pi off vnet_hdr off persist off" ||
	fail "vxtun0 not made again as it was: $(ip -d link show vxtun0)"
ip -br addr show vxtun0 | grep -q "10.77.0.1/24 fd00:77::1/64" ||
	fail "vxtun0's addresses not given back: $(ip -br addr show vxtun0)"
ip link show vxtun0 | grep -q "UP.* mtu 1400 " || fail "vxtun0 not up with MTU 1400: $(ip link show vxtun0)"
go_and_check
wait_restore_exit 0
vx_untrack "$PID"

# 1b. a tap made again gets its MAC too
cat >"$T/tap.py" <<'PY'
import fcntl, os, struct, sys, time
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", b"vxtap1", 0x0002 | 0x1000))
if os.system("ip link set vxtap1 address 02:00:00:00:77:01 mtu 1300 && "
             "ip addr add 10.79.0.1/24 dev vxtap1 && ip link set vxtap1 up"):
    sys.exit(1)
with open(sys.argv[1], "w") as f:
    f.write("ready\n")
while True:
    time.sleep(1)
PY
start_cmd "$T/tap.out" python3 -S "$T/tap.py" "$T/tap.out"
vx_wait_line "$T/tap.out" '^ready$' 20 || fail "the tap holder did not get ready: $(cat "$T/prog.err")"
vx_remember
tapfacts() { ip -d -j link show vxtap1 | python3 -S -c '
import json, sys
l = json.load(sys.stdin)[0]
print(l["address"], l["mtu"], sorted(set(l["flags"]) - {"LOWER_UP", "NO-CARRIER"}), sorted(l["linkinfo"]["info_data"].items()))'
	ip -br -4 addr show vxtap1 | awk '{print $3}'; }
tapfacts >"$T/tap.before" || fail "cannot read vxtap1"
dump "$PID" "$T/tap.img"
for ((i = 0; i < 40; i++)); do ip link show vxtap1 >/dev/null 2>&1 || break; sleep 0.05; done
i=$(file_index "$T/tap.img" 'p.get("kind") == "FILE_TUN"') || fail "no FILE_TUN in the tap image"
"$EDIT" "$T/tap.img" "$T/h.img" "FILE[$i].tun.mac=0201" || fail "edit-image mac"
expect_refused_by "a 2-byte MAC" "tun queue .*a MAC of 2 bytes on a tap" "$VXRESTORE" "$T/h.img"
restore_bg "$T/tap.img"
tapfacts >"$T/tap.after" || fail "cannot read vxtap1 after the restore"
diff "$T/tap.before" "$T/tap.after" >"$T/tap.diff" || fail "vxtap1 differs: $(tr '\n' ' ' <"$T/tap.diff")"
log "vxtap1 made again: $(head -n 1 "$T/tap.after")"
kill -9 "$PID"
wait "$RPID" 2>/dev/null
vx_untrack "$RPID" "$PID"

# 2. persistent, owned by nobody: attached to again
ip tuntap add vxtun0 mode tun user 65534 || fail "cannot make vxtun0"
ip addr add 10.77.0.1/24 dev vxtun0 || fail "cannot address vxtun0"
rm -f "$OUT"
start_prog tun hostp
dump "$PID" "$T/img.p"
ip link show vxtun0 >/dev/null || fail "the persistent vxtun0 went with the tree"
restore_bg "$T/img.p"
go_and_check
wait_restore_exit 0
vx_untrack "$PID"
ip -d link show vxtun0 | grep -q "persist on user nobody" || fail "vxtun0 changed: $(ip -d link show vxtun0)"

# 3. refusals, the links as before
remake() { ip link del vxtun0 2>/dev/null; ip tuntap add vxtun0 "$@" || fail "cannot make vxtun0 $*"; }
refused()
{
	snap "$T/links.before"
	expect_refused_by "$1" "$2" "$VXRESTORE" "$3"
	same_links "the refusal of $1"
}
remake mode tun user 1000
refused "the link with another owner" "host link vxtun0 exists with another owner or group: refused" "$T/img.p"
remake mode tap user 65534
refused "the link as a tap" "host link vxtun0 exists with another type or flags: refused" "$T/img.p"
ip link del vxtun0
cat >"$T/hold.py" <<'PY'
import fcntl, os, struct, time
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", b"vxtun0", 0x0001 | 0x1000))
time.sleep(1000)
PY
python3 -S "$T/hold.py" &
HOLD=$!
for ((i = 0; i < 40; i++)); do ip link show vxtun0 >/dev/null 2>&1 && break; sleep 0.05; done
refused "the link held by another process" "host link vxtun0 exists and is not persistent" "$T/img"
refused "a persistent link held by another process" "host link vxtun0 exists and is not persistent" "$T/img.p"
kill -9 "$HOLD"
wait "$HOLD" 2>/dev/null
HOLD=""
for ((i = 0; i < 40; i++)); do ip link show vxtun0 >/dev/null 2>&1 || break; sleep 0.05; done
ip link add vxtun0 type veth peer name vxtun1 || fail "cannot make a veth vxtun0"
refused "a veth of that name" "host link vxtun0 exists and is no tun/tap link" "$T/img"
ip link del vxtun0
refused "the persistent link gone" "persistent host link vxtun0 is gone: not made again" "$T/img.p"
remake mode tun user 65534
EDIT=$VX_BUILD/tests/fuzz/edit-image
"$EDIT" "$T/img.p" "$T/nocap.img" "CREDS[0].euid=1000" "CREDS[0].uid=1000" "CREDS[0].suid=1000" \
	"CREDS[0].fsuid=1000" "CREDS[0].cap_eff=0" "CREDS[0].cap_prm=0" || fail "edit-image failed"
refused "a process that could not attach by itself" \
	"host link vxtun0 exists and the restored process could not attach to it by itself" "$T/nocap.img"
ip link del vxtun0

# an unattached /dev/net/tun fd while a link has a detached queue: a
# detached queue looks the same (no link in TUNGETIFF or fdinfo): refused
cat >"$T/detach.py" <<'PY'
import fcntl, os, struct, time
def tun(flags):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", b"vxmq0", flags))
    return fd
a, b = tun(0x0001 | 0x1000 | 0x0100), tun(0x0001 | 0x1000 | 0x0100)
fcntl.ioctl(b, 0x400454d9, struct.pack("16sH", b"", 0x0400))
time.sleep(1000)
PY
python3 -S "$T/detach.py" &
HOLD=$!
cat >"$T/open.py" <<'PY'
import os
fd = os.open("/dev/net/tun", os.O_RDWR)
os.set_inheritable(fd, True)
os.execvp("sleep", ["sleep", "1000"])
PY
start_cmd "$T/open.out" python3 -S "$T/open.py"
for ((i = 0; i < 100; i++)); do [ "$(cat /proc/$PID/comm 2>/dev/null)" = sleep ] && break; sleep 0.05; done
vx_remember
ip -d link show vxmq0 | grep -q "numdisabled 1" || fail "no detached queue on vxmq0"
expect_dump_refused "an unattached fd beside a detached queue" \
	"/dev/net/tun not attached, while link vxmq0 has 1 detached queues"
kill -9 "$HOLD" "$PID"
wait "$HOLD" 2>/dev/null
HOLD=""
pass
