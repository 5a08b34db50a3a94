#!/bin/bash
# Seccomp filters across a dump, with tests/progs/seccomp.c: two stacked
# filters in the whole process, one thread with a filter of its own, a
# child holding the first filter only (restored before its capabilities
# drop), a child with no_new_privs and one more filter, a main-thread
# filter that kills on rt_sigaction (vxdump must suspend the filters).
#  1. dump + restore: per thread the same Seccomp / Seccomp_filters lines
#     and the same filters byte for byte (tests/progs/seccomp-filters reads
#     them with PTRACE_SECCOMP_GET_FILTER/_GET_METADATA), counters go on,
#     every task and thread sees its blocked calls fail with their errno;
#  2. a thread in SECCOMP_MODE_STRICT: vxdump refuses with one line naming
#     the tid, no image, the target goes on untraced and strict;
#  3. restored filters that refuse (EPERM) or kill vxrestore's last
#     injected call (munmap of its scratch area), with the suspension of
#     the filters switched off (VXCR_TEST_SKIP=seccomp-suspend): the
#     restore fails with one line and leaves no process; the same image
#     then restores with the suspension.
. "$(dirname "$0")/lib.sh"
require_cr
"$VXCR" check >"$T/check.all" 2>&1
grep -Eq '^ok +seccomp-filters' "$T/check.all" ||
	skip "no seccomp filter dump here: $(grep seccomp-filters "$T/check.all")"

# seccomp_state ROOT FILE: one sorted line per thread of the tree (its
# Seccomp and Seccomp_filters lines), then every filter of every thread.
seccomp_state()
{
	local p t tids=""
	for p in $(vx_tree_pids "$1"); do
		for t in /proc/"$p"/task/*; do
			tids="$tids ${t##*/}"
			echo "tid ${t##*/} $(grep -E '^Seccomp(_filters)?:' "$t/status" | tr '\t\n' '  ')"
		done
	done | sort >"$2"
	[ -s "$2" ] || fail "no threads under $1"
	"$PROGS/seccomp-filters" $(awk '{print $2}' "$2") >>"$2" 2>"$T/filters.err" ||
		fail "seccomp-filters: $(cat "$T/filters.err")"
}

# ---- 1. dump and restore ----
start_prog seccomp
vx_tree_snapshot "$PID" "$T/tree.before"
vx_track_tree "$PID"
seccomp_state "$PID" "$T/seccomp.before"
log "tree of $PID: $(vx_tree_summary "$T/tree.before"), $(grep -c ' filter ' "$T/seccomp.before") filters"
grep -q "Seccomp_filters: 3" "$T/seccomp.before" || fail "no thread with 3 filters before the dump"
img=$T/img
dump "$PID" "$img"
vx_tree_gone "$T/tree.before"
"$VXCR" img show "$img" >"$T/img.txt" 2>&1 || fail "vxcr img show failed"
n=$(grep ' SECCOMP ' "$T/img.txt" | grep -o '{id=[0-9]* flags=' | wc -l)
[ "$n" = 5 ] || fail "SECCOMP record holds $n filters, expected 5 distinct ones"
restore_bg "$img"
vx_tree_expect "$T/tree.before" "$PID"
seccomp_state "$PID" "$T/seccomp.after"
if ! cmp -s "$T/seccomp.before" "$T/seccomp.after"; then
	diff "$T/seccomp.before" "$T/seccomp.after" | grep '^[<>]' | cut -c1-150 | head -n 10
	fail "seccomp state differs after the restore"
fi
expect_counting "after the restore"
go_and_check
wait_restore_exit 0
vx_untrack "$PID"

# ---- 2. strict mode is refused ----
rm -f "$OUT"
start_prog seccomp strict
st_tid=$(sed -n 's/^strict //p' "$OUT")
[ -n "$st_tid" ] || fail "seccomp strict did not report its strict thread"
expect_counting "before the dump (strict)"
"$VXDUMP" -o "$T/img.strict" "$PID" >"$T/dump.out" 2>"$T/dump.err"
st=$?
[ "$st" = 1 ] || fail "vxdump of a strict-mode thread exited $st, expected 1"
[ "$(wc -l <"$T/dump.err")" = 2 ] && tail -n 1 "$T/dump.err" | grep -q "cannot be checkpointed" ||
	fail "vxdump (strict): expected the refusal and a summary on stderr, got: $(head -n 5 "$T/dump.err")"
grep -Eq "tid $st_tid([^0-9]|$).*strict" "$T/dump.err" ||
	fail "vxdump (strict): message does not name tid $st_tid: $(cat "$T/dump.err")"
[ ! -e "$T/img.strict" ] || fail "vxdump (strict) left an image behind"
vx_alive "$PID" && [ "$(vx_starttime "$PID")" = "$ORIG_START" ] ||
	fail "target $PID gone after the refused dump"
[ "$(awk '/^TracerPid:/ {print $2}' "/proc/$PID/status")" = 0 ] ||
	fail "target $PID still traced after the refused dump"
grep -q '^Seccomp:[[:space:]]*1$' "/proc/$PID/task/$st_tid/status" ||
	fail "thread $st_tid no longer in strict mode"
expect_counting "after the refused dump (strict)"
log "strict refused: $(cat "$T/dump.err")"
go_and_check
vx_wait_gone "$PID" 10 || fail "$PID (strict) did not exit after its check"
vx_untrack "$PID"

# ---- 3. restored filters that refuse or kill vxrestore's last call ----
for mode in block-munmap kill-munmap; do
	case $mode in
	block-munmap) want='munmap.*Operation not permitted.*seccomp' ;;
	kill-munmap) want='munmap.*seccomp.*SIGSYS' ;;
	esac
	rm -f "$OUT"
	start_prog seccomp "$mode"
	vx_tree_snapshot "$PID" "$T/tree.before"
	vx_track_tree "$PID"
	dump "$PID" "$img"
	vx_tree_gone "$T/tree.before"
	export VXCR_TEST_SKIP=seccomp-suspend
	expect_refused "$img" "$mode without suspension"
	unset VXCR_TEST_SKIP
	grep -Eq "$want" "$T/refused.err" ||
		fail "$mode: message does not match '$want': $(cat "$T/refused.err")"
	vx_tree_gone "$T/tree.before"
	restore_bg "$img"
	vx_tree_expect "$T/tree.before" "$PID"
	go_and_check
	wait_restore_exit 0
	vx_untrack "$PID"
done
pass "filters identical, strict refused, refused/killed calls fail cleanly"
