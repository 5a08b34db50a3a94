#!/bin/bash
# TCP sockets that are not connected (tests/progs/tcpsk.c): IPv4 and IPv6
# listeners, a bound and a never-bound socket, with their SOL_SOCKET, TCP
# and IP options; restored, each checked by the program itself and then
# used (accept, connect from the bound port).  A --leave-running dump
# first (the original then passes its own checks), hostile edits of that
# image refused in one line, then a dump and restore.
. "$(dirname "$0")/lib.sh"
require_cr
start_prog tcpsk
dump "$PID" "$T/img.lr" --leave-running
"$VXCR" img show "$T/img.lr" >"$T/show" 2>&1 || fail "vxcr img show failed: $(head -n 3 "$T/show")"
n=$(grep -c 'FILE_TCPSK' "$T/show")
[ "$n" -eq 5 ] || fail "image shows $n TCP sockets, expected 5"
go_and_check
vx_wait_gone "$PID" 10 || fail "tcpsk $PID did not exit after its check"
vx_untrack "$PID"
rm -f "$OUT"

start_prog tcpsk
dump "$PID" "$T/img"
sum=$(sha256sum <"$T/img")
hostile() { refused_edit "$T/img" "$@"; }
i=$(file_index "$T/img" 'p.get("kind") == "FILE_TCPSK" and p["tcpsk"].get("state") == 10') ||
	fail "no listening TCP socket in the image"
hostile "family 1" "family, state or owner is missing or out of range" "FILE[$i].tcpsk.family=1"
hostile "state 6 (TIME_WAIT)" "family, state or owner is missing or out of range" "FILE[$i].tcpsk.state=6"
hostile "a listener in CLOSE_WAIT" "backlog, TCP_MAXSEG or TCP_CONGESTION does not fit" "FILE[$i].tcpsk.state=8"
hostile "owner 2^32-1" "family, state or owner" "FILE[$i].tcpsk.uid=4294967295"
hostile "backlog 70000" "backlog 70000 out of range" "FILE[$i].tcpsk.backlog=70000"
hostile "port 70000" "local address missing or out of range" "FILE[$i].tcpsk.local.port=70000"
hostile "TCP_KEEPCNT 200" "TCP_KEEPCNT 200 out of range" "FILE[$i].tcpsk.keepcnt=200"
hostile "ttl 0" "ttl 0 out of range" "FILE[$i].tcpsk.ttl=0"
hostile "an established listener" "backlog, TCP_MAXSEG or TCP_CONGESTION does not fit" "FILE[$i].tcpsk.state=1"
hostile "a huge SO_RCVBUF" "a buffer size out of range" "FILE[$i].tcpsk.opts.rcvbuf=4294967294"
i=$(file_index "$T/img" 'p.get("kind") == "FILE_CHR"') || fail "no device record in the image"
hostile "a socket without its entry" "has no tcpsk entry" "FILE[$i].kind=24"
restore_bg "$T/img"
go_and_check
wait_restore_exit 0
[ "$(sha256sum <"$T/img")" = "$sum" ] || fail "vxrestore modified the image"
pass
