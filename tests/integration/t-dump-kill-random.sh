#!/bin/bash
# vxdump SIGKILLed at 1000 random instants of a dump (VX_KILLS to change
# the count, VX_SEED to replay), half with --leave-running: the target is
# left alive and unharmed every time (see t-dump-kill-sweep.sh for what is
# checked), or the dump had completed with a whole image.
. "$(dirname "$0")/lib.sh"
require_cr
run_driver kill-sweep.py random "${VX_KILLS:-1000}"
pass "$DRIVER_RESULT"
