#!/bin/bash
# Hostile images with valid framing and checksums never crash vxrestore.
#
# Dumps tests/progs/counter, then for seeds 1..VX_FUZZ_N (default 150) has
# tests/fuzz/mutate-image rewrite the image with a few hostile records and
# runs `vxrestore -d --pidfile F` on it.  Each run must exit 0 or 1 within
# 30 s; on 1 stderr is exactly one line "vxcr: ..." and no process with the
# dumped pid is left; on 0 the restored process is killed by pid and waited
# for.  `vxcr img verify` and `vxcr img json` must exit 0 or 1 on every
# mutated image.  At the end the original image still restores and counts.
#
# The restores run in a private mount namespace whose root is read-only
# (only $T is writable): a hostile image may name any file the dump named
# (libc, the program) with any open flags or as a writable shared mapping.
#
# A seed that misbehaves is logged with its mutations and a command to
# reproduce it, and its image is kept in VX_FUZZ_KEEP (default
# BUILD/test-logs/fuzz-restore).  Environment: VX_FUZZ_N, VX_FUZZ_FIRST,
# VX_FUZZ_COUNT (mutations per image, default 1-3 by seed), VX_FUZZ_ALSO
# (extra seeds, default the reproducers of known bugs; "" for none).
#
# Known bugs (seeds of VX_FUZZ_ALSO, with counter's image): a path with a
# newline in it (task root 181, task cwd 843, a mapped file's path 2082) is
# printed verbatim, so the refusal takes two lines on stderr.
. "$(dirname "$0")/lib.sh"
require_cr
MUTATE=$VX_BUILD/tests/fuzz/mutate-image
[ -x "$MUTATE" ] || fail "$MUTATE not built"
command -v unshare >/dev/null || skip "unshare(1) missing"
N=${VX_FUZZ_N:-150}
FIRST=${VX_FUZZ_FIRST:-1}
# Seeds that found bugs, run on top of the range (see the head comment).
ALSO=${VX_FUZZ_ALSO-181 843 2082}
KEEP=${VX_FUZZ_KEEP:-$VX_BUILD/test-logs/fuzz-restore}
PROBLEMS=0 BAD_SEEDS=""

# sandboxed CMD...: runs CMD with / read-only and $T writable.
sandboxed()
{
	unshare -m --propagation private /bin/sh -c \
		'mount --bind "$0" "$0" && mount -o remount,bind,ro / && exec "$@"' \
		"$T" "$@"
}

sandboxed /bin/sh -c '! test -w /usr && test -w "$0"' "$T" ||
	skip "cannot make / read-only in a private mount namespace"

start_prog counter
expect_counting "before dump"
dump "$PID" "$T/img"
cp "$T/out" "$T/out.dumped"
sum=$(md5sum <"$T/img")
COUNTER_EXE=$(readlink -f "$PROGS/counter")
VXCR_EXE=$(readlink -f "$VXCR")

# problem SEED WHAT: records a misbehaving seed, keeps its image.
problem()
{
	PROBLEMS=$((PROBLEMS + 1))
	case " $BAD_SEEDS " in *" $1 "*) ;; *) BAD_SEEDS="$BAD_SEEDS $1" ;; esac
	echo "PROBLEM seed $1: $2"
	sed 's/^/    /' "$T/mut.out"
	[ -s "$T/fz.err" ] && head -n 3 "$T/fz.err" | sed 's/^/    stderr: /'
	mkdir -p "$KEEP" && cp "$T/fz.img" "$KEEP/seed-$1.img" &&
		echo "    image kept: $KEEP/seed-$1.img"
	echo "    reproduce: $MUTATE IMG out.img $1 && timeout 30 $VXRESTORE -d --pidfile F out.img"
}

