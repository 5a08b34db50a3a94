# Integration test helpers, sourced by tests/integration/t-*.sh.
#
# A case runs as its own process (bash) under tests/progs/subreaper, so
# orphans (a restored process after `vxrestore -d` exits, a target started
# by start_prog) are reaped by a process that waits for them.  Every case
# works in its own mktemp -d directory and kills what it started by pid.
#
# Environment: VX_BUILD   build tree (default: build), e.g. build-infra
#
# Exit status of a case: 0 pass, 1 fail, 77 skip; the last line of output
# says why ("PASS name", "FAIL name: reason", "SKIP name: reason").

set -u

VX_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VX_BUILD=$(cd "$VX_ROOT" && cd "${VX_BUILD:-build}" 2>/dev/null && pwd) || {
	echo "FAIL ${0##*/}: build tree ${VX_BUILD:-build} not found"
	exit 1
}
export VX_BUILD
# The tools run with the test build of the library, the one with the
# VXCR_TEST_* hooks (Makefile: TEST_SHARED); the shipped one has none.
if [ -d "$VX_BUILD/lib-test" ]; then
	export LD_LIBRARY_PATH=$VX_BUILD/lib-test${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
VXCR=$VX_BUILD/bin/vxcr
VXDUMP=$VX_BUILD/bin/vxdump
VXRESTORE=$VX_BUILD/bin/vxrestore
PROGS=$VX_BUILD/tests/progs
CASE=${CASE:-$(basename "$0" .sh)}
CASE=${CASE#t-}

# Re-run under the subreaper unless already below one.
if [ -z "${VX_SUBREAPER:-}" ]; then
	[ -x "$PROGS/subreaper" ] || { echo "FAIL $CASE: $PROGS/subreaper not built"; exit 1; }
	exec "$PROGS/subreaper" -t "${VX_TIMEOUT:-300}" "$0" "$@"
fi

T=$(mktemp -d /tmp/vxcr-"$CASE".XXXXXX)
VX_PIDS=""	# processes to kill at exit, by pid
ORIG_START="" ORIG_COMM=""

# vx_keep_lock IMAGE: IMAGE was dumped with --keep-net-lock; if the case
# ends before a restore of it removed the lock, vx_cleanup removes it.
vx_keep_lock()
{
	echo "$1" >>"$T/.kept-locks"
}

vx_drop_kept_locks()
{
	local img id
	[ -s "$T/.kept-locks" ] || return 0
	while read -r img; do
		id=$("$VXCR" img show "$img" 2>/dev/null | sed -n '1s/.* image_id=\([0-9a-f]*\).*/\1/p')
		[ -n "$id" ] && "$VXCR" netlock drop "$id" >/dev/null 2>&1
	done <"$T/.kept-locks"
	return 0
}

vx_cleanup()
{
	local p
	# a case may define vx_case_cleanup for what it made besides processes
	declare -F vx_case_cleanup >/dev/null && vx_case_cleanup
	vx_drop_kept_locks
	for p in $VX_PIDS; do
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	for p in $VX_PIDS; do	# orphans are reaped by the subreaper
		vx_wait_gone "$p" 5 || true
	done
	if [ -n "${VX_KEEP:-}" ]; then
		echo "kept $T"
	else
		rm -rf "$T"
	fi
}
trap vx_cleanup EXIT

pass() { vx_guard_unchecked; echo "PASS $CASE${1:+: $1}"; exit 0; }
fail() { echo "FAIL $CASE: $*"; vx_show_logs; exit 1; }
skip() { echo "SKIP $CASE: $*"; exit 77; }
log() { echo "# $*"; }

# Prints the interesting files of $T to help whoever reads a failure.
vx_show_logs()
{
	local f
	for f in "$T"/*.err "$T"/out*; do
		[ -s "$f" ] || continue
		echo "--- ${f##*/}"
		tail -n 8 "$f"
	done
}

vx_track() { VX_PIDS="$VX_PIDS $*"; }
vx_untrack()
{
	local p out=""
	for p in $VX_PIDS; do [ "$p" = "$1" ] || out="$out $p"; done
	VX_PIDS=$out
}

# run_driver SCRIPT ARGS...: runs tests/integration/SCRIPT (a Python
# driver taking BUILD DIR ARGS...) in its own directory under $T; passes
# with its last line, or fails with it.
run_driver()
{
	local script=$1 dir=$T/${1%.py}
	shift
	mkdir -p "$dir"
	python3 "$VX_ROOT/tests/integration/$script" "$VX_BUILD" "$dir" "$@" >"$dir.out" 2>&1
	local st=$?
	cat "$dir.out"
	[ "$st" = 0 ] || fail "$(tail -n 1 "$dir.out")"
	DRIVER_RESULT=$(tail -n 1 "$dir.out" | cut -c1-200)
}

# Skips unless root and `vxcr check` finds every required kernel feature.
require_cr()
{
	[ "$(id -u)" = 0 ] || skip "needs root"
	[ -x "$VXCR" ] || fail "$VXCR not built"
	if ! "$VXCR" check -q >"$T/check.out" 2>&1; then
		skip "kernel lacks required features: $(grep MISSING "$T/check.out" |
			awk '{print $2}' | tr '\n' ' ')"
	fi
}

