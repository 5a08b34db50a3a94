#!/bin/bash
# timerfds (tests/progs/timerfd.c): clocks (MONOTONIC, BOOTTIME, REALTIME,
# REALTIME_ALARM), relative and absolute timers (TFD_TIMER_ABSTIME, with
# TFD_TIMER_CANCEL_ON_SET), periods, disarmed timers, unread expirations
# (TFD_IOC_SET_TICKS), O_NONBLOCK; a periodic timer keeps its rate after
# restore.  A --leave-running dump first (the dump reads the timers
# through its own copy and consumes nothing: the original then passes its
# own checks); hostile edits of that image are refused in one line; then
# a dump and restore.
. "$(dirname "$0")/lib.sh"
require_cr
start_prog timerfd
vx_track_tree "$PID"
dump "$PID" "$T/img.lr" --leave-running
"$VXCR" img show "$T/img.lr" >"$T/show" 2>&1 || fail "vxcr img show failed: $(head -n 3 "$T/show")"
n=$(grep -c 'FILE_TIMERFD' "$T/show")
[ "$n" -eq 9 ] || fail "image shows $n timerfd files, expected 9"

EDIT=$VX_BUILD/tests/fuzz/edit-image
[ -x "$EDIT" ] || fail "$EDIT not built"
i=$(file_index "$T/img.lr" 'p.get("kind") == "FILE_TIMERFD"') || fail "no timerfd record in the image"
"$EDIT" "$T/img.lr" "$T/clock.img" "FILE[$i].timerfd.clockid=5" || fail "edit-image failed"
expect_refused_by "a timerfd on CLOCK_MONOTONIC_COARSE" "timerfd .*clock 5 .*out of range" \
	"$VXRESTORE" "$T/clock.img"
"$EDIT" "$T/img.lr" "$T/sflags.img" "FILE[$i].timerfd.settime_flags=4" || fail "edit-image failed"
expect_refused_by "timerfd settime flags 4" "timerfd .*settime flags 0x4 out of range" \
	"$VXRESTORE" "$T/sflags.img"
"$EDIT" "$T/img.lr" "$T/value.img" "FILE[$i].timerfd.value_ns=0x8000000000000000" ||
	fail "edit-image failed"
expect_refused_by "a timerfd expiry of 2^63 ns" "timerfd .*expiry .*out of range" \
	"$VXRESTORE" "$T/value.img"
"$EDIT" "$T/img.lr" "$T/flags.img" "FILE[$i].flags=0" || fail "edit-image failed"
expect_refused_by "a read-only timerfd" "timerfd .*not a timerfd's" "$VXRESTORE" "$T/flags.img"
i=$(file_index "$T/img.lr" 'p.get("kind") == "FILE_CHR"') || fail "no device record in the image"
"$EDIT" "$T/img.lr" "$T/bare.img" "FILE[$i].kind=15" || fail "edit-image failed"
expect_refused_by "a timerfd without its entry" "has no timerfd entry" "$VXRESTORE" "$T/bare.img"
go_and_check
vx_wait_gone "$PID" 10 || fail "timerfd $PID did not exit after its check"
vx_untrack "$PID"
rm -f "$OUT"
tree_cr_cycle timerfd
