#!/bin/bash
# The kernel module's tests (make check-kernel): builds vxcr.ko against the
# Debian 6.1 headers of the newest /boot/vmlinuz-6.1.* that has them, packs an
# initramfs (busybox, the module, vxcr with its libraries, the test
# programs, every tests/kernel/k-*.sh), boots that kernel under QEMU (TCG)
# and reads the guest's verdict from the serial console (tests/kernel/init.sh
# runs the tests inside).
#
# Usage: tests/kernel/run.sh [BUILD]     (BUILD: the build tree, default build)
# Environment:
#   VXK_TESTS         which tests run: shell patterns on the name, comma
#                     separated (k-ctx-*,k-base-switch), default every k-*
#   VXK_TIMEOUT       seconds the whole boot may take (default 900)
#   VXK_TEST_TIMEOUT  seconds one test may take inside (default 180)
#   VXK_KEEP          non-empty: keep the temporary directory (initramfs)
#
# Prints the guest's console, then the verdict; exit 0 only if the guest
# said "N passed, 0 failed" with N > 0.  A missing QEMU, kernel image or
# headers, a module build that fails or warns, a guest that crashed or did
# not finish in VXK_TIMEOUT: exit 1.  Log: BUILD/test-logs/kernel.log.
#
# Not to be run under the build lock by a caller that holds it with flock
# without -o (this script takes no lock itself).

set -u
cd "$(dirname "$0")/../.." || exit 2
BUILD=$(cd "${1:-build}" 2>/dev/null && pwd) || {
	echo "check-kernel: no build tree ${1:-build} (run make first)" >&2
	exit 1
}
TESTS=${VXK_TESTS:-k-*}
TIMEOUT=${VXK_TIMEOUT:-900}
TEST_TIMEOUT=${VXK_TEST_TIMEOUT:-180}
LOG=$BUILD/test-logs/kernel.log

die()
{
	echo "check-kernel: $*" >&2
	exit 1
}

case $TESTS in *[!A-Za-z0-9_*?.,-]*) die "VXK_TESTS: only letters, digits, - _ . * ? , ($TESTS)" ;; esac
case $TIMEOUT$TEST_TIMEOUT in *[!0-9]*) die "VXK_TIMEOUT, VXK_TEST_TIMEOUT: seconds" ;; esac

QEMU=$(command -v qemu-system-x86_64) || die "qemu-system-x86_64 missing (contrib/install-deps.sh)"
# the newest 6.1 kernel image whose headers are installed too
KIMG=""
# shellcheck disable=SC2012
for k in $(ls -d /boot/vmlinuz-6.1.* 2>/dev/null | sort -rV); do
	[ -d "/usr/src/linux-headers-${k#/boot/vmlinuz-}" ] && KIMG=$k && break