# True while pid exists and is not a zombie.
vx_alive()
{
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# Start time of pid (field 22 of /proc/PID/stat), empty if none.
vx_starttime()
{
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $20}'
}

# Waits until /proc/PID is gone (dead and reaped); timeout in seconds.
vx_wait_gone()
{
	local i n=$(( ${2:-10} * 20 ))
	for ((i = 0; i < n; i++)); do
		[ -e "/proc/$1" ] || return 0
		sleep 0.05
	done
	return 1
}

# Waits until FILE has a line matching REGEX; timeout in seconds.
vx_wait_line()
{
	local i n=$(( ${3:-10} * 20 ))
	for ((i = 0; i < n; i++)); do
		grep -Eq "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# start_prog NAME [ARGS]: starts tests/progs/NAME $T/out [ARGS] detached
# from this shell (its parent is the subreaper), stdout/stderr in
# $T/prog.out/$T/prog.err.  Sets PID and OUT; waits for "ready".
start_prog()
{
	local name=$1
	shift
	OUT=$T/out
	[ -x "$PROGS/$name" ] || fail "$PROGS/$name not built"
	( "$PROGS/$name" "$OUT" "$@" </dev/null >"$T/prog.out" 2>"$T/prog.err" &
	  echo $! >"$T/prog.pid" )
	PID=$(cat "$T/prog.pid")
	vx_track "$PID"
	vx_wait_line "$OUT" '^ready$' 20 || fail "$name did not get ready"
	sleep 0.2	# let it settle into its wait
	vx_alive "$PID" || fail "$name died before the dump"
	vx_remember
}

# start_cmd OUTFILE CMD...: like start_prog for any command line.
start_cmd()
{
	OUT=$1
	shift
	( "$@" </dev/null >"$T/prog.out" 2>"$T/prog.err" & echo $! >"$T/prog.pid" )
	PID=$(cat "$T/prog.pid")
	vx_track "$PID"
}

# Notes what tells the original $PID from its restored copy: its start time
# and its comm (call once it runs the program; dump() calls it).
vx_remember()
{
	ORIG_START=$(vx_starttime "$PID")
	ORIG_COMM=$(cat "/proc/$PID/comm" 2>/dev/null)
}

# dump PID IMAGE [OPTS]: runs vxdump; fails the case unless it exits 0 and
# the image is not empty.  Without --leave-running the target must be gone.
dump()
{
	local pid=$1 img=$2
	shift 2
	[ "$pid" = "$PID" ] && vx_remember
	vx_guard_snap "$pid"
	"$VXDUMP" "$@" -o "$img" "$pid" >"$T/dump.out" 2>"$T/dump.err" ||
		fail "vxdump $pid exited $?: $(head -n 3 "$T/dump.err")"
	[ -s "$img" ] || fail "vxdump wrote an empty image"
	case " $* " in
	*" --leave-running "*)
		vx_alive "$pid" || fail "target $pid died despite --leave-running" ;;
	*)
		vx_wait_gone "$pid" 10 || fail "target $pid still there after vxdump" ;;
	esac
}

