#!/bin/bash
# vxrestore SIGKILLed at 500 random instants (VX_KILLS to change, VX_SEED
# to replay) of restores of the images of t-restore-kill-sweep.sh: nothing
# is left behind and the images are unchanged.
. "$(dirname "$0")/lib.sh"
require_cr
run_driver restore-kill.py random "${VX_KILLS:-500}"
pass "$DRIVER_RESULT"
