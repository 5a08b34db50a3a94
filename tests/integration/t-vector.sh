#!/bin/bash
# Dump and restore tests/progs/vector: ymm0-15 and r12-r15 survive.
. "$(dirname "$0")/lib.sh"
grep -qw avx /proc/cpuinfo || skip "CPU has no AVX"
cr_cycle vector
