#!/bin/bash
# Images whose zstd frames are made of Raw_Blocks (how the dump stores
# frames that do not pay for compression; tests/fuzz/raw-frames rewrites a
# dumped image so): the decompression pool reads their blocks in place.
#  1. restored from a file: every page checked by the program (48 MiB);
#     the image is not modified;
#  2. restored through a pipe (cat | vxrestore -);
#  3. a reserved block type, a block over 128 KiB, a Last_Block too early
#     and a cut inside a block of a frame the pool reads: each refused in
#     one line, nothing left behind, the image unchanged.
. "$(dirname "$0")/lib.sh"
require_cr
RAWF=$VX_BUILD/tests/fuzz/raw-frames
[ -x "$RAWF" ] || fail "$RAWF not built"

# frame_offsets IMG: the body offsets of the image's frames, one a line
# (their headers as raw-frames writes them: 10 bytes, then blocks).
frame_offsets()
{
	python3 - "$1" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
hlen = struct.unpack_from("<I", d, 12)[0]
off = 16 + hlen + 4
while off < len(d):
    print(off)
    assert struct.unpack_from("<I", d, off)[0] == 0xFD2FB528
    p = off + 10
    while True:
        bh = d[p] | d[p + 1] << 8 | d[p + 2] << 16
        p += 3 + (bh >> 3)
        if bh & 1:
            break
    off = p
EOF
}

# patch IMG OFFSET HEXBYTES: writes bytes at OFFSET of a copy $T/bad.img.
patch()
{
	cp "$1" "$T/bad.img"
	printf "$(echo "$3" | sed 's/../\\x&/g')" |
		dd of="$T/bad.img" bs=1 seek="$2" conv=notrunc status=none
}

# 1. from a file
start_prog mig-dirty 48 0
dump "$PID" "$T/z.img"
"$RAWF" "$T/z.img" "$T/raw.img" || fail "raw-frames failed"
nframes=$(frame_offsets "$T/raw.img" | wc -l)
[ "$nframes" -ge 4 ] || fail "only $nframes frames in the image"
sum=$(md5sum <"$T/raw.img")
restore_bg "$T/raw.img"
go_and_check
wait_restore_exit 0
[ "$(md5sum <"$T/raw.img")" = "$sum" ] || fail "vxrestore modified the image"
kill -9 "$PID" 2>/dev/null
vx_wait_gone "$PID" 10 || fail "restored $PID did not end"

# 2. through a pipe
start_prog mig-dirty 48 0
dump "$PID" "$T/z2.img"
"$RAWF" "$T/z2.img" "$T/raw2.img" || fail "raw-frames failed"
( cat "$T/raw2.img" | "$VXRESTORE" - >"$T/restore.out" 2>"$T/restore.err" ) &
RPID=$!
vx_track "$RPID"
wait_restored
go_and_check
wait_restore_exit 0
kill -9 "$PID" 2>/dev/null
vx_wait_gone "$PID" 10 || fail "restored $PID did not end"

# 3. bad block headers and a cut in the third frame (the pool's)
f=$(frame_offsets "$T/raw.img" | sed -n 3p)
bh=$((f + 10))
patch "$T/raw.img" "$bh" 060000	# Block_Type 3, reserved
expect_refused "$T/bad.img" "a reserved block type"
patch "$T/raw.img" "$bh" 080010	# raw, 128 KiB + 1
expect_refused "$T/bad.img" "a block over 128 KiB"
patch "$T/raw.img" "$bh" 010010	# raw, 128 KiB, Last_Block
expect_refused "$T/bad.img" "a Last_Block too early"
head -c $((bh + 3 + 70000)) "$T/raw.img" >"$T/bad.img"
expect_refused "$T/bad.img" "a cut inside a block"
[ "$(md5sum <"$T/raw.img")" = "$sum" ] || fail "the image changed"
pass
