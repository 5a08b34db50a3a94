#!/bin/bash
# A context with a network of its own: vxcr ctx create --net
# veth:HOST,addr=A/P,host-addr=B/P gives it a namespace with lo up and eth0,
# a veth whose other end (HOST, named with $$) is here with B.  Host and
# context reach each other (a TCP connect answered by a reset: no ping on
# this machine) before and after a checkpoint/restart of the whole
# context; the dump removes the host end with the context, the restore
# makes it again with its address; ctx info shows the --net spec before and
# after.  A --net without its flag's use or with a bad spec is refused at
# create; a name taken on the host is refused and leaves nothing.
. "$(dirname "$0")/ctx-lib.sh"
command -v python3 >/dev/null || skip "python3 not installed"
H=vxc$$
N=$(( $$ % 250 + 1 ))
A=10.201.$N.2 B=10.201.$N.1
vx_case_cleanup() { ip link del "$H" 2>/dev/null; true; }

# reach ADDR [XID]: a TCP connect to ADDR port 1 (from inside XID if given)
# is refused in 2 s: the other side answered
reach()
{
	local code='
import socket, sys
try:
    socket.create_connection((sys.argv[1], 1), 2)
except ConnectionRefusedError:
    sys.exit(0)
except OSError:
    sys.exit(1)'
	if [ -n "${2:-}" ]; then
		"$VXCR" ctx exec "$2" -- python3 -S -c "$code" "$1"
	else
		/usr/bin/python3 -S -c "$code" "$1"
	fi
}

"$VXCR" ctx create "$XID" --net "tap:$H" -- true 2>"$T/bad.err" && fail "--net tap accepted"
grep -q "only veth" "$T/bad.err" || fail "--net tap: $(cat "$T/bad.err")"
"$VXCR" ctx create "$XID" --net "veth:$H,addr=10.1.2.3" -- true 2>"$T/bad.err" &&
	fail "--net without a prefix length accepted"
"$VXCR" ctx create "$XID" --net "veth:a/b" -- true 2>"$T/bad.err" && fail "--net veth:a/b accepted"
ip link show "$H" >/dev/null 2>&1 && fail "a refused create left $H"

SPEC="veth:$H,addr=$A/24,host-addr=$B/24"
"$VXCR" ctx create "$XID" --flags PERSISTENT --net "$SPEC" -- \
	sh -c 'while :; do sleep 0.2; done' >"$T/create.out" 2>"$T/create.err" ||
	fail "ctx create: $(cat "$T/create.err")"
"$VXCR" ctx info "$XID" >"$T/info.before"
grep -qx "net: $SPEC" "$T/info.before" || fail "ctx info lacks the net line: $(cat "$T/info.before")"
grep -q HIDE_NETIF "$T/info.before" || fail "--net did not set HIDE_NETIF"
INIT=$(awk '$1 == "initpid:" {print $2}' "$T/info.before")
ip -br addr show "$H" | grep -q "$B/24" || fail "host end $H lacks $B: $(ip -br addr show "$H")"
nsenter -t "$INIT" -n ip -br addr show eth0 | grep -q "$A/24" || fail "eth0 inside lacks $A"
nsenter -t "$INIT" -n ip -br link show lo | grep -q UP || fail "lo is not up inside"
reach "$A" || fail "the context does not answer from the host"
reach "$B" "$XID" || fail "the host does not answer from the context"

"$VXDUMP" --ctx "$XID" -o "$T/img" 2>"$T/dump.err" || fail "vxdump --ctx: $(cat "$T/dump.err")"
"$VXCR" img show "$T/img" | grep -q "NETNS .*name=\"$H\"" || fail "no host end in the NETNS record"
for ((i = 0; i < 100; i++)); do
	ip link show "$H" >/dev/null 2>&1 || break
	sleep 0.05
done
ip link show "$H" >/dev/null 2>&1 && fail "host end $H outlives the dumped context"
cp "$T/img" "$T/img.orig"

t0=$(date +%s%N)
"$VXRESTORE" "$T/img" 2>"$T/restore.err" || fail "vxrestore: $(cat "$T/restore.err")"
t1=$(date +%s%N)
"$VXCR" ctx info "$XID" >"$T/info.after"
diff <(grep -v '^\(initpid\|supervisor\):' "$T/info.before") \
	<(grep -v '^\(initpid\|supervisor\):' "$T/info.after") >"$T/info.diff" ||
	fail "ctx info changed: $(tr '\n' ' ' <"$T/info.diff")"
INIT=$(awk '$1 == "initpid:" {print $2}' "$T/info.after")
ip -br addr show "$H" | grep -q "$B/24" || fail "host end $H after restore: $(ip -br addr show "$H" 2>&1)"
nsenter -t "$INIT" -n ip -br addr show eth0 | grep -q "$A/24" || fail "eth0 inside lacks $A after restore"
reach "$A" || fail "the context does not answer from the host after restore"
reach "$B" "$XID" || fail "the host does not answer from the context after restore"
cmp -s "$T/img" "$T/img.orig" || fail "restore changed the image"

# a second restore while it lives: refused (the xid is live), nothing left
"$VXRESTORE" "$T/img" 2>"$T/again.err" && fail "a second restore succeeded"
[ "$(wc -l <"$T/again.err")" = 1 ] || fail "second restore: $(cat "$T/again.err")"
"$VXCR" ctx kill "$XID" || fail "ctx kill failed"
"$VXCR" ctx wait "$XID" >/dev/null
for ((i = 0; i < 100; i++)); do
	ip link show "$H" >/dev/null 2>&1 || break
	sleep 0.05
done
ip link show "$H" >/dev/null 2>&1 && fail "host end $H outlives the killed context"

# the host end's name taken here: the restore is refused in one line, the
# name's link is left alone, no context remains
ip link add "$H" type veth peer name "${H}p" || fail "cannot make $H"
"$VXRESTORE" "$T/img" 2>"$T/taken.err" && fail "restore with $H taken succeeded"
[ "$(wc -l <"$T/taken.err")" = 1 ] && grep -q "$H exists already" "$T/taken.err" ||
	fail "restore with $H taken: $(cat "$T/taken.err")"
ip link show "${H}p" >/dev/null 2>&1 || fail "the refused restore touched $H"
"$VXCR" ctx list | awk '{print $1}' | grep -qx "$XID" && fail "a refused restore left the context"
ip link del "$H"
pass "restore with its network in $(( (t1 - t0) / 1000000 )) ms"
