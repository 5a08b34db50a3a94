#!/bin/bash
# Packet sockets (tests/progs/packetsk.c), in a network namespace of the
# case's own (only lo): one bound to lo and ETH_P_IP with PACKET_AUXDATA
# and a receive buffer size captures a datagram sent after restore; an
# unbound one stays unbound.  The interface is looked up by name: an
# image naming one that is not here is refused.  A ring, a fanout group
# and a membership are refused at dump, naming the socket.
. "$(dirname "$0")/lib.sh"
require_cr
vx_enter_netns "$@"
start_prog packetsk
dump "$PID" "$T/img.lr" --leave-running
"$VXCR" img show "$T/img.lr" >"$T/show" 2>&1 || fail "vxcr img show failed: $(head -n 3 "$T/show")"
n=$(grep -c 'FILE_PACKETSK' "$T/show")
[ "$n" -eq 2 ] || fail "image shows $n packet sockets, expected 2"
EDIT=$VX_BUILD/tests/fuzz/edit-image
i=$(file_index "$T/img.lr" 'p.get("kind") == "FILE_PACKETSK" and "ifname" in p["packetsk"]') ||
	fail "no bound packet socket in the image"
"$EDIT" "$T/img.lr" "$T/if.img" "FILE[$i].packetsk.ifname=vxnone0" || fail "edit-image failed"
expect_refused_by "an interface that is not here" "packet socket .*its interface vxnone0 is not here: refused" \
	"$VXRESTORE" --pidns "$T/if.img"
"$EDIT" "$T/img.lr" "$T/t.img" "FILE[$i].packetsk.type=1" || fail "edit-image failed"
expect_refused_by "type SOCK_STREAM" "packet socket .*type 1, protocol" "$VXRESTORE" "$T/t.img"
"$EDIT" "$T/img.lr" "$T/v.img" "FILE[$i].packetsk.version=7" || fail "edit-image failed"
expect_refused_by "TPACKET version 7" "packet socket .*version 7" "$VXRESTORE" "$T/v.img"
"$EDIT" "$T/img.lr" "$T/p.img" "FILE[$i].packetsk.protocol=0x10000" || fail "edit-image failed"
expect_refused_by "protocol 0x10000" "packet socket .*protocol 0x10000" "$VXRESTORE" "$T/p.img"
j=$(file_index "$T/img.lr" 'p.get("kind") == "FILE_CHR"') || fail "no device record in the image"
"$EDIT" "$T/img.lr" "$T/bare.img" "FILE[$j].kind=26" || fail "edit-image failed"
expect_refused_by "a packet socket without its entry" "has no packetsk entry" "$VXRESTORE" "$T/bare.img"
go_and_check
vx_wait_gone "$PID" 10 || fail "packetsk $PID did not exit after its check"
vx_untrack "$PID"
rm -f "$OUT"

start_prog packetsk
dump "$PID" "$T/img"
sum=$(sha256sum <"$T/img")
restore_bg "$T/img"
go_and_check
wait_restore_exit 0
[ "$(sha256sum <"$T/img")" = "$sum" ] || fail "vxrestore modified the image"
vx_untrack "$PID"

refused_with()	# ARG WHAT PATTERN: packetsk ARG holds a socket vxdump refuses
{
	rm -f "$OUT"
	start_prog packetsk "$1"
	expect_dump_refused "$2" "$3"
	kill -9 "$PID"
	vx_wait_gone "$PID" 10 || fail "packetsk $PID did not die"
	vx_untrack "$PID"
}
refused_with ring "a ring" "packet socket ino [0-9]+\): a receive ring \(PACKET_RX_RING\): not supported"
refused_with fanout "fanout" "packet socket ino [0-9]+\): fanout \(PACKET_FANOUT\): not supported"
refused_with member "a membership" "packet socket ino [0-9]+\): a membership \(PACKET_ADD_MEMBERSHIP\): not supported"
pass