# restore_bg [OPTS...] IMAGE: starts vxrestore in the background (it waits
# for the restored process); sets RPID.  Waits until PID runs again.
restore_bg()
{
	"$VXRESTORE" "$@" >"$T/restore.out" 2>"$T/restore.err" &
	RPID=$!
	vx_track "$RPID"
	wait_restored
}

# True once $PID is a restored, running copy of the original: a process
# other than the original (its start time differs), with the original's
# comm, not traced and not stopped (so the restorer is done with it).
vx_restored()
{
	local stat st start comm tracer
	stat=$(cat "/proc/$PID/stat" 2>/dev/null) || return 1
	comm=${stat#*(}
	comm=${comm%)*}
	set -- ${stat##*) }
	st=$1 start=${20:-}
	[ -n "$start" ] && [ "$start" != "$ORIG_START" ] || return 1
	[ "$comm" = "$ORIG_COMM" ] || return 1
	case $st in Z|X|t|T) return 1 ;; esac
	tracer=$(awk '/^TracerPid:/ {print $2}' "/proc/$PID/status" 2>/dev/null)
	[ "$tracer" = 0 ]
}

# Waits until $PID is restored (vx_restored), or fails if vxrestore
# ($RPID) gave up first.
wait_restored()
{
	local i
	for ((i = 0; i < 400; i++)); do
		if vx_restored; then
			vx_guard_check
			return 0
		fi
		if ! kill -0 "$RPID" 2>/dev/null; then
			wait "$RPID"
			fail "vxrestore exited $? without restoring $PID: $(head -n 3 "$T/restore.err")"
		fi
		sleep 0.05
	done
	fail "pid $PID not restored within 20 s"
}

# go_and_check [NAME]: sends SIGUSR1 to $PID (again every 3 s) until $OUT has
# a PASS or FAIL line; fails the case unless it is PASS.
go_and_check()
{
	local i res
	vx_guard_check
	for ((i = 0; i < 600; i++)); do
		(( i % 60 == 0 )) && kill -USR1 "$PID" 2>/dev/null
		res=$(grep -E '^(PASS|FAIL)' "$OUT" 2>/dev/null | tail -n 1)
		[ -n "$res" ] && break
		if ! vx_alive "$PID" && ! grep -Eq '^(PASS|FAIL)' "$OUT"; then
			fail "process $PID died without a result$(vx_restore_error)"
		fi
		sleep 0.05
	done
	case $res in
	PASS*) log "$res" ;;
	FAIL*) fail "program reported: $res" ;;
	*) fail "no result from $PID within 30 s" ;;
	esac
}

# ": <first line of vxrestore's stderr>" if there is one.
vx_restore_error()
{
	[ -s "$T/restore.err" ] && echo ": vxrestore said: $(head -n 1 "$T/restore.err")"
}

# Waits for vxrestore ($RPID) and checks it exited with status $1 (default 0).
wait_restore_exit()
{
	local st
	wait "$RPID"
	st=$?
	vx_untrack "$RPID"
	[ "$st" = "${1:-0}" ] || fail "vxrestore exited $st, expected ${1:-0}: $(head -n 3 "$T/restore.err")"
}

# The last "count N" value in $OUT (0 if none).
last_count()
{
	local v
	v=$(grep -E '^count [0-9]+$' "$OUT" 2>/dev/null | tail -n 1 | awk '{print $2}')
	echo "${v:-0}"
}

# Fails unless the counter in $OUT advances within a few seconds.
expect_counting()
{
	local c0 i
	c0=$(last_count)
	for ((i = 0; i < 100; i++)); do
		sleep 0.05
		[ "$(last_count)" -gt "$c0" ] && return 0
	done
	fail "counter of $PID stuck at $c0 ($*)"
}

