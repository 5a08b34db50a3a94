# Helpers of the restore fuzz cases (t-fuzz-restore.sh, t-fuzz-tree.sh),
# sourced instead of lib.sh (which this sources).
#
# A case dumps a program, then for each seed has tests/fuzz/mutate-image
# rewrite the image with a few hostile records (valid framing and
# checksums) and runs `vxrestore -d --pidfile F` on it in a sandbox.  Each
# run must exit 0 or 1 within VX_FUZZ_TIMEOUT (default 30) seconds; on 1
# stderr is exactly one line "vxcr: ...", no process of the dumped tree
# (every pid and tid of the snapshot taken before the dump) is left, no
# process at all is left on the case's subreaper, and no SysV segment is
# left; on 0 the restored tree (the snapshot's pids and whatever the
# restore left on the subreaper, e.g. the init of a --pidns restore) is
# killed by pid and reaped.  `vxcr img verify` and `vxcr img json` must exit
# 0 or 1 on every mutated image.
#
# The sandbox: a private mount namespace whose root is read-only (only $T
# is writable), since a hostile image may name any file the dump named
# (libc, the program) with any open flags or as a writable shared mapping;
# and a private IPC namespace, so a hostile SysV id can only meet the
# segments the restore itself made.
#
# A seed that misbehaves is logged (PROBLEM line) with its mutations and a
# command to reproduce it; its image, and once the unmutated one, are kept
# in VX_FUZZ_KEEP (default BUILD/test-logs/CASE).
#
# Environment: VX_FUZZ_N (seeds), VX_FUZZ_FIRST (first seed, default 1),
# VX_FUZZ_COUNT (mutations per image, default 1-3 by seed), VX_FUZZ_ALSO
# (extra seeds), VX_FUZZ_PIDNS (every Kth seed restores with --pidns; 0
# never), VX_FUZZ_TIMEOUT, VX_FUZZ_KEEP.  The cases set the defaults.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MUTATE=$VX_BUILD/tests/fuzz/mutate-image
FUZZ_TIMEOUT=${VX_FUZZ_TIMEOUT:-30}
FUZZ_KEEP=${VX_FUZZ_KEEP:-$VX_BUILD/test-logs/$CASE}
FUZZ_LABEL=""		# prefix of kept images and problem lines (program name)
FUZZ_SNAP=""		# vx_tree_snapshot of the dumped tree
FUZZ_IMG=""		# the unmutated image
FUZZ_EXE=""		# the dumped program, resolved
FUZZ_VXCR_EXE=""	# vxcr, resolved
PROBLEMS=0 BAD_SEEDS=""

# sandboxed CMD...: runs CMD with / read-only, $T writable, in a new IPC
# namespace; the SysV segments left in it when CMD ends go to $T/sysv.left.
# With FUZZ_PRIVATE_TMP=1, /tmp is an empty tmpfs of the sandbox (and $T
# still there): restore makes its private directories in /tmp (ghosts of
# deleted FIFOs, removed unix socket names), which a read-only /tmp refuses
# before the fd kinds' own code is reached.
sandboxed()
{
	unshare -m -i --propagation private /bin/sh -c '
		mount --bind "$0" "$0" && mount -o remount,bind,ro / || exit 125
		if [ "$FUZZ_PRIVATE_TMP" = 1 ]; then
			exec 9<"$0" && mount -t tmpfs -o mode=1777 tmpfs /tmp &&
				mkdir -p "$0" && mount -c --bind /proc/self/fd/9 "$0" || exit 125
			exec 9<&-
		fi
		"$@"
		st=$?
		tail -n +2 /proc/sysvipc/shm >"$0/sysv.left" 2>/dev/null
		exit $st' "$T" "$@"
}

# fuzz_init: skips unless the mutator, unshare(1) and the sandbox work.
fuzz_init()
{
	require_cr
	[ -x "$MUTATE" ] || fail "$MUTATE not built"
	command -v unshare >/dev/null || skip "unshare(1) missing"
	sandboxed /bin/sh -c '! test -w /usr && test -w "$0"' "$T" ||
		skip "cannot make / read-only in private mount and IPC namespaces"
	FUZZ_PIDNS=${VX_FUZZ_PIDNS:-${FUZZ_PIDNS:-0}}
	# Orphans of a restore land on the subreaper lib.sh runs us under.
	FUZZ_REAPER=$PPID
	[ "$(cat "/proc/$PPID/comm" 2>/dev/null)" = subreaper ] || {
		log "parent $PPID is not tests/progs/subreaper: not looking for stray processes"
		FUZZ_REAPER=""
	}
	FUZZ_VXCR_EXE=$(readlink -f "$VXCR")
}

