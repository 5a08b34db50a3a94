#!/bin/bash
# vxdump --ctx SIGKILLed at each of its ptrace, waitpid/wait4 and
# process_vm_writev calls and cgroup.freeze writes in turn (before and
# after each, through tests/shim/killshim.so) and at its test stages, with
# and without --leave-running, for a paused (SCHED_PAUSE) context and for
# a running one (tests/integration/ctx-pause-kill.py): the context is left
# as it was every time: listed, record unchanged, every thread there and
# untraced; a paused one still frozen with not one instruction of its own
# run, and running again once resumed; a running one making progress.
# VX_CTX_KILL_MODES=paused|running runs one half only.
# About 1600 kills: 95 s on an idle machine, over 180 s while other builds
# share its two cores (the "hang" of issue 16's last check was the driver
# still at work, spawning vxcr, when the 180 s limit struck).
# vx-timeout: 600
. "$(dirname "$0")/ctx-lib.sh"
command -v python3 >/dev/null || skip "needs python3"
require_cr
[ -f "$VX_BUILD/tests/shim/killshim.so" ] || fail "killshim.so not built"
run_driver ctx-pause-kill.py "$XID" "${VX_CTX_KILL_MODES:-both}"
pass "$DRIVER_RESULT"