# Runs vxrestore on a bad image in the foreground and checks the refusal:
# exit status 1, exactly one line on stderr, no process with $PID left.
expect_refused()
{
	local img=$1 what=$2 st
	timeout 60 "$VXRESTORE" "$img" >"$T/refused.out" 2>"$T/refused.err"
	st=$?
	[ "$st" = 1 ] || fail "vxrestore of $what exited $st, expected 1"
	[ "$(wc -l <"$T/refused.err")" = 1 ] ||
		fail "vxrestore of $what: expected a one-line message, got $(wc -l <"$T/refused.err") lines"
	sleep 0.2
	if vx_alive "$PID" && [ "$(vx_starttime "$PID")" != "$ORIG_START" ]; then
		fail "pid $PID exists after the failed restore of $what"
	fi
	log "$what refused: $(cat "$T/refused.err")"
}

# expect_refused_by WHAT PATTERN CMD...: runs CMD (vxrestore or vxcr img
# with its options) in the foreground and checks the refusal: exit status
# 1, exactly one line on stderr matching the grep -E PATTERN, no process
# with $PID left behind.
expect_refused_by()
{
	local what=$1 pat=$2 st
	shift 2
	timeout 60 "$@" >"$T/refused.out" 2>"$T/refused.err" </dev/null
	st=$?
	[ "$st" = 1 ] || fail "$what: exited $st, expected 1: $(head -n 2 "$T/refused.err")"
	[ "$(wc -l <"$T/refused.err")" = 1 ] ||
		fail "$what: expected a one-line message, got: $(head -n 3 "$T/refused.err")"
	grep -Eq -- "$pat" "$T/refused.err" ||
		fail "$what: message does not say '$pat': $(cat "$T/refused.err")"
	sleep 0.2
	if [ -n "${PID:-}" ] && vx_alive "$PID" && [ "$(vx_starttime "$PID")" != "$ORIG_START" ]; then
		fail "pid $PID exists after the refusal of $what"
	fi
	log "$what refused: $(cat "$T/refused.err")"
}

# refused_edit IMG WHAT PATTERN EDIT...: IMG changed by tests/fuzz/edit-image
# (each EDIT as it takes them) is refused by vxrestore in one line saying
# PATTERN (expect_refused_by).
refused_edit()
{
	local img=$1 what=$2 pat=$3 edit=$VX_BUILD/tests/fuzz/edit-image
	shift 3
	[ -x "$edit" ] || fail "$edit not built"
	"$edit" "$img" "$T/edited.img" "$@" || fail "edit-image failed ($what): $*"
	expect_refused_by "$what" "$pat" "$VXRESTORE" "$T/edited.img"
}

# expect_dump_refused WHAT PATTERN: vxdump of $PID must exit 1 with one
# refusal line matching PATTERN and the summary line, leave no image, and
# leave the target running (same start time).
expect_dump_refused()
{
	local what=$1 pat=$2 st
	"$VXDUMP" -o "$T/refused.img" "$PID" >"$T/refused.out" 2>"$T/refused.err"
	st=$?
	[ "$st" = 1 ] || fail "$what: vxdump exited $st, expected 1: $(head -n 3 "$T/refused.err")"
	[ "$(wc -l <"$T/refused.err")" = 2 ] ||
		fail "$what: expected a refusal and a summary, got: $(head -n 4 "$T/refused.err")"
	head -n 1 "$T/refused.err" | grep -Eq -- "$pat" ||
		fail "$what: refusal does not say '$pat': $(cat "$T/refused.err")"
	tail -n 1 "$T/refused.err" | grep -q "cannot be checkpointed: nothing was dumped" ||
		fail "$what: no summary line: $(tail -n 1 "$T/refused.err")"
	[ ! -e "$T/refused.img" ] || fail "$what: vxdump left an image"
	vx_alive "$PID" && [ "$(vx_starttime "$PID")" = "$ORIG_START" ] ||
		fail "$what: target $PID gone after the refused dump"
	log "$what refused: $(head -n 1 "$T/refused.err")"
}

