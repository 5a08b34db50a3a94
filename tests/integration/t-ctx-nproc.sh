#!/bin/bash
# INFO_NPROC: a context created with --flags INFO_NPROC --nproc 10 has its
# task limit in the pids controller (v2 group, or a v1 pids group of the
# same name on a hybrid host, holding init, main command and entered
# tasks); a python inside forks until fork fails with EAGAIN, below 10
# tasks in all; info, stat and the record show the limit; INFO_NPROC
# without --nproc, --nproc without INFO_NPROC and changing INFO_NPROC after
# create are refused; the v1 group goes with the context.
. "$(dirname "$0")/ctx-lib.sh"
command -v python3 >/dev/null || skip "needs python3"

"$VXCR" ctx create "$XID" --flags INFO_NPROC -- true 2>"$T/nolimit.err" &&
	fail "INFO_NPROC without --nproc accepted"
grep -q -- "--nproc" "$T/nolimit.err" || fail "refusal without a limit: $(cat "$T/nolimit.err")"
"$VXCR" ctx create "$XID" --nproc 10 -- true 2>"$T/noflag.err" && fail "--nproc without INFO_NPROC accepted"
grep -q INFO_NPROC "$T/noflag.err" || fail "refusal without the flag: $(cat "$T/noflag.err")"

"$VXCR" ctx create "$XID" --flags INFO_NPROC --nproc 10 -- sleep 600 >/dev/null 2>"$T/create.err" ||
	fail "ctx create: $(cat "$T/create.err")"
grep -qx "nproc=10" "$VXCR_RUNDIR/$XID.ctx" || fail "record lacks nproc=10"
"$VXCR" ctx info "$XID" >"$T/info.out" || fail "ctx info failed"
grep -qx "nproc: 10" "$T/info.out" || fail "info does not show the limit: $(cat "$T/info.out")"
INIT=$(awk '$1 == "initpid:" {print $2}' "$T/info.out")
PCG=$(sed -n 's/^pids cgroup: //p' "$T/info.out")
if [ -n "$PCG" ]; then	# hybrid host: the init is in the v1 pids group
	grep -qx "$INIT" "$PCG/cgroup.procs" || fail "init $INIT not in $PCG"
	[ "$(cat "$PCG/pids.max")" = 10 ] || fail "$PCG/pids.max is $(cat "$PCG/pids.max")"
fi
"$VXCR" ctx stat "$XID" | grep -qx "nproc_max: 10" || fail "stat does not show the limit"

fork_inside "$XID"
read -r N ERR <"$T/fork.out"
[ "$ERR" = EAGAIN ] || fail "fork inside failed with '$ERR', expected EAGAIN"
# init, sleep, the entered vxcr and python itself hold 4 of the 10
[ "$N" -ge 1 ] && [ "$N" -le 6 ] || fail "forked $N children under a limit of 10"
log "forked $N children, then EAGAIN"
"$VXCR" ctx flags "$XID" --clear INFO_NPROC 2>"$T/clear.err" && fail "INFO_NPROC cleared after create"
grep -q INFO_NPROC "$T/clear.err" || fail "refusal: $(cat "$T/clear.err")"

"$VXCR" ctx kill "$XID" && "$VXCR" ctx wait "$XID" >/dev/null
for ((i = 0; i < 40; i++)); do [ -e "$VXCR_RUNDIR/$XID.ctx" ] || break; sleep 0.05; done
[ -n "$PCG" ] && [ -d "$PCG" ] && fail "v1 pids group $PCG left behind"
pass "INFO_NPROC: fork stops at the limit ($N + 4 tasks), shown by info/stat"
