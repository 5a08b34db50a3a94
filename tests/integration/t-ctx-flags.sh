#!/bin/bash
# Context flags: INFO_PRIVATE refuses exec; PERSISTENT keeps a context whose
# tasks are all gone until the flag is cleared (then it ends, wait gives the
# main command's exit code); HIDE_NETIF gives a network namespace with only
# lo, up; VIRT_UPTIME starts the context's uptime near 0; unknown and
# unsupported flags (SC_HELPER: kernel module) are refused by name.  uname
# --set NODENAME works from outside, RELEASE is refused (needs the kernel
# module).
. "$(dirname "$0")/ctx-lib.sh"
"$VXCR" ctx create "$XID" --flags INFO_PRIVATE,HIDE_NETIF,VIRT_UPTIME -- sleep 600 \
	>/dev/null 2>"$T/create.err" || fail "ctx create: $(cat "$T/create.err")"
"$VXCR" ctx exec "$XID" -- true 2>"$T/priv.err" && fail "exec into INFO_PRIVATE allowed"
grep -q INFO_PRIVATE "$T/priv.err" || fail "refusal does not name INFO_PRIVATE: $(cat "$T/priv.err")"
"$VXCR" ctx flags "$XID" --clear INFO_PRIVATE >/dev/null || fail "clear INFO_PRIVATE failed"
"$VXCR" ctx exec "$XID" -- cat /proc/net/dev >"$T/netdev.out" || fail "exec after clear failed"
[ "$(grep -c ':' "$T/netdev.out")" = 1 ] && grep -q '^ *lo:' "$T/netdev.out" ||
	fail "HIDE_NETIF: interfaces inside: $(grep ':' "$T/netdev.out" | cut -d: -f1 | tr -d ' ' | tr '\n' ' ')"
UP=$("$VXCR" ctx exec "$XID" -- cat /proc/uptime | cut -d. -f1)
[ "$UP" -lt 30 ] || fail "VIRT_UPTIME: uptime inside is $UP s"
"$VXCR" ctx flags "$XID" --set FOO 2>"$T/foo.err" && fail "unknown flag accepted"
grep -q "FOO" "$T/foo.err" || fail "refusal does not name FOO"
"$VXCR" ctx flags "$XID" --set SC_HELPER 2>"$T/sch.err" && fail "SC_HELPER accepted"
[ "$(wc -l <"$T/sch.err")" = 1 ] && grep -q "SC_HELPER: needs the kernel module" "$T/sch.err" ||
	fail "SC_HELPER refusal: $(cat "$T/sch.err")"
"$VXCR" ctx flags "$XID" --clear HIDE_NETIF 2>/dev/null && fail "HIDE_NETIF cleared after create"
"$VXCR" ctx uname "$XID" --set NODENAME=renamed || fail "uname --set NODENAME failed"
"$VXCR" ctx uname "$XID" | grep -qx NODENAME=renamed || fail "uname does not show the new nodename"
"$VXCR" ctx uname "$XID" --set RELEASE=9.9 2>"$T/rel.err" && fail "RELEASE accepted"
grep -q "kernel module" "$T/rel.err" || fail "RELEASE refusal: $(cat "$T/rel.err")"
"$VXCR" ctx kill "$XID" && "$VXCR" ctx wait "$XID" >/dev/null

X2=$((XID + 1))
"$VXCR" ctx create "$X2" --flags PERSISTENT -- sh -c 'exit 3' >/dev/null 2>"$T/create.err" ||
	fail "create PERSISTENT: $(cat "$T/create.err")"
sleep 1
"$VXCR" ctx list | grep -q "^$X2 " || fail "PERSISTENT context ended with its last task"
"$VXCR" ctx stat "$X2" | grep -qx 'tasks: 1' || fail "PERSISTENT context: tasks other than init"
"$VXCR" ctx flags "$X2" --clear PERSISTENT >/dev/null || fail "clear PERSISTENT failed"
"$VXCR" ctx wait "$X2" >"$T/wait.out"
[ "$(cat "$T/wait.out")" = 3 ] || fail "wait printed '$(cat "$T/wait.out")', expected 3"
pass "INFO_PRIVATE, PERSISTENT, HIDE_NETIF, VIRT_UPTIME, refusals"
