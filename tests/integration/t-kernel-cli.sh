#!/bin/bash
# vxdump/vxrestore --kernel without the kernel module (the host has no
# module support; VXCR_VSERVER_DEV empty sets a device aside too): one line
# saying the module is needed, exit 1, no image written, the target left
# running; options --kernel cannot honour are refused by name (exit 2).
# The module's own path is tested in the QEMU guest
# (tests/kernel/k-cli-kernel.sh).
. "$(dirname "$0")/lib.sh"
[ -x "$VXDUMP" ] || fail "$VXDUMP not built"
sleep 1000 &
spid=$!
vx_track $spid
for dev in "" /nonexistent/vserver; do
	VXCR_VSERVER_DEV=$dev "$VXDUMP" --kernel -o "$T/k.img" $spid >"$T/out" 2>&1
	st=$?
	[ $st = 1 ] || fail "vxdump --kernel (VXCR_VSERVER_DEV='$dev'): exit $st: $(cat "$T/out")"
	[ "$(wc -l <"$T/out")" = 1 ] || fail "vxdump --kernel: not one line: $(cat "$T/out")"
	grep -q "^vxcr: dump: --kernel needs the kernel module vxcr.ko (" "$T/out" ||
		fail "vxdump --kernel: $(cat "$T/out")"
	[ ! -e "$T/k.img" ] || fail "an image was written"
	vx_alive $spid || fail "the target is gone"
	grep -q '^State:.*S' /proc/$spid/status || fail "the target is not running: $(grep State /proc/$spid/status)"
	grep -q '^TracerPid:[[:space:]]*0$' /proc/$spid/status || fail "the target is traced"
	VXCR_VSERVER_DEV=$dev "$VXRESTORE" --kernel /nonexistent.img >"$T/out" 2>&1
	st=$?
	[ $st = 1 ] && [ "$(wc -l <"$T/out")" = 1 ] &&
		grep -q "^vxcr: restore: --kernel needs the kernel module vxcr.ko (" "$T/out" ||
		fail "vxrestore --kernel (VXCR_VSERVER_DEV='$dev'): exit $st: $(cat "$T/out")"
done
if [ ! -e /dev/vserver ]; then
	"$VXDUMP" --kernel -o "$T/k.img" $spid >"$T/out" 2>&1
	grep -qx "vxcr: dump: --kernel needs the kernel module vxcr.ko (/dev/vserver)" "$T/out" ||
		fail "no /dev/vserver: $(cat "$T/out")"
fi
for opt in "--sign $T/key" "--compress zstd" "--zstd-level 3" "--tcp-established" \
	"--parent $T/p.img" "--stats" "--no-cow"; do
	"$VXDUMP" --kernel $opt -o "$T/k.img" $spid >"$T/out" 2>&1
	st=$?
	[ $st = 2 ] && [ "$(wc -l <"$T/out")" = 1 ] &&
		grep -q -- "--kernel cannot honour ${opt%% *} " "$T/out" ||
		fail "vxdump --kernel $opt: exit $st: $(cat "$T/out")"
done
"$VXDUMP" --kernel-store libs -o "$T/k.img" $spid >"$T/out" 2>&1
[ $? = 2 ] && grep -q -- "--kernel-store needs --kernel" "$T/out" || fail "--kernel-store alone: $(cat "$T/out")"
[ ! -e "$T/k.img" ] || fail "an image was written"
pass "no module: one line, exit 1, the target untouched; options refused by name"
