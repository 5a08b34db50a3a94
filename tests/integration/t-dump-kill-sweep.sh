#!/bin/bash
# vxdump SIGKILLed at each of its ptrace, waitpid/wait4 and
# process_vm_writev calls in turn (before and after each; with and without
# --leave-running), through the LD_PRELOAD shim tests/shim/killshim.so:
# the target (tests/progs/kill-target: integer, AVX, sleeping and blocked
# threads checking themselves) is left alive, untraced, not stopped, with
# every thread's signal mask and the memory map as before, and keeps
# running; a dump that had already completed left a whole image.
. "$(dirname "$0")/lib.sh"
require_cr
[ -f "$VX_BUILD/tests/shim/killshim.so" ] || fail "killshim.so not built"
run_driver kill-sweep.py sweep
result=$DRIVER_RESULT
# the fallback for targets without rt_sigreturn code still dumps and restores
start_prog signals
VXCR_TEST_SKIP=inject-frame dump "$PID" "$T/scratch.img"
restore_bg "$T/scratch.img"
go_and_check
pass "$result"
