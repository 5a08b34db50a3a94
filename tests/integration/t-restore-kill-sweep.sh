#!/bin/bash
# vxrestore SIGKILLed at each of its ptrace, waitpid/wait4 and
# process_vm_writev calls in turn (before and after each, through
# tests/shim/killshim.so) and at each stage (VXCR_TEST_PAUSE), restoring
# fds (files, FIFO, deleted file, pipes), tree-basic (7 processes),
# sysv-shm (a segment it creates) and ipcns (its own IPC namespace, also
# killed once vxrestore built it): no process of the image, SysV segment or
# new file is left, and the image is unchanged (tests/integration/
# restore-kill.py).
. "$(dirname "$0")/lib.sh"
require_cr
run_driver restore-kill.py sweep
pass "$DRIVER_RESULT"
