#!/bin/bash
# Hostile images of process trees and threads never crash vxrestore.
#
# For each program of VX_FUZZ_PROGS (default tree-basic: 7 processes, pipes
# between them, copy-on-write memory; and shared-mem: shared anonymous
# memory, a memfd and a SysV segment shared by parent and child), dumps its
# tree, then for seeds 1..VX_FUZZ_N (default 100) has tests/fuzz/mutate-image
# rewrite the image (half of the mutations aimed at what ties a tree
# together: ppids, duplicate pids, thread lists and CORE tids, mm / files /
# fs / shmem ids, SYSV_SHM and memfd records, IMG_PAGES_ZERO ranges, page
# groups, POSIX timers) and runs `vxrestore -d --pidfile F` on it,
# sandboxed; every VX_FUZZ_PIDNS-th seed (default 4) with --pidns.  The
# checks (fuzz-lib.sh): exit 0 or 1 within 30 s, one "vxcr: " line on
# failure, no pid or tid of the dumped tree and no other process left, no
# SysV segment left; on success the restored tree is killed and reaped;
# `vxcr img verify/json` exit 0 or 1.  At the end of each program its
# original image still restores to the same tree, whose checks pass.
#
# A seed that misbehaves is logged with its mutations and a command to
# reproduce it, and its image (PROG-seed-N.img, with PROG-orig.img) is kept
# in VX_FUZZ_KEEP (default BUILD/test-logs/fuzz-tree).  Environment:
# VX_FUZZ_PROGS (e.g. "thread-basic"), VX_FUZZ_N, VX_FUZZ_FIRST,
# VX_FUZZ_COUNT, VX_FUZZ_PIDNS (0: never), VX_FUZZ_ALSO (extra seeds, "N"
# for every program or "PROG:N" for one).
. "$(dirname "$0")/fuzz-lib.sh"
FUZZ_PIDNS=4
fuzz_init
N=${VX_FUZZ_N:-100}
FIRST=${VX_FUZZ_FIRST:-1}
ALSO=${VX_FUZZ_ALSO-}

# The seeds of ALSO that apply to program $1.
also_for()
{
	local a out=""
	for a in $ALSO; do
		case $a in "$1":*) out="$out ${a#*:}" ;; *:*) ;; *) out="$out $a" ;; esac
	done
	echo "${out# }"
}

# fuzz_prog NAME: dump NAME's tree, fuzz its image, restore the original.
fuzz_prog()
{
	local name=$1 sum
	FUZZ_LABEL=$name
	rm -f "$T/out"
	start_prog "$name"
	fuzz_target "$name"
	log "$name: tree of $PID: $(vx_tree_summary "$FUZZ_SNAP")"
	dump "$PID" "$FUZZ_IMG"
	vx_tree_gone "$FUZZ_SNAP"
	cp "$T/out" "$T/out.dumped"
	sum=$(sha256sum <"$FUZZ_IMG")

	fuzz_run "$N" "$FIRST" "$(also_for "$name")"

	[ "$(sha256sum <"$FUZZ_IMG")" = "$sum" ] || fail "$name: the original image changed"
	cp "$T/out.dumped" "$T/out"	# drop what the fuzzed restores appended
	restore_bg "$FUZZ_IMG"
	vx_tree_expect "$FUZZ_SNAP" "$PID"
	go_and_check
	wait_restore_exit 0
}

for prog in ${VX_FUZZ_PROGS:-tree-basic shared-mem}; do
	fuzz_prog "$prog"
done
[ "$PROBLEMS" = 0 ] || fail "$PROBLEMS problems, seeds:$BAD_SEEDS (see PROBLEM lines above)"
pass "${VX_FUZZ_PROGS:-tree-basic shared-mem}: $N seeds each${ALSO:+ + $ALSO}"