# Standard case: start a prog, dump, check the pid is gone, restore in the
# background, send "go", check PASS and vxrestore's exit status, and that
# restore did not modify the image.
cr_cycle()
{
	local img=$T/img sum
	require_cr
	start_prog "$@"
	dump "$PID" "$img"
	sum=$(md5sum <"$img")
	restore_bg "$img"
	go_and_check
	wait_restore_exit 0
	[ "$(md5sum <"$img")" = "$sum" ] || fail "vxrestore modified the image"
	pass
}

# ---- Process trees and threads (issue 3) ----

# vx_tree_pids PID: PID and all its descendants, parents before children
# (read from /proc/P/task/*/children).
vx_tree_pids()
{
	local t c
	echo "$1"
	for t in /proc/"$1"/task/*; do
		for c in $(cat "$t/children" 2>/dev/null); do
			vx_tree_pids "$c"
		done
	done
}

# vx_tree_snapshot PID FILE: writes one sorted line per process of the tree
# rooted at PID ("pid P ppid Q pgid G sid S state C", C = Z zombie, T
# stopped, - otherwise; the root's ppid as "-", since a restored root is
# vxrestore's child) and one per thread ("tid T pid P").
vx_tree_snapshot()
{
	local root=$1 file=$2 p t stat st ppid
	for p in $(vx_tree_pids "$root"); do
		stat=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		set -- ${stat##*) }
		case $1 in Z|X) st=Z ;; T) st=T ;; *) st=- ;; esac
		ppid=$2
		[ "$p" = "$root" ] && ppid=-
		echo "pid $p ppid $ppid pgid $3 sid $4 state $st"
		for t in /proc/"$p"/task/*; do
			[ -e "$t" ] && echo "tid ${t##*/} pid $p"
		done
	done | sort >"$file"
}

# vx_track_tree PID: tracks every process of the tree (killed at exit).
vx_track_tree()
{
	local p
	for p in $(vx_tree_pids "$1"); do
		[ "$p" = "$1" ] || vx_track "$p"
	done
}

# vx_tree_gone FILE [TIMEOUT]: fails unless every pid in snapshot FILE is
# gone (dead and reaped) within TIMEOUT seconds (default 10).
vx_tree_gone()
{
	local p
	for p in $(awk '$1 == "pid" {print $2}' "$1"); do
		vx_wait_gone "$p" "${2:-10}" ||
			fail "pid $p of the tree still there after vxdump ($(cat /proc/$p/comm 2>/dev/null))"
	done
}

# vx_tree_expect FILE PID [TIMEOUT]: waits (default 10 s) until the tree
# rooted at PID matches snapshot FILE: same pids, ppids, pgids, sids,
# states and tids.  Fails the case with the difference otherwise.
vx_tree_expect()
{
	local file=$1 root=$2 i n=$(( ${3:-10} * 20 ))
	for ((i = 0; i < n; i++)); do
		vx_tree_snapshot "$root" "$T/tree.now"
		cmp -s "$file" "$T/tree.now" && return 0
		sleep 0.05
	done
	echo "--- tree before dump / after restore (-/+):"
	diff "$file" "$T/tree.now" | grep '^[<>]' | head -n 20 | sed 's/^</-/; s/^>/+/'
	fail "restored tree of $root differs from the dumped one ($(grep -c '^pid' "$file") processes, $(grep -c '^tid' "$file") threads before)"
}

# vx_tree_summary FILE: "N processes, M threads" of a snapshot.
vx_tree_summary()
{
	echo "$(grep -c '^pid' "$1") processes, $(grep -c '^tid' "$1") threads"
}

# tree_cr_cycle NAME [ARGS]: cr_cycle for a program made of several
# processes or threads: records the tree before the dump, checks vxdump
# removed all of it, and that after the restore the same tree (pids, ppids,
# pgids, sids, states, tids) exists again before "go"; image unchanged.
tree_cr_cycle()
{
	local img=$T/img sum
	require_cr
	start_prog "$@"
	vx_tree_snapshot "$PID" "$T/tree.before"
	vx_track_tree "$PID"
	log "tree of $PID: $(vx_tree_summary "$T/tree.before")"
	dump "$PID" "$img"
	vx_tree_gone "$T/tree.before"
	sum=$(sha256sum <"$img")
	restore_bg "$img"
	vx_tree_expect "$T/tree.before" "$PID"
	go_and_check
	wait_restore_exit 0
	[ "$(sha256sum <"$img")" = "$sum" ] || fail "vxrestore modified the image"
	pass "$(vx_tree_summary "$T/tree.before")"
}

