#!/bin/bash
# Connections waiting in listeners' accept queues (tests/progs/tcpsk-acceptq.c):
# six clients of an outside process queued on an IPv4 and a dual-stack
# listener (no bytes, 96, 40000, 496 and a FIN, from ::1, from an
# IPv4-mapped address) that the program accepts only after "go".
# Refused without --tcp-established, naming the listener and the count; a
# --leave-running dump takes each connection out and puts it back, and the
# original then accepts all six in order with their bytes; so does it
# when vxdump is killed while a connection is out of the queue (the forked
# process that holds it puts it back); hostile images are refused in one
# line; then dumped and restored: the restored program accepts them in
# order, each with its bytes, and talks to the outside process.
. "$(dirname "$0")/lib.sh"
require_cr

start_aq()
{
	start_prog tcpsk-acceptq
	O=$(sed -n 's/^outside //p' "$OUT")
	[ -n "$O" ] || fail "tcpsk-acceptq did not report its outside process"
	vx_track "$O"
}

check_outside()
{
	vx_wait_line "$OUT" '^(outside ok|FAIL)' 30 || fail "no result from the outside process"
	grep -q '^outside ok' "$OUT" || fail "outside: $(grep '^FAIL' "$OUT" | head -n 1)"
	vx_wait_gone "$O" 10 || fail "outside process $O did not exit"
}

finish_case()
{
	go_and_check
	check_outside
	vx_wait_gone "$PID" 10 || fail "tcpsk-acceptq $PID did not exit after its check"
	rm -f "$OUT"
}

start_aq
"$VXDUMP" -o "$T/refused.img" "$PID" >"$T/refused.out" 2>"$T/refused.err"
[ $? = 1 ] || fail "vxdump without --tcp-established did not fail"
grep -Eq "fd [0-9]+: listening, with 4 connections in its accept queue: dump with --tcp-established" "$T/refused.err" ||
	fail "no refusal naming the IPv4 listener: $(head -n 3 "$T/refused.err")"
grep -Eq "fd [0-9]+: listening, with 2 connections in its accept queue: dump with --tcp-established" "$T/refused.err" ||
	fail "no refusal naming the IPv6 listener: $(head -n 3 "$T/refused.err")"
vx_alive "$PID" || fail "the refused dump killed the target"

# --leave-running: every connection taken out, read and put back
dump "$PID" "$T/img.lr" --leave-running --tcp-established
n=$("$VXCR" img json "$T/img.lr" | python3 -c '
import json, sys
recs = [r["payload"] for r in json.load(sys.stdin)["records"] if r["type"] == "FILE"]
print(" ".join(str(len(p["tcpsk"].get("accept_queue", []))) for p in recs
	       if p.get("kind") == "FILE_TCPSK" and p["tcpsk"].get("state") == 10))')
[ "$n" = "4 2" ] || fail "image accept queues hold '$n' connections, expected '4 2'"
hostile() { refused_edit "$T/img.lr" "$@"; }
i=$(file_index "$T/img.lr" 'p.get("kind") == "FILE_TCPSK" and len(p["tcpsk"].get("accept_queue", [])) == 4') ||
	fail "no listener with 4 queued connections in the image"
hostile "a queue length that is not its records'" "bytes queued, its accept queue says" \
	"FILE[$i].tcpsk.accept_queue[2].conn.inq_len=7"
hostile "a connection on another port" "does not fit the listener" \
	"FILE[$i].tcpsk.accept_queue[1].local.port=1"
hostile "mss 1" "does not fit the listener or is out of range" \
	"FILE[$i].tcpsk.accept_queue[0].conn.mss=1"
hostile "bytes to send" "does not fit the listener or is out of range" \
	"FILE[$i].tcpsk.accept_queue[0].conn.outq_len=5"
hostile "an accept queue on a bound socket" "not listening|does not fit the socket" "FILE[$i].tcpsk.state=7"
finish_case

# vxdump killed while a connection is out of the queue: the forked process
# holding it puts it back, and the rest
start_aq
VXCR_TEST_PAUSE=tcpsk-acceptq VXCR_TEST_PAUSE_MS=1500 VXCR_LOG=2 "$VXDUMP" --tcp-established \
	-o "$T/img.killed" "$PID" >"$T/killed.out" 2>"$T/killed.err" &
dpid=$!
vx_track "$dpid"
vx_wait_line "$T/killed.err" "paus(e|ing).*tcpsk-acceptq" 20 ||
	fail "vxdump did not pause at tcpsk-acceptq: $(head -n 2 "$T/killed.err")"
kill -9 "$dpid"
wait "$dpid" 2>/dev/null
vx_untrack "$dpid"
sleep 12	# six connections, 1.5 s each
nft list ruleset 2>/dev/null | grep -q vxcr_lock && fail "a network lock is left after the killed vxdump"
finish_case
log "vxdump killed with a connection out of the queue: all six were accepted"

start_aq
dump "$PID" "$T/img" --tcp-established
sum=$(sha256sum <"$T/img")
restore_bg "$T/img"
finish_case
wait_restore_exit 0
[ "$(sha256sum <"$T/img")" = "$sum" ] || fail "vxrestore modified the image"
pass
