#!/bin/bash
# Netlink sockets (tests/progs/netlinksk.c): a NETLINK_ROUTE socket bound
# to RTMGRP_LINK|RTMGRP_IPV4_IFADDR plus group 33, with options and a
# receive buffer size; a NETLINK_KOBJECT_UEVENT socket bound to a port id
# of its own and connected to the kernel; an unbound one.  After restore
# the program checks port ids, groups and options as the kernel reports
# them and gets an RTM_GETLINK answer listing lo.  Nothing here creates or
# changes a link or an address.
# A --leave-running dump first (the image shows the sockets; hostile edits
# of it are refused in one line), then a dump and restore of the process;
# last, a socket with an unread answer queued, one with SO_TIMESTAMP, one
# with an eBPF filter and one made in another network namespace are
# refused at dump.
. "$(dirname "$0")/lib.sh"
require_cr
start_prog netlinksk
dump "$PID" "$T/img.lr" --leave-running
"$VXCR" img show "$T/img.lr" >"$T/show" 2>&1 || fail "vxcr img show failed: $(head -n 3 "$T/show")"
n=$(grep -c 'FILE_NETLINKSK' "$T/show")
[ "$n" -eq 3 ] || fail "image shows $n netlink sockets, expected 3"

# While the original holds its port ids, a restore of the image (in a new
# PID namespace: its pids are in use too) cannot
# bind them: refused in one line, not given other port ids.
expect_refused_by "a port id held by the original" "cannot bind to port id .*another socket holds it" \
	"$VXRESTORE" --pidns "$T/img.lr"

EDIT=$VX_BUILD/tests/fuzz/edit-image
[ -x "$EDIT" ] || fail "$EDIT not built"
i=$(file_index "$T/img.lr" 'p.get("kind") == "FILE_NETLINKSK" and len(p["netlinksk"].get("groups", [])) == 3') ||
	fail "no NETLINK_ROUTE socket with 3 groups in the image"
"$EDIT" "$T/img.lr" "$T/proto.img" "FILE[$i].netlinksk.protocol=99" || fail "edit-image failed"
expect_refused_by "an unknown netlink protocol" "netlink socket .*unknown protocol 99" \
	"$VXRESTORE" "$T/proto.img"
"$EDIT" "$T/img.lr" "$T/group.img" "FILE[$i].netlinksk.groups[2]=5000" || fail "edit-image failed"
expect_refused_by "a group out of range" "netlink socket .*group 5000 is out of range" \
	"$VXRESTORE" "$T/group.img"
"$EDIT" "$T/img.lr" "$T/order.img" "FILE[$i].netlinksk.groups[1]=1" || fail "edit-image failed"
expect_refused_by "groups out of order" "netlink socket .*group 1 is out of range or out of order" \
	"$VXRESTORE" "$T/order.img"
"$EDIT" "$T/img.lr" "$T/type.img" "FILE[$i].netlinksk.type=1" || fail "edit-image failed"
expect_refused_by "a SOCK_STREAM netlink socket" "netlink socket .*type 1 is neither" \
	"$VXRESTORE" "$T/type.img"
"$EDIT" "$T/img.lr" "$T/buf.img" "FILE[$i].netlinksk.rcvbuf=0" || fail "edit-image failed"
expect_refused_by "a zero receive buffer" "netlink socket .*buffer sizes 0/" \
	"$VXRESTORE" "$T/buf.img"
"$EDIT" "$T/img.lr" "$T/peer.img" "FILE[$i].netlinksk.dst_group=40" || fail "edit-image failed"
expect_refused_by "a peer group above 32" "netlink socket .*peer group 40" \
	"$VXRESTORE" "$T/peer.img"
"$EDIT" "$T/img.lr" "$T/tmo.img" "FILE[$i].netlinksk.rcvtimeo_us=0x4000000000000000" ||
	fail "edit-image failed"
expect_refused_by "a receive timeout of 2^62 us" "netlink socket .*timeouts .* out of range" \
	"$VXRESTORE" "$T/tmo.img"
j=$(file_index "$T/img.lr" 'p.get("kind") == "FILE_NETLINKSK" and "filter" in p["netlinksk"]') ||
	fail "no netlink socket with a filter in the image"
"$EDIT" "$T/img.lr" "$T/flen.img" "FILE[$j].netlinksk.filter=616263" || fail "edit-image failed"
expect_refused_by "a socket filter of 3 bytes" "netlink socket .*a socket filter of 3 bytes" \
	"$VXRESTORE" "$T/flen.img"
# 8 bytes (hex): one instruction the kernel's checker refuses (code 0x4141);
# restored in a new PID namespace beside the original, so the first
# socket is given no port id (the original holds it) and the filter is
# what stops the restore, before the socket is bound
"$EDIT" "$T/img.lr" "$T/fbad.img" "FILE[$j].netlinksk.filter=4141414141414141" \
	"FILE[$i].netlinksk.portid=0" || fail "edit-image failed"
expect_refused_by "a socket filter the kernel refuses" "the kernel refuses its socket filter" \
	"$VXRESTORE" --pidns "$T/fbad.img"
"$EDIT" "$T/img.lr" "$T/uid.img" "FILE[$i].netlinksk.uid=0xffffffff" || fail "edit-image failed"
expect_refused_by "an owner uid of -1" "netlink socket .*owner 4294967295/0 out of range" \
	"$VXRESTORE" "$T/uid.img"
i=$(file_index "$T/img.lr" 'p.get("kind") == "FILE_CHR"') || fail "no device record in the image"
"$EDIT" "$T/img.lr" "$T/bare.img" "FILE[$i].kind=21" || fail "edit-image failed"
expect_refused_by "a netlink socket without its entry" "has no netlinksk entry" \
	"$VXRESTORE" "$T/bare.img"
go_and_check
vx_wait_gone "$PID" 10 || fail "netlinksk $PID did not exit after its check"
vx_untrack "$PID"
rm -f "$OUT"

# The whole cycle: dump (the process goes away), restore, its own checks.
start_prog netlinksk
dump "$PID" "$T/img"
sum=$(sha256sum <"$T/img")
restore_bg "$T/img"
go_and_check
wait_restore_exit 0
[ "$(sha256sum <"$T/img")" = "$sum" ] || fail "vxrestore modified the image"
vx_untrack "$PID"
rm -f "$OUT"

# An RTM_GETLINK answer waiting unread: the kernel's answer cannot be
# replayed, so the dump refuses it and the program keeps running.
start_prog netlinksk queued
expect_dump_refused "an unread netlink answer" "netlink socket: [0-9]+ bytes of messages queued unread"
kill -9 "$PID"
vx_wait_gone "$PID" 10 || fail "netlinksk $PID did not die"
vx_untrack "$PID"
refused_with()	# ARG WHAT PATTERN: netlinksk ARG holds a socket vxdump refuses
{
	rm -f "$OUT"
	start_prog netlinksk "$1"
	expect_dump_refused "$2" "$3"
	kill -9 "$PID"
	vx_wait_gone "$PID" 10 || fail "netlinksk $PID did not die"
	vx_untrack "$PID"
}
refused_with stamp "SO_TIMESTAMP on a netlink socket" "netlink socket: SO_TIMESTAMP is on: not supported"
refused_with ebpf "an eBPF socket filter" "netlink socket: an eBPF socket filter is attached: not supported"
refused_with netns "a socket of another network namespace" \
	"netlink socket: of another network namespace than vxdump's: not supported"
pass