# ---- The /proc guard (issue 11; NOTES "The /proc guard (issue 11)") ----
#
# dump() snapshots what /proc shows of the whole tree (proc-guard.py snap)
# just before vxdump runs; once the tree is restored (wait_restored, or at
# the latest go_and_check, before "go") the same snapshot of the restored
# tree is compared with it and any difference not normalised, accepted
# (guard-accepted.txt: an issue-11 item being fixed) or allowed by the
# case (guard_allow, with a reason) fails the case.  VX_GUARD=0 turns it
# off for a manual run (said in the log).

VX_GUARD_SNAP="" VX_GUARD_PID="" VX_GUARD_START="" VX_GUARD_N=0 VX_GUARD_OFF=""
VX_GUARD_ALLOW=() VX_GUARD_SCOPE=()
# The system's python3 without site packages (stdlib only): a pyenv shim
# costs ~0.2 s a call, the interpreter itself ~15 ms
VX_GUARD_PY=/usr/bin/python3
[ -x "$VX_GUARD_PY" ] || VX_GUARD_PY=$(command -v python3)

# guard_allow KEY-GLOB REASON: this case changes what KEY-GLOB matches
# between the dump and the restore by design; the guard lets it through
# and logs it with REASON.
guard_allow()
{
	[ -n "${2:-}" ] || fail "guard_allow $1: a reason is required"
	VX_GUARD_ALLOW+=(--allow "$1=$2")
}

# guard_off REASON: no comparison in this case (logged with REASON).
guard_off()
{
	[ -n "${1:-}" ] || fail "guard_off: a reason is required"
	VX_GUARD_OFF=$1
	log "guard: off for this case: $1"
}

# guard_main_only REASON: compare the root process and its main thread
# only, for a tree whose other members come and go by design.
guard_main_only()
{
	[ -n "${1:-}" ] || fail "guard_main_only: a reason is required"
	VX_GUARD_SCOPE=(--main-only)
	log "guard: main thread of the root only: $1"
}

# vx_guard_snap PID: the snapshot of PID's tree before its dump.
vx_guard_snap()
{
	[ "${VX_GUARD:-1}" != 0 ] && [ -z "$VX_GUARD_OFF" ] || return 0
	vx_alive "$1" || return 0
	VX_GUARD_N=$((VX_GUARD_N + 1))
	VX_GUARD_SNAP=$T/guard.$VX_GUARD_N.before
	VX_GUARD_PID=$1
	VX_GUARD_START=$(vx_starttime "$1")
	# tests/progs/counter prints to stdout as it runs, also between the
	# restore and the comparison, however it was started
	case $(cat "/proc/$1/comm" 2>/dev/null) in counter*) guard_allow 'fdinfo.1.pos' \
		"counter prints to stdout while it runs, also between the restore and the comparison" ;; esac
	"$VX_GUARD_PY" -S "$VX_ROOT/tests/integration/proc-guard.py" snap "$1" "$VX_GUARD_SNAP" \
		"${VX_GUARD_SCOPE[@]}" ||
		fail "proc-guard: cannot snapshot the tree of $1"
}

# vx_guard_check: compares the restored tree with the pending snapshot,
# if there is one and its root has been restored (another process with
# the same pid); fails the case on a difference.  A no-op otherwise.
vx_guard_check()
{
	local start
	[ -n "$VX_GUARD_SNAP" ] || return 0
	start=$(vx_starttime "$VX_GUARD_PID")
	if [ -z "$start" ] || [ "$start" = "$VX_GUARD_START" ]; then
		return 0	# not restored (yet): the original, or nothing
	fi
	vx_guard_compare "$VX_GUARD_PID"
}