# fuzz_target NAME: the tree of $PID (program NAME, started, not dumped
# yet) is what the next seeds fuzz: snapshots and tracks it, and sets
# FUZZ_IMG (dump to it), FUZZ_SNAP, FUZZ_EXE.  A case that fuzzes several
# programs sets FUZZ_LABEL=NAME too, to tell their kept images apart.
fuzz_target()
{
	FUZZ_EXE=$(readlink -f "$PROGS/$1")
	FUZZ_IMG=$T/img.$1
	FUZZ_SNAP=$T/tree.$1
	vx_tree_snapshot "$PID" "$FUZZ_SNAP"
	vx_track_tree "$PID"
}

# The pids and tids of the snapshot.
fuzz_snap_ids()
{
	awk '{print $2}' "$FUZZ_SNAP" | sort -un
}

# Pids of what is left on our subreaper besides this shell (orphans of a
# restore: the restored root after -d, a --pidns init, a leaked helper).
fuzz_strays()
{
	local t c
	[ -n "$FUZZ_REAPER" ] || return 0
	for t in /proc/"$FUZZ_REAPER"/task/*; do
		for c in $(cat "$t/children" 2>/dev/null); do
			[ "$c" = $$ ] || echo "$c"
		done
	done
}

# "pid (comm)" for each pid given.
fuzz_describe()
{
	local p out=""
	for p in "$@"; do
		out="$out $p ($(cat "/proc/$p/comm" 2>/dev/null || echo gone))"
	done
	echo "${out# }"
}

# problem SEED WHAT: records a misbehaving seed, keeps its image.
problem()
{
	local tag=${FUZZ_LABEL:+$FUZZ_LABEL:}$1 opts
	PROBLEMS=$((PROBLEMS + 1))
	case " $BAD_SEEDS " in *" $tag "*) ;; *) BAD_SEEDS="$BAD_SEEDS $tag" ;; esac
	echo "PROBLEM ${FUZZ_LABEL:+$FUZZ_LABEL }seed $1: $2"
	sed 's/^/    /' "$T/mut.out"
	[ -s "$T/fz.err" ] && head -n 3 "$T/fz.err" | sed 's/^/    stderr: /'
	mkdir -p "$FUZZ_KEEP" || return 0
	cp "$T/fz.img" "$FUZZ_KEEP/${FUZZ_LABEL:+$FUZZ_LABEL-}seed-$1.img" &&
		echo "    image kept: $FUZZ_KEEP/${FUZZ_LABEL:+$FUZZ_LABEL-}seed-$1.img"
	[ -e "$FUZZ_KEEP/${FUZZ_LABEL:+$FUZZ_LABEL-}orig.img" ] ||
		cp "$FUZZ_IMG" "$FUZZ_KEEP/${FUZZ_LABEL:+$FUZZ_LABEL-}orig.img"
	opts=$(fuzz_opts "$1")
	echo "    reproduce: $MUTATE $FUZZ_KEEP/${FUZZ_LABEL:+$FUZZ_LABEL-}orig.img out.img" \
		"$1${VX_FUZZ_COUNT:+ $VX_FUZZ_COUNT} && timeout $FUZZ_TIMEOUT $VXRESTORE -d ${opts:+$opts }--pidfile F out.img"
}

# The extra vxrestore options of SEED: --pidns for every FUZZ_PIDNS-th seed.
fuzz_opts()
{
	[ "$FUZZ_PIDNS" -gt 0 ] 2>/dev/null && (( $1 % FUZZ_PIDNS == 0 )) && echo --pidns
	return 0
}

# What a restore may have left: the snapshot's pids that run the program,
# vxrestore or nothing readable (pids reused by others are not ours), the
# pidfile's process and every process on our subreaper, with descendants.
fuzz_leftovers()
{
	local p exe
	for p in $(fuzz_snap_ids); do
		[ -e "/proc/$p" ] || continue
		exe=$(readlink "/proc/$p/exe" 2>/dev/null)
		case $exe in "$FUZZ_EXE"|"$FUZZ_VXCR_EXE"|"") echo "$p" ;; esac
	done
	p=$(tr -d '[:space:]' 2>/dev/null <"$T/pidfile")
	case $p in ''|*[!0-9]*) ;; *) [ -e "/proc/$p" ] && vx_tree_pids "$p" ;; esac
	for p in $(fuzz_strays); do
		vx_tree_pids "$p"
	done
}

# fuzz_reap SEED: kills every leftover by pid and waits until it is reaped.
fuzz_reap()
{
	local round p left
	for ((round = 0; round < 3; round++)); do
		left=$(fuzz_leftovers | sort -un)
		[ -n "$left" ] || return 0
		kill -9 $left 2>/dev/null
		for p in $left; do
			vx_wait_gone "$p" 10
		done
	done
	left=$(fuzz_leftovers | sort -un)
	[ -z "$left" ] || problem "$1" "cannot get rid of $(fuzz_describe $left)"
}

# fuzz_check_gone SEED: after a refused restore, nothing of it may be left
# (waits up to 5 s for the subreaper to reap what is dying).
fuzz_check_gone()
{
	local i p ids left strays
	ids=$(fuzz_snap_ids)
	for ((i = 0; i < 100; i++)); do
		left=$(for p in $ids; do [ -e "/proc/$p" ] && echo "$p"; done)
		strays=$(fuzz_strays)
		[ -z "$left$strays" ] && break
		sleep 0.05
	done
	[ -z "$left" ] ||
		problem "$1" "pids of the dumped tree exist after the failed restore: $(fuzz_describe $left)"
	[ -z "$strays" ] ||
		problem "$1" "processes left after the failed restore: $(fuzz_describe $strays)"
	[ ! -s "$T/sysv.left" ] ||
		problem "$1" "SysV segments left after the failed restore: $(awk '{printf "shmid %s size %s; ", $2, $4}' "$T/sysv.left")"
}

# check_restore SEED: one restore of $T/fz.img and the checks on its outcome.
check_restore()
{
	local s=$1 st opts
	opts=$(fuzz_opts "$s")
	rm -f "$T/pidfile" "$T/sysv.left"
	sandboxed timeout "$FUZZ_TIMEOUT" "$VXRESTORE" -d $opts --pidfile "$T/pidfile" \
		"$T/fz.img" >"$T/fz.out" 2>"$T/fz.err" </dev/null
	st=$?
	log "${FUZZ_LABEL:+$FUZZ_LABEL }seed $s${opts:+ ($opts)}: $(paste -sd ';' "$T/mut.out") -> exit $st: $(head -n 1 "$T/fz.err")"
	case $st in
	0)
		[ -s "$T/pidfile" ] || problem "$s" "vxrestore exited 0 without writing the pidfile" ;;
	1)
		if [ "$(wc -l <"$T/fz.err")" != 1 ] || [ "$(head -c 6 "$T/fz.err")" != "vxcr: " ]; then
			problem "$s" "exit 1 with $(wc -l <"$T/fz.err") lines on stderr, not one 'vxcr: ' line"
		fi
		fuzz_check_gone "$s"
		;;
	124)
		problem "$s" "vxrestore hung (killed by timeout after $FUZZ_TIMEOUT s)" ;;
	125)
		problem "$s" "the sandbox could not be set up" ;;
	*)
		if [ "$st" -ge 128 ]; then
			problem "$s" "vxrestore crashed: exit $st (signal $((st - 128)))"
		else
			problem "$s" "vxrestore exited $st, expected 0 or 1"
		fi
		;;
	esac
	fuzz_reap "$s"
}

# check_img_cmd SEED SUBCOMMAND: vxcr img SUBCOMMAND must exit 0 or 1.
check_img_cmd()
{
	local st
	timeout "$FUZZ_TIMEOUT" "$VXCR" img "$2" "$T/fz.img" >/dev/null 2>"$T/img-$2.err"
	st=$?
	[ "$st" = 0 ] || [ "$st" = 1 ] || problem "$1" "vxcr img $2 exited $st"
}

# fuzz_seed SEED: mutates FUZZ_IMG with SEED and checks every command on it.
fuzz_seed()
{
	if ! "$MUTATE" "$FUZZ_IMG" "$T/fz.img" "$1" ${VX_FUZZ_COUNT:+"$VX_FUZZ_COUNT"} \
		>"$T/mut.out" 2>"$T/mut.err"; then
		: >"$T/fz.err"
		problem "$1" "mutate-image failed: $(head -n 1 "$T/mut.err")"
		return
	fi
	check_restore "$1"
	check_img_cmd "$1" verify
	check_img_cmd "$1" json
}

# fuzz_run N FIRST [ALSO]: seeds FIRST..FIRST+N-1, then those of ALSO.
fuzz_run()
{
	local n=$1 first=$2 also=${3:-} s t0=$SECONDS p0=$PROBLEMS
	for ((s = first; s < first + n; s++)); do
		fuzz_seed "$s"
	done
	for s in $also; do
		fuzz_seed "$s"
	done
	log "${FUZZ_LABEL:+$FUZZ_LABEL: }$n seeds${also:+ + [$also]} in $((SECONDS - t0)) s," \
		"$((PROBLEMS - p0)) problems"
}
