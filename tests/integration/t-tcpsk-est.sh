#!/bin/bash
# Established TCP connections (tests/progs/tcpsk-est.c): an IPv4 and an
# IPv6 loopback connection between two processes of the tree and one to a
# process outside it, each with bytes queued both ways (receive queues
# and unsent send queues).  Refused without --tcp-established, naming the
# connection; a --leave-running dump releases the original with its
# sockets out of repair mode (it passes its checks); then dumped and
# restored: every byte of each stream arrives once and in order, before
# and after the dump.
. "$(dirname "$0")/lib.sh"
require_cr

# start_est: the program, its outside process tracked.
start_est()
{
	start_prog tcpsk-est "$@"
	O=$(sed -n 's/^outside //p' "$OUT")
	[ -n "$O" ] || fail "tcpsk-est did not report its outside process"
	vx_track "$O"
	vx_track_tree "$PID"
}

# check_outside: the outside end got every byte.
check_outside()
{
	vx_wait_line "$OUT" '^(outside ok|FAIL)' 30 || fail "no result from the outside process"
	grep -q '^outside ok' "$OUT" || fail "outside: $(grep '^FAIL' "$OUT" | head -n 1)"
	vx_wait_gone "$O" 10 || fail "outside process $O did not exit"
}

start_est
# without the flag: one line per connection end (7), then the summary
"$VXDUMP" -o "$T/refused.img" "$PID" >"$T/refused.out" 2>"$T/refused.err"
[ $? = 1 ] || fail "vxdump without --tcp-established did not fail"
[ "$(grep -cE "pid [0-9]+ fd [0-9]+: (established|FIN_WAIT2|CLOSE_WAIT) TCP connection (127\.0\.0\.1|\[::1\]):[0-9]+ -> (127\.0\.0\.1|\[::1\]):[0-9]+: dump with --tcp-established" "$T/refused.err")" = 7 ] ||
	fail "refusals do not name the 7 connection ends: $(head -n 3 "$T/refused.err")"
tail -n 1 "$T/refused.err" | grep -q "7 objects cannot be checkpointed: nothing was dumped" ||
	fail "no summary line: $(tail -n 1 "$T/refused.err")"
[ ! -e "$T/refused.img" ] || fail "the refused dump left an image"
log "refused: $(head -n 1 "$T/refused.err")"
dump "$PID" "$T/img.lr" --leave-running --tcp-established
"$VXCR" img show "$T/img.lr" >"$T/show" 2>&1 || fail "vxcr img show failed"
n=$(grep -c 'FILE_TCPSK' "$T/show")
[ "$n" -eq 9 ] || fail "image shows $n TCP sockets, expected 9"
hostile() { refused_edit "$T/img.lr" "$@"; }
i=$(file_index "$T/img.lr" 'p.get("kind") == "FILE_TCPSK" and p["tcpsk"].get("conn", {}).get("unsent_len", 0) > 0') ||
	fail "no connection with unsent bytes in the image"
hostile "mss 0" "mss 0 out of range" "FILE[$i].tcpsk.conn.mss=0"
hostile "window scale 15" "snd_wscale 15 out of range" "FILE[$i].tcpsk.conn.snd_wscale=15"
hostile "more unsent bytes than queued" "unsent bytes [0-9]+ out of range" \
	"FILE[$i].tcpsk.conn.unsent_len=999999999"
hostile "a queue length that is not its records'" "bytes queued, its entry says" \
	"FILE[$i].tcpsk.conn.inq_len=7"
hostile "queues over 256 MiB" "queued bytes [0-9]+ out of range" \
	"FILE[$i].tcpsk.conn.outq_len=4000000000"
hostile "peer port 70000" "peer address missing or out of range" "FILE[$i].tcpsk.peer.port=70000"
hostile "a connection that is not established" "addresses or connection do not fit" \
	"FILE[$i].tcpsk.state=7"
go_and_check
check_outside
vx_wait_gone "$PID" 10 || fail "tcpsk-est $PID did not exit after its check"
rm -f "$OUT"

# vxdump killed while every connection is in repair mode and locked: the
# keeper takes them out of repair mode, the kernel drops the lock's table,
# the program runs on and passes its checks
start_est
VXCR_TEST_PAUSE=collected VXCR_LOG=2 "$VXDUMP" --tcp-established -o "$T/img.killed" "$PID" \
	>"$T/killed.out" 2>"$T/killed.err" &
dpid=$!
vx_track "$dpid"
vx_wait_line "$T/killed.err" "paus(e|ing).*collected" 20 ||
	fail "vxdump did not pause at collected: $(head -n 2 "$T/killed.err")"
kill -9 "$dpid"
wait "$dpid" 2>/dev/null
vx_untrack "$dpid"
sleep 0.3
nft list ruleset 2>/dev/null | grep -q vxcr_lock && fail "a network lock is left after the killed vxdump"
go_and_check
check_outside
vx_wait_gone "$PID" 10 || fail "tcpsk-est $PID did not exit after its check"
log "vxdump killed at collected: the connections went on"
rm -f "$OUT"

# an outside peer that keeps sending across the dump, a killed restore
# and a restore one second later: --keep-net-lock holds its segments
# (without it the host would answer them with a reset), the restore
# removes the kept lock and the peer's resent bytes arrive
start_est chatty
dump "$PID" "$T/img.keep" --tcp-established --keep-net-lock
vx_keep_lock "$T/img.keep" # a failure from here on must not leave it on the host
nft list tables 2>/dev/null | grep -q 'vxcr_img_' || fail "no kept network lock after the dump"
# a restore killed once the sockets exist: its tree dies, the kept lock
# stays (the outside peer sees no reset), the next restore works
VXCR_TEST_PAUSE=tree VXCR_LOG=2 "$VXRESTORE" "$T/img.keep" >"$T/rkill.out" 2>"$T/rkill.err" &
rpid=$!
vx_track "$rpid"
vx_wait_line "$T/rkill.err" "paus(e|ing).*tree" 20 ||
	fail "vxrestore did not pause at tree: $(head -n 2 "$T/rkill.err")"
kill -9 "$rpid"
wait "$rpid" 2>/dev/null
vx_untrack "$rpid"
vx_wait_gone "$PID" 10 || fail "the killed restore's tree is still there"
nft list tables 2>/dev/null | grep -q 'vxcr_img_' || fail "the killed restore removed the kept lock"
nft list tables 2>/dev/null | grep -q 'vxcr_lock_' && fail "the killed restore left its own lock"
sleep 1
restore_bg "$T/img.keep"
go_and_check
check_outside
wait_restore_exit 0
nft list tables 2>/dev/null | grep -q 'vxcr_img_' && fail "the kept network lock is left after the restore"
vx_wait_gone "$PID" 10 || fail "tcpsk-est $PID did not exit after its check"
log "a peer sending across dump and restore: every byte arrived"
rm -f "$OUT"

start_est
dump "$PID" "$T/img" --tcp-established
sum=$(sha256sum <"$T/img")
restore_bg "$T/img"
go_and_check
check_outside
wait_restore_exit 0
[ "$(sha256sum <"$T/img")" = "$sum" ] || fail "vxrestore modified the image"
pass