# Kills whatever a broken restore left at $PID (our counter or the restorer's
# child), by pid, and waits until it is gone.
reap_leftover()
{
	local exe
	[ -e "/proc/$PID" ] || return 0
	exe=$(readlink "/proc/$PID/exe" 2>/dev/null)
	case $exe in "$COUNTER_EXE"|"$VXCR_EXE"|"") kill -9 "$PID" 2>/dev/null ;; esac
	vx_wait_gone "$PID" 10
}

# check_restore SEED: one restore of $T/fz.img and the checks on its outcome.
check_restore()
{
	local s=$1 st rpid
	rm -f "$T/pidfile"
	sandboxed timeout 30 "$VXRESTORE" -d --pidfile "$T/pidfile" "$T/fz.img" \
		>"$T/fz.out" 2>"$T/fz.err" </dev/null
	st=$?
	log "seed $s: $(paste -sd ';' "$T/mut.out") -> exit $st: $(head -n 1 "$T/fz.err")"
	case $st in
	0)
		rpid=$(tr -d '[:space:]' <"$T/pidfile" 2>/dev/null)
		if [ -z "$rpid" ]; then
			problem "$s" "vxrestore exited 0 without writing the pidfile"
		else
			kill -9 "$rpid" 2>/dev/null
			vx_wait_gone "$rpid" 10 ||
				problem "$s" "restored pid $rpid still there 10 s after SIGKILL"
		fi
		;;
	1)
		if [ "$(wc -l <"$T/fz.err")" != 1 ] || [ "$(head -c 6 "$T/fz.err")" != "vxcr: " ]; then
			problem "$s" "exit 1 with $(wc -l <"$T/fz.err") lines on stderr, not one 'vxcr: ' line"
		fi
		vx_wait_gone "$PID" 5 ||
			problem "$s" "pid $PID exists after the failed restore ($(tr '\0' ' ' <"/proc/$PID/cmdline" 2>/dev/null))"
		;;
	124)
		problem "$s" "vxrestore hung (killed by timeout after 30 s)" ;;
	*)
		if [ "$st" -ge 128 ]; then
			problem "$s" "vxrestore crashed: exit $st (signal $((st - 128)))"
		else
			problem "$s" "vxrestore exited $st, expected 0 or 1"
		fi
		;;
	esac
	reap_leftover || problem "$s" "cannot get rid of pid $PID"
}

# check_img_cmd SEED SUBCOMMAND: vxcr img SUBCOMMAND must exit 0 or 1.
check_img_cmd()
{
	local st
	timeout 30 "$VXCR" img "$2" "$T/fz.img" >/dev/null 2>"$T/img-$2.err"
	st=$?
	[ "$st" = 0 ] || [ "$st" = 1 ] || problem "$1" "vxcr img $2 exited $st"
}

# fuzz_seed SEED: mutates the image with SEED and checks every command on it.
fuzz_seed()
{
	if ! "$MUTATE" "$T/img" "$T/fz.img" "$1" ${VX_FUZZ_COUNT:+"$VX_FUZZ_COUNT"} \
		>"$T/mut.out" 2>"$T/mut.err"; then
		: >"$T/fz.err"
		problem "$1" "mutate-image failed: $(head -n 1 "$T/mut.err")"
		return
	fi
	check_restore "$1"
	check_img_cmd "$1" verify
	check_img_cmd "$1" json
}

t0=$SECONDS
for ((s = FIRST; s < FIRST + N; s++)); do
	fuzz_seed "$s"
done
for s in $ALSO; do
	fuzz_seed "$s"
done
log "$N seeds + [${ALSO}] in $((SECONDS - t0)) s, $PROBLEMS problems"

[ "$(md5sum <"$T/img")" = "$sum" ] || fail "the original image changed"
cp "$T/out.dumped" "$T/out"	# drop what the fuzzed restores appended
restore_bg "$T/img"
expect_counting "after restore of the original image"
go_and_check
wait_restore_exit 0
[ "$PROBLEMS" = 0 ] || fail "$PROBLEMS problems, seeds:$BAD_SEEDS (see PROBLEM lines above)"
pass "$N seeds${ALSO:+ + $ALSO}"
