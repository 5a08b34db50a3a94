#!/bin/sh
# Compiles tests/header/image-h.c with only the kernel's uapi headers on the
# include path (-nostdinc -ffreestanding): lib/include/vxcr/image.h must
# build without libc or protobuf-c, as kernel/ will include it.
#
# Usage: tests/header/check.sh CC OUT.o
set -eu
cd "$(dirname "$0")/../.."
CC=$1
OUT=$2
UAPI=$OUT.uapi

rm -rf "$UAPI"
mkdir -p "$UAPI"
# Link linux/, asm/ and asm-generic/ from wherever this compiler finds them
# (asm/ is under the multiarch directory on Debian).
for h in linux/types.h asm/types.h asm-generic/types.h; do
	top=${h%%/*}
	path=$(printf '#include <%s>\n' "$h" | $CC -M -x c - |
	       tr ' \\' '\n\n' | grep "/$h\$" | head -n 1)
	[ -n "$path" ] || { echo "check.sh: no <$h> for $CC" >&2; exit 1; }
	ln -s "${path%/"$h"}/$top" "$UAPI/$top"
done
$CC -std=c11 -Wpedantic -Wall -Wextra -Werror -ffreestanding -nostdinc \
	-isystem "$UAPI" -Ilib/include -c tests/header/image-h.c -o "$OUT"
