#!/bin/bash
# A restore of an image cut in half fails with exit status 1 and a one-line
# message and leaves no process with the pid; the whole image still works.
. "$(dirname "$0")/lib.sh"
require_cr
start_prog counter
expect_counting "before dump"
dump "$PID" "$T/img"
size=$(stat -c %s "$T/img")
head -c $((size / 2)) "$T/img" >"$T/short.img"
expect_refused "$T/short.img" "image truncated to $((size / 2)) of $size bytes"
expect_refused /dev/null "empty image"
restore_bg "$T/img"
expect_counting "after restore"
go_and_check
wait_restore_exit 0
pass
