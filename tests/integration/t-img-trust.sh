#!/bin/bash
# Trust of image files (issue 9.3): vxrestore takes an image file only if
# nobody but root can have written or replaced it.  Refused with one line
# and nothing created: a group-writable image, one owned by another user,
# one in a directory another user owns or anyone may write (not sticky), a
# symlink to a good image.  Accepted: the image as vxdump writes it (0600
# in a 0700 directory under sticky /tmp), any image on stdin (the caller
# chose it), and with --trust-image whatever the file's mode.
. "$(dirname "$0")/lib.sh"
require_cr
start_prog counter
dump "$PID" "$T/img"
sum=$(md5sum <"$T/img")

cp "$T/img" "$T/group.img" && chmod 0660 "$T/group.img"
expect_refused_by "group-writable image" "image $T/group.img: writable by group: refusing \(.*--trusted-keys" \
	"$VXRESTORE" "$T/group.img"
cp "$T/img" "$T/nobody.img" && chown 65534 "$T/nobody.img"
expect_refused_by "image of another user" "owned by uid 65534: refusing" \
	"$VXRESTORE" "$T/nobody.img"
mkdir "$T/theirs" && cp "$T/img" "$T/theirs/img" && chown 65534 "$T/theirs"
expect_refused_by "image in another user's directory" "directory $T/theirs owned by uid 65534" \
	"$VXRESTORE" "$T/theirs/img"
mkdir "$T/open" && cp "$T/img" "$T/open/img" && chmod 0777 "$T/open"
expect_refused_by "image in a world-writable directory" "directory $T/open writable by others" \
	"$VXRESTORE" "$T/open/img"
ln -s "$T/img" "$T/link.img"
expect_refused_by "symlink to an image" "image $T/link.img: a symlink: refusing" \
	"$VXRESTORE" "$T/link.img"
ln -s "$T" "$T/dirlink"
expect_refused_by "image below a symlinked directory" "$T/dirlink is a symlink" \
	"$VXRESTORE" "$T/dirlink/img"
( cd "$T/open" && expect_refused_by "relative path" "directory $T/open writable by others" \
	"$VXRESTORE" img ) || exit 1

# stdin is trusted: the caller opened it
# (a background job reads /dev/null unless told otherwise: not restore_bg)
"$VXRESTORE" - <"$T/open/img" >"$T/restore.out" 2>"$T/restore.err" &
RPID=$!
vx_track "$RPID"
wait_restored
expect_counting "after restore from stdin"
kill -9 "$RPID" 2>/dev/null
vx_untrack "$RPID"
wait "$RPID" 2>/dev/null

# --trust-image: the user vouches for the file
dump "$PID" "$T/img2"
chmod 0666 "$T/img2"
restore_bg --trust-image "$T/img2"
expect_counting "after restore with --trust-image"
go_and_check
wait_restore_exit 0
[ "$(md5sum <"$T/img")" = "$sum" ] || fail "an image changed"
pass
