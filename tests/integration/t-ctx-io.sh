#!/bin/bash
# A context's io limits (ctx create --limit io.max="MAJ:MIN rbps=N wbps=N"):
# written into the context's v2 group when its parent enables io, else (this
# host) as blkio.throttle.*_device lines of a v1 blkio group <mount>/vxcr/XID
# found from mountinfo.  Hostile --limit texts (a path as device, 0:0, a
# char device, a negative value, an unknown key, a device given twice) are
# refused in one line and leave no group; io.weight is refused in one line
# where no io controller has weights.  A bash loop in the context copies
# 2 MiB with O_DIRECT (dd oflag=direct, then iflag=direct) in a directory
# of the disk's filesystem: at 1 MiB/s each takes about 2 s (enforced);
# ctx info shows the limits, ctx exec joins the group.  The context is dumped and restored: the same
# limits are in force (info, the group's files) and the restored loop is
# throttled again.  Hostile limits texts in the image are refused in one
# line.  The groups go with the context.
. "$(dirname "$0")/ctx-lib.sh"
v1dir() { awk -v c="$1" '{ for (i = 7; $i != "-"; i++) ;
	if ($(i+1) == "cgroup" && index("," $(i+3) ",", "," c ",")) { print $5; exit } }' /proc/self/mountinfo; }
BLK1=$(v1dir blkio)
[ -n "$BLK1" ] && [ -e "$BLK1/blkio.throttle.read_bps_device" ] ||
	skip "no v1 blkio hierarchy with throttling (the v2 io path is not tested here)"
D=$T/io
mkdir "$D" || fail "mkdir $D"
DEV=$(stat -c '%Hd:%Ld' "$D")
FS=$(stat -f -c %T "$D")
[ -e "/sys/dev/block/$DEV" ] && [ ! -e "/sys/dev/block/$DEV/partition" ] ||
	skip "$D is on $DEV ($FS), not a whole disk"
case $FS in tmpfs | ramfs | overlayfs) skip "$D is on $FS, not a disk" ;; esac
vx_case_cleanup()
{
	local d="$BLK1/vxcr/$XID" p
	[ -d "$d" ] || return 0
	for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	sleep 0.2
	rmdir "$d" 2>/dev/null
}
RATE=$((1 << 20)) MIB=2

for bad in "io.max=/dev/vda rbps=1048576|not an io limit" "io.max=0:0 rbps=1048576|not an io limit" \
	"io.max=1:3 rbps=1048576|1:3 is not a block device" "io.max=$DEV rbps=-5|not an io limit" \
	"io.max=$DEV xbps=5|not an io limit" "io.max=$DEV rbps=1,io.max=$DEV rbps=2|given twice" \
	"blkio.throttle.read_bps_device=$DEV 0|not an io limit" \
	"io.weight=100|no io controller with weights" "io.weight=10001|not a weight"; do
	expect_refused_by "--limit ${bad%|*}" "${bad#*|}" "$VXCR" ctx create "$XID" --limit "${bad%|*}" -- true
	[ -d "$BLK1/vxcr/$XID" ] && fail "a refused --limit ${bad%|*} left a group"
done

# dd_loop: on $T/go.N, copies MIB MiB with O_DIRECT out and back, and
# writes "WRITE_NS READ_NS" to $T/io.N
LOOP="n=0; while :; do
	if [ -e $T/go.\$n ]; then
		t0=\$(date +%s%N); dd if=/dev/zero of=$D/f bs=64k count=$((MIB * 16)) oflag=direct 2>/dev/null
		t1=\$(date +%s%N); dd if=$D/f of=/dev/null bs=64k iflag=direct 2>/dev/null
		t2=\$(date +%s%N); rm -f $D/f; echo \$((t1 - t0)) \$((t2 - t1)) >$T/io.\$n; n=\$((n + 1))
	fi
	sleep 0.05; done"
"$VXCR" ctx create "$XID" --limit "io.max=$DEV rbps=$RATE wbps=$RATE riops=max" \
	-- bash -c "$LOOP" </dev/null >"$T/main.out" 2>&1 || fail "ctx create: $(cat "$T/main.out")"
[ "$(cat "$BLK1/vxcr/$XID/blkio.throttle.read_bps_device")" = "$DEV $RATE" ] &&
	[ "$(cat "$BLK1/vxcr/$XID/blkio.throttle.write_bps_device")" = "$DEV $RATE" ] &&
	[ -z "$(cat "$BLK1/vxcr/$XID/blkio.throttle.read_iops_device")" ] ||
	fail "the blkio group's throttle files: $(grep . "$BLK1/vxcr/$XID"/blkio.throttle.*_device)"
