#!/bin/bash
# Hostile images of the fd kinds of issue 12 never crash vxrestore.
#
# For each program of VX_FUZZ_PROGS (default: one per kind, eventfd,
# signalfd, timerfd, pidfd, epoll, inotify, fanotify, unixsk, netlinksk, inetdg,
# tcpsk (issue 13: states, addresses, queue lengths, options at their edges),
# pty, ipcns (issue 14: an mq fd named outside its IPC namespace)), dumps it, then for seeds 1..VX_FUZZ_N (default 30) has
# tests/fuzz/mutate-image rewrite the image, half of the mutations by the
# kind's row of tests/fuzz/mutate/kinds.c (epoll items naming themselves,
# each other or nothing, tfd collisions; unix peers, queued connections
# and SK_QUEUE records naming the wrong socket; pidfds of threads, zombies
# and absent tasks; handles of odd lengths; clocks and times at their
# edges; pty ids crossed), and runs `vxrestore -d --pidfile F` on it,
# sandboxed (with a /tmp of its own, where restore makes its private
# directories: ghosts of deleted FIFOs, removed socket names).  This reaches what the planner's checks leave to the restore
# itself (an epoll loop, a duplicate key, a peer that will not connect).
# The checks (fuzz-lib.sh): exit 0 or 1 within 30 s, one "vxcr: " line on
# failure, no pid of the dumped program and no other process left; on
# success the restored process is killed and reaped; `vxcr img
# verify/json` exit 0 or 1.  At the end of each program its original
# image still restores and passes its own checks.
#
# Environment: VX_FUZZ_PROGS, VX_FUZZ_N, VX_FUZZ_FIRST, VX_FUZZ_COUNT,
# VX_FUZZ_ALSO ("PROG:N" for one program, "N" for all).
. "$(dirname "$0")/fuzz-lib.sh"
export FUZZ_PRIVATE_TMP=1	# restore's private directories in /tmp (fuzz-lib.sh)
fuzz_init
N=${VX_FUZZ_N:-30}
FIRST=${VX_FUZZ_FIRST:-1}
# Seeds that found bugs (in mutate-image: fanotify 73, a kind mutation
# after the file's kind had been changed), run on top of the range.
ALSO=${VX_FUZZ_ALSO-fanotify:73}

# The seeds of ALSO that apply to program $1.
also_for()
{
	local a out=""
	for a in $ALSO; do
		case $a in "$1":*) out="$out ${a#*:}" ;; *:*) ;; *) out="$out $a" ;; esac
	done
	echo "${out# }"
}

# args_of NAME: the arguments its test gives program NAME.
args_of()
{
	case $1 in
	inotify) mkdir -p "$T/w" && echo "$T/w" ;;
	fanotify) mkdir -p "$T/m" && echo "$T/m user" ;;
	ipcns) echo mqfd ;;
	esac
}

# fuzz_prog NAME: dump NAME, fuzz its image, restore the original.
fuzz_prog()
{
	local name=$1 sum
	FUZZ_LABEL=$name
	rm -f "$T/out"
	# shellcheck disable=SC2046
	start_prog "$name" $(args_of "$name")
	fuzz_target "$name"
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

PROGS_LIST=${VX_FUZZ_PROGS:-eventfd signalfd timerfd pidfd epoll inotify fanotify unixsk netlinksk inetdg pty tcpsk ipcns}
for prog in $PROGS_LIST; do
	fuzz_prog "$prog"
done
[ "$PROBLEMS" = 0 ] || fail "$PROBLEMS problems, seeds:$BAD_SEEDS (see PROBLEM lines above)"
pass "$PROGS_LIST: $N seeds each${ALSO:+ + $ALSO}"
