#!/bin/bash
# make fuzz-cov: line and branch coverage of lib/img/*.c and
# lib/restore/plan.c (and the rest of lib/restore the planner reaches, the
# fd kinds' image checks of issue 12 among them) by
# the fuzz corpus: every input of FUZZ_BUILD/corpus/NAME and the seeds is
# run once through the harnesses built with -fprofile-instr-generate
# -fcoverage-mapping in COV_BUILD, and llvm-cov sums it up.
#
# Usage: tests/fuzz/lf/coverage.sh FUZZ_BUILD COV_BUILD
set -u
cd "$(dirname "$0")/../../.." || exit 2
FB=$1 COV=$2
PROFDATA=${LLVM_PROFDATA:-llvm-profdata-14} LLVMCOV=${LLVM_COV:-llvm-cov-14}
rm -rf "$COV/prof" && mkdir -p "$COV/prof"
objs=()
for name in reader img-text plan; do
	mkdir -p "$FB/corpus/$name"
	LLVM_PROFILE_FILE="$COV/prof/$name-%p.profraw" "$COV/fuzz/fuzz-$name" -runs=0 \
		"$FB/corpus/$name" "$FB/seeds" >"$COV/prof/$name.log" 2>&1 ||
		{ echo "coverage: fuzz-$name failed, see $COV/prof/$name.log" >&2; exit 1; }
	echo "coverage: $name: $(ls "$FB/corpus/$name" | wc -l) corpus inputs + seeds"
	objs+=(-object "$COV/fuzz/fuzz-$name")
done
"$PROFDATA" merge -sparse "$COV"/prof/*.profraw -o "$COV/fuzz.profdata" || exit 1
"$LLVMCOV" report "${objs[@]:1}" -instr-profile="$COV/fuzz.profdata" \
	lib/img/*.c lib/restore/plan.c lib/restore/check.c lib/restore/layout.c \
	lib/restore/shmem.c lib/restore/seccomp.c lib/restore/vdso.c \
	lib/restore/{epoll,eventfd,fanotify,inotify,netlinksk,pidfd,signalfd,tcpsk,timerfd,tty,unixsk}.c
