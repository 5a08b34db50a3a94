#!/bin/bash
# ICMP echo ("ping") and raw IP sockets (tests/progs/inetdg-ping.c), in a
# network namespace of the case's own whose net.ipv4.ping_group_range
# admits root's gid: IPv4 and IPv6 ping sockets keep their identifiers
# and are answered after restore, raw ICMP and ICMPv6 sockets keep their
# type filters (they see the echo replies and not the requests), a raw
# socket of protocol 253 bound to 127.0.0.1 receives what it sends.  An
# echo reply left unread on a ping socket is refused at dump.
. "$(dirname "$0")/lib.sh"
require_cr
vx_enter_netns "$@"
sysctl -qw net.ipv4.ping_group_range="0 2147483647" || fail "cannot set ping_group_range"
start_prog inetdg-ping
dump "$PID" "$T/img.lr" --leave-running
"$VXCR" img show "$T/img.lr" >"$T/show" 2>&1 || fail "vxcr img show failed: $(head -n 3 "$T/show")"
n=$(grep -c 'FILE_INETDG' "$T/show")
[ "$n" -eq 5 ] || fail "image shows $n inet sockets, expected 5"
EDIT=$VX_BUILD/tests/fuzz/edit-image
i=$(file_index "$T/img.lr" 'p.get("kind") == "FILE_INETDG" and p["inetdg"].get("type") == 3 and p["inetdg"].get("protocol") == 1') ||
	fail "no raw ICMP socket in the image"
"$EDIT" "$T/img.lr" "$T/f.img" "FILE[$i].inetdg.icmp_filter=0102" || fail "edit-image failed"
expect_refused_by "a 2-byte ICMP filter" "raw socket .*an ICMP filter of 2 bytes" "$VXRESTORE" "$T/f.img"
"$EDIT" "$T/img.lr" "$T/p.img" "FILE[$i].inetdg.protocol=0" || fail "edit-image failed"
expect_refused_by "raw protocol 0" "inet socket .*protocol or owner" "$VXRESTORE" "$T/p.img"
k=$(file_index "$T/img.lr" 'p.get("kind") == "FILE_INETDG" and p["inetdg"].get("protocol") == 253') ||
	fail "no raw socket of protocol 253 in the image"
"$EDIT" "$T/img.lr" "$T/b.img" "FILE[$k].inetdg.local.port=5" ||
	fail "edit-image failed"
expect_refused_by "a raw socket with a port" "raw socket .*a raw socket bound to a port" \
	"$VXRESTORE" "$T/b.img"
go_and_check
vx_wait_gone "$PID" 10 || fail "inetdg-ping $PID did not exit after its check"
vx_untrack "$PID"
rm -f "$OUT"

start_prog inetdg-ping
dump "$PID" "$T/img"
sum=$(sha256sum <"$T/img")
restore_bg "$T/img"
go_and_check
wait_restore_exit 0
[ "$(sha256sum <"$T/img")" = "$sum" ] || fail "vxrestore modified the image"
vx_untrack "$PID"
rm -f "$OUT"

start_prog inetdg-ping queued
expect_dump_refused "an unread echo reply" \
	"ping socket ino [0-9]+\): data queued unread \(a ping socket's queue cannot be refilled\): not supported"
kill -9 "$PID"
vx_wait_gone "$PID" 10 || fail "inetdg-ping $PID did not die"
vx_untrack "$PID"
pass
