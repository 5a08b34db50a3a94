#!/bin/bash
# UDP sockets (tests/progs/inetdg.c): IPv4 and IPv6, bound, dual stack and
# v6-only, connected, a multicast member bound to a device, UDP-Lite;
# options; queued datagrams from several sources (another local address,
# an IPv4 sender on a dual-stack socket, one queued before the socket
# connected, an empty one), a peek offset inside the first datagram.  The
# program checks all of it after restore, then receives datagrams sent
# after restore.  All traffic on loopback.
# First a --leave-running dump: the original passes its own checks after
# it (the dump peeked its queues without taking anything or moving its
# peek offset); a restore beside it is refused (its ports are taken);
# hostile edits of that image are refused in one line.  Then the whole
# cycle; last, a socket with corked data, a pending error, datagrams on a
# SO_REUSEPORT socket, a membership with a source filter and a socket of
# another network namespace are refused at dump.
. "$(dirname "$0")/lib.sh"
require_cr
start_prog inetdg
dump "$PID" "$T/img.lr" --leave-running
"$VXCR" img show "$T/img.lr" >"$T/show" 2>&1 || fail "vxcr img show failed: $(head -n 3 "$T/show")"
n=$(grep -c 'FILE_INETDG' "$T/show")
[ "$n" -eq 10 ] || fail "image shows $n inet datagram sockets, expected 10"

expect_refused_by "a port held by the original" "its address .* is in use on this host" \
	"$VXRESTORE" --pidns "$T/img.lr"

EDIT=$VX_BUILD/tests/fuzz/edit-image
[ -x "$EDIT" ] || fail "$EDIT not built"
i=$(file_index "$T/img.lr" 'p.get("kind") == "FILE_INETDG" and len(p["inetdg"].get("queue", [])) == 4') ||
	fail "no socket with 4 queued datagrams in the image"
edited()	# WHAT PATTERN EDIT...: the image with EDIT... is refused saying PATTERN
{
	local what=$1 pat=$2
	shift 2
	"$EDIT" "$T/img.lr" "$T/edit.img" "$@" || fail "edit-image $* failed"
	expect_refused_by "$what" "$pat" "$VXRESTORE" "$T/edit.img"
}
edited "family 3" "inet socket .*family, type, protocol or owner" "FILE[$i].inetdg.family=3"
edited "type SOCK_STREAM" "inet socket .*family, type, protocol or owner" "FILE[$i].inetdg.type=1"
edited "datagram protocol 6" "inet socket .*family, type, protocol or owner" "FILE[$i].inetdg.protocol=6"
edited "owner uid -1" "inet socket .*owner" "FILE[$i].inetdg.uid=0xffffffff"
edited "a 5-byte local address" "udp socket .*its local address missing or out of range" \
	"FILE[$i].inetdg.local.ip=0102030405"
edited "port 70000" "udp socket .*its local address missing or out of range" \
	"FILE[$i].inetdg.local.port=70000"
edited "a datagram's length" "udp socket .*queued data record 0 does not match" \
	"FILE[$i].inetdg.queue[0].len=5"
edited "a TTL of 300" "udp socket .*queued datagram 0: length, TTL or TOS out of range" \
	"FILE[$i].inetdg.queue[0].ttl=300"
edited "an option not in the table" "udp socket .*option 0/9999 is not one restore sets" \
	"FILE[$i].inetdg.ipopts[0].name=9999"
edited "an IPv6 option on an IPv4 socket" "udp socket .*option 41/26 is not one restore sets" \
	"FILE[$i].inetdg.ipopts[0].level=41" "FILE[$i].inetdg.ipopts[0].name=26"
edited "a timeout of 2^62 us" "udp socket .*SO_RCVTIMEO out of range" \
	"FILE[$i].inetdg.opts.rcvtimeo_us=0x4000000000000000"
edited "a 20-byte ICMP filter on a UDP socket" "udp socket .*an ICMP filter of 20 bytes" \
	"FILE[$i].inetdg.icmp_filter=0102030405060708091011121314151617181920"
m=$(file_index "$T/img.lr" 'p.get("kind") == "FILE_INETDG" and p["inetdg"].get("groups")') ||
	fail "no socket with a multicast group in the image"
edited "a group that is not multicast" "udp socket .*multicast group 0 is no multicast address" \
	"FILE[$m].inetdg.groups[0].group=0a000001"
edited "a group on an interface named with a slash" "udp socket .*multicast group 0 is no multicast" \
	"FILE[$m].inetdg.groups[0].ifname=a/b"
edited "a queue on a socket that is not bound" "udp socket .*not a bound UDP one" \
	"FILE[$i].inetdg.local.port=0"
