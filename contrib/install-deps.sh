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
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
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
apt-get install -y -qq --no-install-recommends $missing