done
[ -n "$KIMG" ] || die "no /boot/vmlinuz-6.1.* with its headers (contrib/install-deps.sh installs Debian's)"
[ -r "$KIMG" ] || die "$KIMG is not readable (run as root)"
KVER=${KIMG#/boot/vmlinuz-}
KDIR=/usr/src/linux-headers-$KVER
[ -x "$BUILD/bin/vxcr" ] && [ -x "$BUILD/tests/progs/subreaper" ] ||
	die "$BUILD/bin/vxcr or tests/progs/subreaper missing (run make first)"
BUSYBOX=$(command -v busybox) || die "busybox missing (busybox-static)"

T=$(mktemp -d /tmp/vxcr-kernel.XXXXXX) || die "mktemp"
[ -z "${VXK_KEEP:-}" ] && trap 'rm -rf "$T"' EXIT

# the module builds, and without a compiler warning
make -s -C kernel KDIR="$KDIR" OUT="$BUILD/kernel" >"$T/kbuild.log" 2>&1
st=$?
grep -v '^Skipping BTF generation' "$T/kbuild.log"
[ "$st" = 0 ] || die "the module does not build"
grep -q 'warning:' "$T/kbuild.log" && die "the module builds with warnings (above)"
R=$T/root

# add_libs FILE...: copies the shared libraries ldd names for each ELF FILE
# (and the dynamic loader) to the same paths under $R, once each.
add_libs()
{
	local f lib
	for f in "$@"; do
		head -c 4 "$f" 2>/dev/null | grep -q ELF || continue
		for lib in $(ldd "$f" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (0x.*/\1/p'); do
			case $lib in "$BUILD"/*) continue ;; esac
			[ -e "$R$lib" ] && continue
			mkdir -p "$R${lib%/*}"
			cp -L "$lib" "$R$lib" || die "cannot copy $lib"
		done
	done
}

# add_bin SRC DST: an executable without its debug information.
add_bin()
{
	mkdir -p "${2%/*}"
	strip --strip-debug -o "$2" "$1" 2>/dev/null || cp "$1" "$2" || die "cannot copy $1"
}

mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,root,lib64} \
	"$R"/vxcr/{bin,lib,progs,tests} || die "mkdir $R"
cp "$BUSYBOX" "$R/bin/busybox" || die "cannot copy $BUSYBOX"
for a in $("$BUSYBOX" --list-full); do
	[ -e "$R/$a" ] || ln -s /bin/busybox "$R/$a"
done
# /dev/console for the kernel's first open (the built-in initramfs has one
# too; devtmpfs replaces /dev once /init runs)
mknod "$R/dev/console" c 5 1 2>/dev/null || true
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$R/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$R/etc/group"

cp "$BUILD/kernel/vxcr.ko" "$R/vxcr/vxcr.ko" || die "no $BUILD/kernel/vxcr.ko"
add_bin "$BUILD/bin/vxcr" "$R/vxcr/bin/vxcr"
ln -s vxcr "$R/vxcr/bin/vxdump"
ln -s vxcr "$R/vxcr/bin/vxrestore"
add_bin "$BUILD/lib/libvxcr.so.0" "$R/vxcr/lib/libvxcr.so.0"
for p in "$BUILD"/tests/progs/* "$BUILD"/tests/kernel/progs/*; do
	[ -f "$p" ] && [ -x "$p" ] && add_bin "$p" "$R/vxcr/progs/${p##*/}"
done
cp tests/kernel/init.sh "$R/init" && chmod 755 "$R/init" || die "cannot copy init.sh"
cp tests/kernel/*lib.sh tests/kernel/k-*.sh "$R/vxcr/tests/" 2>/dev/null
add_libs "$R/bin/busybox" "$R"/vxcr/bin/vxcr "$R"/vxcr/lib/* "$R"/vxcr/progs/*
(cd "$R" && find . | cpio -o -H newc --quiet) >"$T/initrd" || die "cpio"

mkdir -p "${LOG%/*}"
echo "check-kernel: booting $KIMG ($(du -h "$T/initrd" | cut -f1) initramfs), tests '$TESTS'"
timeout -k 10 "$TIMEOUT" "$QEMU" -machine q35 -cpu max -smp 1 -m 1G -nic none -nographic \
	-no-reboot -kernel "$KIMG" -initrd "$T/initrd" \
	-append "console=ttyS0 quiet panic=-1 vxk_tests=$TESTS vxk_timeout=$TEST_TIMEOUT" \
	</dev/null 2>&1 | tr -d '\r' | sed -u -e 's/\x1bc//g' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' | tee "$LOG"
st=${PIPESTATUS[0]}

summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$LOG" | tail -n 1)
if [ -z "$summary" ]; then
	[ "$st" = 124 ] && die "the guest did not finish in $TIMEOUT s (log $LOG)"
	die "the guest ended without a verdict (QEMU exit $st; log $LOG)"
fi
passed=${summary%% *}
failed=${summary#*, }
failed=${failed%% *}
echo "check-kernel: $summary"
[ "$failed" = 0 ] || exit 1
[ "$passed" -gt 0 ] || die "no test ran (VXK_TESTS '$TESTS')"
exit 0
