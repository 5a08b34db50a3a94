#!/bin/sh
# Installs the Debian packages that building and testing vxcr need.
# Usage: contrib/install-deps.sh [--check]   (--check: exit 1 if any missing)
set -e
PKGS="gcc make pkg-config protobuf-c-compiler libprotobuf-c-dev libnl-3-dev
libnl-route-3-dev libnftables-dev nftables libseccomp-dev libzstd-dev libsodium-dev nettle-dev libcunit1-dev python3 bash coreutils procps
iproute2 hyperfine sqlite3 tmux vim less clang-14 libclang-rt-14-dev llvm-14 scdoc man-db"
# clang-14 and libclang-rt-14-dev (libFuzzer, the sanitizer runtimes):
# make fuzz; llvm-14 (llvm-profdata-14, llvm-cov-14): make fuzz-cov;
# tmux, vim, less: t-tty-tmux.sh; scdoc: the man pages (docs/*.scd); man-db: t-docs.sh renders them

# the real-program tests (tests/integration/t-real-*, issue 12)
PKGS="$PKGS ruby nodejs redis-server redis-tools postgresql tmux"
# the servers of issue 13 (t-real-nginx, -memcached, -sshd, ...): nginx-light
# (the server only), memcached, sshd and its client, curl for requests
PKGS="$PKGS nginx-light memcached openssh-server openssh-client curl"
# a minimal guest for `vxcr ctx create --root` (t-ctx-escape, issue 14)
PKGS="$PKGS busybox-static"
# the kernel module's tests (make check-kernel, issue 17): QEMU boots a
# Debian 6.1 kernel with a busybox initramfs (cpio) holding vxcr.ko
PKGS="$PKGS qemu-system-x86 cpio"
# snapshot testing (issue 18): bench/snap.py's python3 row imports numpy
PKGS="$PKGS python3-numpy"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done

# vxcr.ko builds against Debian's 6.1 kernel and boots it under QEMU: an
# installed linux-image-6.1.0-N-amd64 with its linux-headers-6.1.0-N-amd64
# will do; else the newest N the archive offers both of (never named here).
kernel_pair_installed() {
	for img in $(dpkg-query -W -f='${Package} ${Status}\n' 'linux-image-6.1.0-*-amd64' 2>/dev/null |
		sed -n 's/^\(linux-image-6\.1\.0-[0-9]*-amd64\) .*ok installed$/\1/p'); do
		hdr="linux-headers-${img#linux-image-}"
		dpkg-query -W -f='${Status}' "$hdr" 2>/dev/null | grep -q "ok installed" && return 0
	done
	return 1
}
newest_kernel_abi() {
	apt-cache search --names-only '^linux-(image|headers)-6\.1\.0-[0-9]+-amd64$' |
		sed -n 's/^linux-\(image\|headers\)-6\.1\.0-\([0-9]*\)-amd64 .*/\2/p' |
		sort -n | uniq -d | tail -1
}
kernel_pair_installed || missing="$missing linux-image-6.1 (with its headers)"

[ -z "$missing" ] && exit 0
if [ "$1" = "--check" ]; then
	echo "missing Debian packages:$missing" >&2
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: need root to install:$missing" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
case "$missing" in
*linux-image-6.1*)
	missing="${missing% linux-image-6.1 (with its headers)}"
	n=$(newest_kernel_abi)
	if [ -z "$n" ]; then
		echo "install-deps: no linux-image-6.1.0-N-amd64 with its headers in the archive" >&2
		exit 1
	fi
	missing="$missing linux-image-6.1.0-$n-amd64 linux-headers-6.1.0-$n-amd64"
	;;
esac
apt-get install -y -qq --no-install-recommends $missing
