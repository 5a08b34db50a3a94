#!/bin/bash
# io settings of a tree's groups (record LIMITS) on this host's v1 blkio
# hierarchy (found from /proc/self/mountinfo): the child of
# tests/progs/cgio sits in a sub-group whose blkio.throttle.{read,write}_
# bps_device limit the disk of the test's directory to 1 MiB/s.  Dumped
# below P/a, restored below P/b with --manage-cgroups: the group is made
# with the dumped lines (one "MAJ:MIN N" line written at a time, read back
# normalised) before the child joins it, and the child's O_DIRECT copy is
# throttled after the restore.  Hostile settings (a device that is not a
# block device here, a char device, 0:0, a path, a negative value, a
# device twice, a statistics file) are refused in one line, no group made.
# A group that exists already is not written (a warning names the file).
. "$(dirname "$0")/lib.sh"
require_cr

M=$(cg_mount blkio) && [ -n "$M" ] && [ -e "$M/blkio.throttle.read_bps_device" ] ||
	skip "no v1 blkio hierarchy with throttling"
O=$(cg_own blkio)
[ -n "$O" ] || skip "the v1 blkio hierarchy is shared with another controller"
P=$M${O%/}/vxcr-io.$$
D=$T/io
mkdir "$D" || fail "mkdir $D"
DEV=$(stat -c '%Hd:%Ld' "$D")
[ -e "/sys/dev/block/$DEV" ] && [ ! -e "/sys/dev/block/$DEV/partition" ] ||
	skip "$D is on $DEV, not a whole disk"
case $(stat -f -c %T "$D") in tmpfs | ramfs | overlayfs) skip "$D is not on a disk" ;; esac
RATE=$((1 << 20)) MIB=2

vx_case_cleanup()
{
	local p
	echo $$ >"$M${O%/}/cgroup.procs" 2>/dev/null
	for p in $VX_PIDS; do kill -9 "$p" 2>/dev/null; done
	for p in $VX_PIDS; do vx_wait_gone "$p" 5; done
	[ -d "$P" ] && find "$P" -depth -type d -exec rmdir {} \; 2>/dev/null
	[ -d "$P" ] && echo "# could not remove $P"
}

mkdir -p "$P/a/io" "$P/b" || fail "mkdir $P"
echo "$DEV $RATE" >"$P/a/io/blkio.throttle.read_bps_device" &&
	echo "$DEV $RATE" >"$P/a/io/blkio.throttle.write_bps_device" &&
	echo "$DEV 5000" >"$P/a/io/blkio.throttle.write_iops_device" || fail "cannot set the limits"
# a second disk (loop, zram) gives a value of two lines
for d in /sys/dev/block/*; do
	[ "${d##*/}" != "$DEV" ] && [ ! -e "$d/partition" ] || continue
	echo "${d##*/} 100" >"$P/a/io/blkio.throttle.write_iops_device" 2>/dev/null && break
done
echo $$ >"$P/a/cgroup.procs" || fail "cannot join $P/a"
start_prog cgio "$D" $MIB $RATE
read -r _ KID < <(grep '^kid ' "$OUT")
echo "$KID" >"$P/a/io/cgroup.procs" || fail "cannot move the child"
vx_track_tree "$PID"
files="blkio.throttle.read_bps_device blkio.throttle.write_bps_device
	blkio.throttle.read_iops_device blkio.throttle.write_iops_device"
for f in $files; do echo "$f $(sort "$P/a/io/$f" | tr "\n" " ")"; done >"$T/values.a"
dump "$PID" "$T/img"
"$VXCR" img show "$T/img" >"$T/show" 2>&1 || fail "vxcr img show failed"
grep -q 'blkio.throttle.read_bps_device' "$T/show" || fail "image shows no io setting"
sum=$(sha256sum <"$T/img")

echo $$ >"$P/b/cgroup.procs" || fail "cannot join $P/b"
guard_allow 'cgroup.*' "restored below P/b by design (dumped below P/a); the groups are checked here"
idx=$(limits_idx "$T/img" blkio.throttle.read_bps_device)
[ -n "$idx" ] || fail "no read_bps_device setting found in the image's json"
EDIT=$VX_BUILD/tests/fuzz/edit-image
NL=$'\n'
for e in "value=99:99 1048576|device 99:99, which is not a block device here" \
	"value=1:3 1048576|device 1:3, which is not a block device here" \
	"value=0:0 1048576|value is not valid" "value=/dev/vda 1048576|value is not valid" \
	"value=$DEV -5|value is not valid" "value=$DEV 5${NL}$DEV 6|value is not valid" "value=$DEV 5${NL}|value is not valid" \
	"value=$DEV 0|value is not valid" "file=blkio.throttle.io_service_bytes|not a known file"; do
	"$EDIT" "$T/img" "$T/bad.img" "LIMITS[0].settings[$idx].${e%%|*}" || fail "edit-image ${e%%|*}"
	expect_refused_by "a setting edited to ${e%%|*}" "${e#*|}" \
		"$VXRESTORE" --manage-cgroups "$T/bad.img"
	find "$P/b" -mindepth 1 -type d | grep -q . && fail "a refused restore made a group in $P/b"
done

restore_bg -v --manage-cgroups "$T/img"
log "time of the settings: $(grep -o '[0-9]* settings in [0-9.]* us' "$T/restore.err" | tr '\n' ' ')"
for f in $files; do echo "$f $(sort "$P/b/io/$f" | tr "\n" " ")"; done >"$T/values.b"
diff "$T/values.a" "$T/values.b" >"$T/values.diff" || fail "settings differ: $(cat "$T/values.diff")"
log "settings restored: $(tr '\n' ' ' <"$T/values.b")"
grep -qx "[0-9]*:blkio:${P#$M}/b/io" /proc/$KID/cgroup ||
	fail "child $KID not in b/io: $(grep blkio /proc/$KID/cgroup)"
go_and_check
log "$(grep '^rates' "$OUT")"
wait_restore_exit 0
[ "$(sha256sum <"$T/img")" = "$sum" ] || fail "vxrestore modified the image"
vx_wait_gone "$PID" 10 || fail "cgio $PID did not exit after its check"

# a group that exists already is not written: its (empty) files stay, a warning says so
mkdir -p "$P/c/io" || fail "mkdir $P/c/io"
echo $$ >"$P/c/cgroup.procs" || fail "cannot join $P/c"
restore_bg "$T/img"
[ -z "$(cat "$P/c/io/blkio.throttle.read_bps_device")" ] || fail "an existing group's throttle was written"
grep -q "blkio.throttle.read_bps_device differs here from the image (not written" "$T/restore.err" ||
	fail "no warning for an existing group's other io setting: $(head -n 3 "$T/restore.err")"
kill -9 "$PID" 2>/dev/null
wait_restore_exit 137
pass