j=$(file_index "$T/img.lr" 'p.get("kind") == "FILE_CHR"') || fail "no device record in the image"
edited "an inet socket without its entry" "has no inetdg entry" "FILE[$j].kind=25"
# an address that is not on this host: refused, not rebound elsewhere
# (10.254.254.254 is on no interface here; the original still runs, so the
# pids are taken: a new pid namespace)
"$EDIT" "$T/img.lr" "$T/gone.img" "FILE[$i].inetdg.local.ip=0afefefe" || fail "edit-image failed"
expect_refused_by "an address not on this host" "its address 10.254.254.254:[0-9]+ is not on this host: refused" \
	"$VXRESTORE" --pidns "$T/gone.img"
# vxdump killed while it peeks a queue (the target's SO_PEEK_OFF is 0
# then): the keeper puts it back, so the program's own check of its peek
# offset (2) and of its queues still passes
VXCR_TEST_PAUSE=inetdg-peek VXCR_LOG=2 "$VXDUMP" --leave-running -o "$T/img.k" "$PID" \
	>"$T/dump.out" 2>"$T/dump.err" &
dpid=$!
vx_track "$dpid"
for ((k = 0; k < 200; k++)); do
	grep -qiE "paus(e|ing).*inetdg-peek" "$T/dump.err" && break
	kill -0 "$dpid" 2>/dev/null || fail "vxdump did not pause at inetdg-peek: $(head -n 2 "$T/dump.err")"
	sleep 0.05
done
(( k < 200 )) || fail "vxdump did not pause at inetdg-peek"
kill -9 "$dpid"
wait "$dpid" 2>/dev/null
vx_untrack "$dpid"
sleep 0.3
log "vxdump killed while peeking a queue"
go_and_check
vx_wait_gone "$PID" 10 || fail "inetdg $PID did not exit after its check"
vx_untrack "$PID"
rm -f "$OUT"

# The whole cycle: dump (the process goes away), restore, its own checks.
start_prog inetdg
dump "$PID" "$T/img"
sum=$(sha256sum <"$T/img")
# vxrestore killed while it refills a queue: nothing of the image is left
# (its processes die, so do their sockets: the restore below binds the
# same ports again)
VXCR_TEST_PAUSE=inetdg-refill VXCR_LOG=2 "$VXRESTORE" "$T/img" >"$T/kill.out" 2>"$T/kill.err" &
K=$!
vx_track "$K"
# paused in the root's C part (its log does not reach us): a socket of the
# half-built process with a datagram queued (/proc/net/udp rx_queue) says so
for ((k = 0; k < 200; k++)); do
	inos=$(ls -l "/proc/$PID/fd" 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\]$/\1/p')
	for ino in $inos; do
		awk -v i="$ino" '$10 == i && $5 !~ /:00000000$/ {f = 1} END {exit !f}' /proc/net/udp &&
			break 2
	done
	kill -0 "$K" 2>/dev/null || fail "vxrestore exited before its pause: $(head -n 2 "$T/kill.err")"
	sleep 0.05
done
(( k < 200 )) || fail "vxrestore did not pause while refilling a queue"
kill -9 "$K"
wait "$K" 2>/dev/null
vx_untrack "$K"
vx_wait_gone "$PID" 10 || fail "a killed restore left pid $PID"
log "vxrestore killed while refilling a queue: nothing left"
restore_bg "$T/img"
go_and_check
wait_restore_exit 0
[ "$(sha256sum <"$T/img")" = "$sum" ] || fail "vxrestore modified the image"
vx_untrack "$PID"
rm -f "$OUT"

refused_with()	# ARG WHAT PATTERN: inetdg ARG holds a socket vxdump refuses
{
	rm -f "$OUT"
	start_prog inetdg "$1"
	expect_dump_refused "$2" "$3"
	kill -9 "$PID"
	vx_wait_gone "$PID" 10 || fail "inetdg $PID did not die"
	vx_untrack "$PID"
}
refused_with corked "corked data" "udp socket ino [0-9]+\): data being sent \(corked; [0-9]+ bytes of its send buffer\): not supported"
refused_with srcfilter "a source-filtered membership" \
	"membership of multicast group 239.7.7.8 has a source filter: not supported"
refused_with error "a pending error" \
	"udp socket ino [0-9]+\): a pending error or an error queue entry \(IP_RECVERR\) that cannot be read without taking it: not supported"
refused_with reuseport "datagrams queued on a SO_REUSEPORT socket" \
	"udp socket ino [0-9]+\): datagrams queued on a SO_REUSEPORT socket"
refused_with netns "a socket of another network namespace" \
	"inet socket ino [0-9]+\): of another network namespace than vxdump's: not supported"
pass
