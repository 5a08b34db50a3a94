#!/bin/bash
# Signed images (issue 9.3): vxcr key new, vxdump --sign, vxcr img verify
# and vxrestore --trusted-keys.  A signed image restores from anywhere (the
# file rule does not apply) and the process checks its memory itself.
# Refused with one line, nothing left behind, image unchanged: an unsigned
# image, one signed by a key that is not trusted, a flipped page byte and
# two swapped records (framing and crcs repaired, so only the signature
# can tell; the page flip is found at the final signature, after the pages
# went into the stopped process).
. "$(dirname "$0")/lib.sh"
require_cr
EDIT="python3 $VX_ROOT/tests/integration/img-edit.py"
mkdir "$T/keys" "$T/trusted" "$T/other"
"$VXCR" key new "$T/keys/alice" >"$T/key.out" || fail "vxcr key new failed"
grep -Eq '^.*alice.key \(secret\) and .*alice.pub \(public\): key [0-9a-f]{16}$' "$T/key.out" ||
	fail "vxcr key new said: $(cat "$T/key.out")"
"$VXCR" key new "$T/keys/mallory" >/dev/null || fail "vxcr key new mallory failed"
[ "$(stat -c %a "$T/keys/alice.key")" = 600 ] || fail "secret key is not 0600"
expect_refused_by "key new over an existing key" "alice.key: File exists" \
	"$VXCR" key new "$T/keys/alice"
cp "$T/keys/alice.pub" "$T/trusted/" && cp "$T/keys/mallory.pub" "$T/other/"
chmod 0644 "$T/keys/mallory.key"
expect_refused_by "readable secret key" "mallory.key: readable or writable by group or others: refusing" \
	"$VXDUMP" --sign "$T/keys/mallory.key" -o "$T/x.img" 1
chmod 0600 "$T/keys/mallory.key"

start_prog memory
dump "$PID" "$T/unsigned.img" --leave-running --compress none
dump "$PID" "$T/raw.img" --leave-running --compress none --sign "$T/keys/alice.key"
dump "$PID" "$T/mallory.img" --leave-running --sign "$T/keys/mallory.key"
dump "$PID" "$T/img" --sign "$T/keys/alice.key"
$EDIT flip-page "$T/raw.img" "$T/flip.img" || fail "img-edit flip-page failed"
$EDIT swap "$T/raw.img" "$T/swap.img" || fail "img-edit swap failed"
"$VXCR" img verify "$T/flip.img" >/dev/null || fail "the flipped image should pass the unsigned checks"
sum=$(md5sum "$T"/*.img)

"$VXCR" img verify --trusted-keys "$T/trusted" "$T/img" >"$T/verify.out" ||
	fail "img verify of the signed image failed: $(cat "$T/verify.out")"
grep -Eq '^signed by alice \(key [0-9a-f]{16}\): good signature$' "$T/verify.out" ||
	fail "img verify said: $(cat "$T/verify.out")"
"$VXCR" img verify "$T/img" | grep -q "not checked" || fail "img verify without keys"
expect_refused_by "img verify, untrusted key" "signed by key [0-9a-f]{16}, which is not in" \
	"$VXCR" img verify --trusted-keys "$T/other" "$T/img"
expect_refused_by "img verify, flipped page byte" "signature does not match the image" \
	"$VXCR" img verify --trusted-keys "$T/trusted" "$T/flip.img"

expect_refused_by "unsigned image" "image: not signed" \
	"$VXRESTORE" --trusted-keys "$T/trusted" "$T/unsigned.img"
expect_refused_by "image signed by an untrusted key" "signed by key [0-9a-f]{16}, which is not in" \
	"$VXRESTORE" --trusted-keys "$T/trusted" "$T/mallory.img"
expect_refused_by "flipped page byte" "SIGNATURE.*signature does not match the image" \
	"$VXRESTORE" --trusted-keys "$T/trusted" "$T/flip.img"
expect_refused_by "swapped records" "SIGNATURE.*signature does not match the image" \
	"$VXRESTORE" --trusted-keys "$T/trusted" "$T/swap.img"
expect_refused_by "empty trusted-keys directory" "no NAME.pub key" \
	"$VXRESTORE" --trusted-keys "$T/keys/.." "$T/img"
[ "$(md5sum "$T"/*.img)" = "$sum" ] || fail "an image changed"

# the signature stands in for the file rule: a group-writable signed image
chmod 0664 "$T/img"
restore_bg --trusted-keys "$T/trusted" "$T/img"
go_and_check
wait_restore_exit 0
pass