# vx_guard_check_pidns ROOT: vx_guard_check for a tree restored by
# vxrestore --pidns, whose restored root is ROOT (another host pid): the
# tasks are compared by the pids they have in their own namespace.
vx_guard_check_pidns()
{
	[ -n "$VX_GUARD_SNAP" ] || return 0
	vx_guard_compare "$1" --pidns "$1"
}

# vx_guard_compare ROOT [OPTS]: the comparison of the pending snapshot
# with ROOT's tree now; fails the case on a difference.
vx_guard_compare()
{
	local st diff root=$1
	shift
	"$VX_GUARD_PY" -S "$VX_ROOT/tests/integration/proc-guard.py" compare "$VX_GUARD_SNAP" "$VX_GUARD_PID" \
		--case "$CASE" --accepted "$VX_ROOT/tests/integration/guard-accepted.txt" \
		--wait "${VX_GUARD_WAIT:-5}" "${VX_GUARD_ALLOW[@]}" "${VX_GUARD_SCOPE[@]}" "$@" \
		>"$VX_GUARD_SNAP.diff"
	st=$?
	diff=$VX_GUARD_SNAP.diff
	VX_GUARD_SNAP=""
	cat "$diff"
	[ "$st" = 0 ] && return 0
	fail "guard: /proc of the restored tree of $root differs from the dump's in $(grep -c '^guard:' "$diff") facts, first: $(grep -m 1 '^guard:' "$diff" | cut -c8-)"
}

# At a pass: says so if a snapshot was never compared (no restore of its
# root was seen), so a case the guard does not cover does not pass as
# covered.
vx_guard_unchecked()
{
	[ -n "$VX_GUARD_SNAP" ] || return 0
	echo "# guard: snapshot of $VX_GUARD_PID at its dump never compared (no restored copy seen)"
}

# file_index IMAGE PYEXPR: the index, among the FILE records of IMAGE, of
# the first whose payload p makes the python expression true (for
# edit-image's FILE[i] paths); fails if none does.
file_index()
{
	"$VXCR" img json "$1" | python3 -c '
import json, sys
recs = [r for r in json.load(sys.stdin)["records"] if r["type"] == "FILE"]
print(next(i for i, r in enumerate(recs) if eval(sys.argv[1], {"p": r["payload"]})))' "$2"
}

# vx_enter_netns ARGS...: runs the rest of the case (the script again,
# with ARGS) in a network namespace made here with only lo, up, and
# deleted when the case ends; in there it returns at once.  For sockets
# whose traffic must stay away from the host's (packet sockets, ping).
vx_enter_netns()
{
	local ns st
	if [ -n "${VX_NETNS:-}" ]; then
		ip link set lo up || fail "cannot bring lo up in $VX_NETNS"
		return 0
	fi
	ns=vxcr-$CASE-$$
	ip netns add "$ns" 2>/dev/null || skip "cannot make a network namespace"
	VX_NETNS=$ns ip netns exec "$ns" "$0" "$@"
	st=$?
	ip netns del "$ns" || st=1
	exit "$st"
}

# mount point of the v1 hierarchy carrying controller $1 (root "/")
cg_mount()
{
	awk -v want="$1" '{
		for (i = 7; $i != "-"; i++) ;
		if ($(i+1) != "cgroup" || !index("," $(i+3) ",", "," want ",")) next
		if ($4 != "/") exit 1
		print $5
		exit
	}' /proc/self/mountinfo
}
# the group of ours in the v1 hierarchy of controller $1
cg_own() { awk -F: -v c="$1" '$2 == c {print $3}' /proc/self/cgroup; }

# limits_idx IMG FILE: the index of FILE's setting in IMG's LIMITS record
# (empty if none)
limits_idx()
{
	"$VXCR" img json "$1" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["records"]:
    if r.get("type") == "LIMITS":
        for i, s in enumerate(r["payload"]["settings"]):
            if s["file"] == sys.argv[1]: print(i)
' "$2" || true
}
