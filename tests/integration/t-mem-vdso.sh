#!/bin/bash
# The kernel's areas moved or unmapped by the program (tests/progs/mem-vdso.c):
# all three moved by mremap, [vdso] unmapped (the dumper finds another
# syscall instruction), [vvar] and [vvar_vclock] unmapped: dumped and
# restored where the program had them.
. "$(dirname "$0")/lib.sh"
require_cr
for mode in move no-vdso no-vvar; do
	start_prog mem-vdso "$mode"
	dump "$PID" "$T/img.$mode"
	restore_bg "$T/img.$mode"
	go_and_check
	wait_restore_exit 0
	log "$mode: restored"
	rm -f "$OUT"
done
pass