"$VXCR" ctx info "$XID" >"$T/info.before" || fail "ctx info"
grep -q "^limits: .*blkio.throttle.write_bps_device=$DEV $RATE" "$T/info.before" ||
	fail "ctx info does not show the io limits: $(cat "$T/info.before")"
log "$(grep '^limits:' "$T/info.before")"
INIT0=$(awk '$1 == "initpid:" {print $2}' "$T/info.before")
"$VXCR" ctx exec "$XID" -- sleep 30 </dev/null >/dev/null 2>&1 &
E=$!
vx_track "$E"
for ((i = 0; i < 50; i++)); do
	for p in $(cat "$BLK1/vxcr/$XID/cgroup.procs"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = sleep ] && break 2
	done
	sleep 0.1
done
[ "$i" -lt 50 ] || fail "ctx exec's task is not in $BLK1/vxcr/$XID"
kill "$p"
wait "$E" 2>/dev/null

# throttled IO: N's times, each at least MIB / RATE * 0.7 seconds
check_io()
{
	local w r min=$((MIB * 700000000))
	touch "$T/go.$1"
	vx_wait_line "$T/io.$1" '^[0-9]+ [0-9]+$' 60 || fail "the loop did no IO ($1)"
	read -r w r <"$T/io.$1"
	[ "$w" -ge "$min" ] && [ "$r" -ge "$min" ] ||
		fail "$2: $MIB MiB written in $((w / 1000000)) ms, read in $((r / 1000000)) ms under $RATE B/s"
	log "$2: $MIB MiB O_DIRECT written at $((MIB * 1000000000 / (w / 1024))) KiB/s, read at" \
		"$((MIB * 1000000000 / (r / 1024))) KiB/s (limit $((RATE >> 10)) KiB/s)"
}
t0=$(date +%s%N)
dd if=/dev/zero of="$D/free" bs=64k count=$((MIB * 16)) oflag=direct 2>/dev/null || fail "dd outside"
t1=$(date +%s%N)
rm -f "$D/free"
log "outside the context: $MIB MiB O_DIRECT written at $((MIB * 1000000000 / ((t1 - t0) / 1024))) KiB/s"
check_io 0 "in the context"

"$VXDUMP" --ctx "$XID" -o "$T/img" >"$T/dump.out" 2>"$T/dump.err" ||
	fail "vxdump --ctx: $(head -n 3 "$T/dump.err")"
vx_wait_gone "$INIT0" 5 || fail "init $INIT0 still there after the dump"
[ -d "$BLK1/vxcr/$XID" ] && fail "the dumped context's blkio group stayed"
"$VXCR" img show "$T/img" | grep -q "blkio.throttle" || fail "the image shows no io limits"
EDIT=$VX_BUILD/tests/fuzz/edit-image
NL=$'\n'
for bad in "io.max=/etc/passwd rbps=1" "io.max=0:0 rbps=1" "io.max=1:3 rbps=1" \
	"blkio.throttle.read_bps_device=$DEV -5" "io.max=$DEV xbps=1" "io.max=99:99 rbps=1" \
	"io.max=$DEV rbps=1$NL$DEV wbps=1" "blkio.throttle.read_bps_device=$DEV 1${NL}7:0 1" \
	"io.weight=0"; do
	"$EDIT" "$T/img" "$T/bad.img" "CONTEXT[0].limits=$bad" || fail "edit-image"
	expect_refused_by "limits '$bad'" "not an io limit|not a block device|not a weight|its limits are not valid" \
		"$VXRESTORE" "$T/bad.img"
	[ -d "$BLK1/vxcr/$XID" ] && fail "a refused restore left a group"
done
"$VXRESTORE" "$T/img" >"$T/restore.out" 2>"$T/restore.err" ||
	fail "vxrestore: $(head -n 3 "$T/restore.err")"
"$VXCR" ctx info "$XID" >"$T/info.after" || fail "ctx info after the restore"
diff <(grep -E '^limits:' "$T/info.before") <(grep -E '^limits:' "$T/info.after") ||
	fail "limits differ after the restore"
LOOPPID=$(for p in $(cat "$BLK1/vxcr/$XID/cgroup.procs"); do
	[ "$(cat /proc/$p/comm)" = bash ] && echo "$p"; done | head -n 1)
[ -n "$LOOPPID" ] || fail "the restored loop is not in $BLK1/vxcr/$XID"
check_io 1 "after the restore"
"$VXCR" ctx kill "$XID" && "$VXCR" ctx wait "$XID" >/dev/null
for ((i = 0; i < 50; i++)); do
	[ -d "$BLK1/vxcr/$XID" ] || break
	sleep 0.1
done
[ "$i" -lt 50 ] || fail "the blkio group stayed after the context ended"
pass
