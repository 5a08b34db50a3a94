#!/bin/bash
# AF_UNIX socketpairs (tests/progs/unixsk.c): stream, datagram and
# seqpacket pairs with data queued both ways (boundaries kept, an empty
# datagram too), O_NONBLOCK, shutdown states, a pair whose peer was
# closed, an abstract name and the sender's name of datagrams, SO_SNDBUF,
# SO_RCVBUF, timeouts, SO_PASSSEC, SO_PASSCRED, SO_PEEK_OFF, SO_PEERCRED's
# uid/gid, one end held by a child that blocks on another pair across the
# dump.  A --leave-running dump first (the queues are peeked, nothing is
# consumed: the original then passes its own checks); hostile edits of
# that image are refused in one line; then a dump and restore of the tree.
. "$(dirname "$0")/lib.sh"
require_cr
start_prog unixsk
vx_track_tree "$PID"
dump "$PID" "$T/img.lr" --leave-running
"$VXCR" img show "$T/img.lr" >"$T/show" 2>&1 || fail "vxcr img show failed: $(head -n 3 "$T/show")"
n=$(grep -c 'FILE_UNIXSK' "$T/show")
[ "$n" -eq 29 ] || fail "image shows $n unix sockets, expected 29"
n=$(grep -c 'SK_QUEUE' "$T/show")
[ "$n" -ge 9 ] || fail "image shows $n SK_QUEUE records, expected at least 9"

hostile() { refused_edit "$T/img.lr" "$@"; }
i=$(file_index "$T/img.lr" 'p.get("kind") == "FILE_UNIXSK" and p["unixsk"].get("queued", 0) > 0 and p["unixsk"].get("type") == 1') ||
	fail "no stream socket with a queue in the image"
hostile "a socket type 3" "type 3, state .* out of range" "FILE[$i].unixsk.type=3"
hostile "a listening state" "a listener must be an unconnected, named" "FILE[$i].unixsk.state=10"
hostile "inode 0" "out of range" "FILE[$i].unixsk.ino=0"
hostile "a peer not in the image" "no socket of the image connected back" \
	"FILE[$i].unixsk.peer_ino=99999999"
hostile "a queue length that is not its records'" "bytes queued, its entry says" \
	"FILE[$i].unixsk.queued=1000"
hostile "an odd SO_SNDBUF" "sndbuf out of range" "FILE[$i].unixsk.sndbuf=4609"
hostile "a huge SO_RCVBUF" "rcvbuf out of range" "FILE[$i].unixsk.rcvbuf=4294967294"
hostile "a peek offset past the queue" "peek_off out of range" "FILE[$i].unixsk.peek_off=100000"
hostile "a timeout of 2^60 us" "a timeout out of range" "FILE[$i].unixsk.rcvtimeo_us=1152921504606846976"
hostile "shutdown 4" "shutdown out of range" "FILE[$i].unixsk.shutdown=4"
hostile "peer uid 2^32-1" "peer credentials out of range" "FILE[$i].unixsk.peer_uid=4294967295"
i=$(file_index "$T/img.lr" 'p.get("kind") == "FILE_UNIXSK" and p["unixsk"].get("state") == 10 and len(p["unixsk"].get("icons", [])) == 2') ||
	fail "no listener with two queued connections in the image"
hostile "a backlog of 70000" "a listener must be" "FILE[$i].unixsk.backlog=70000"
hostile "a queued connection that is no client" "queued connection 12345 has no one client" \
	"FILE[$i].unixsk.icons[1]=12345"
hostile "a socket file mode with set-uid" "the owner, mode .* out of range" "FILE[$i].unixsk.name_mode=04755"
hostile "a socket file owner 2^32-1" "the owner, mode .* out of range" "FILE[$i].unixsk.name_uid=4294967295"
hostile "a removed name on a listener with connections" "a removed name must be a path" \
	"FILE[$i].unixsk.name_removed=1"
i=$(file_index "$T/img.lr" 'p.get("kind") == "FILE_CHR"') || fail "no device record in the image"
hostile "a socket without its entry" "has no unixsk entry" "FILE[$i].kind=20"
go_and_check
vx_wait_gone "$PID" 10 || fail "unixsk $PID did not exit after its check"
vx_untrack "$PID"
rm -f "$OUT"

# Refused in one line, the target untouched (its SO_PEEK_OFF and the
# message in flight still there, checked by the program after "go"): a
# peer held by a process outside the tree, a datagram from a sender that
# is not the socket's peer.  (fds in flight are restored: t-unixsk-scm.sh.)
start_prog unixsk outside
g=$(sed -n 's/^outside //p' "$OUT")
[ -n "$g" ] || fail "unixsk outside did not report its outside process"
vx_track "$g"
expect_dump_refused "a peer outside the tree" \
	"pid $PID fd [0-9]+ \(unix socket ino [0-9]+\): its peer \(unix socket ino [0-9]+\) is outside the tree"
go_and_check
vx_wait_gone "$PID" 10 || fail "unixsk $PID did not exit after its check"
vx_wait_gone "$g" 10 || fail "outside holder $g did not exit at EOF"
rm -f "$OUT"
start_prog unixsk senders
expect_dump_refused "a datagram of another sender" "a datagram queued from another sender than its peer"
go_and_check
vx_wait_gone "$PID" 10 || fail "unixsk $PID did not exit after its check"
rm -f "$OUT"

# What restore may do at a socket path: a regular file there is refused
# (and left alone); a dead socket file of the recorded owner (here one a
# failed restore could have left: another inode) is replaced.
start_prog unixsk
vx_track_tree "$PID"
dump "$PID" "$T/img.path"
vx_wait_gone "$PID" 10 || fail "unixsk $PID still there after the dump"
rm -f "$T/l.sock"
echo keep >"$T/l.sock"
expect_refused_by "a regular file at the listener's path" \
	"l.sock exists and is not a dead socket file of its owner" "$VXRESTORE" "$T/img.path"
[ "$(cat "$T/l.sock")" = keep ] || fail "the regular file at the listener's path was changed"
rm -f "$T/l.sock"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$T/l.sock" ||
	fail "cannot make a dead socket file"
restore_bg "$T/img.path"
go_and_check
wait_restore_exit 0
vx_wait_gone "$PID" 10 || fail "unixsk $PID did not exit after its check"
rm -f "$OUT"

tree_cr_cycle unixsk
