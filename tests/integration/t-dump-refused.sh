#!/bin/bash
# vxdump refuses what the image cannot express (NOTES, issue 3), using
# tests/progs/dump-refused: an MPTCP socket, an io_uring and its ring, the
# SQPOLL thread of a ring whose fd was closed, a vfork
# child sharing its parent's mm, a child sharing the mm (CLONE_VM), and two
# siblings sharing an fd table (CLONE_FILES) or cwd/root/umask (CLONE_FS)
# that is not their parent's (sharing with the parent, and threads with
# their own, are dumped: t-share-variants.sh), and all of the first two
# at once in a parent and its child (every refusal of the tree is listed,
# issue 9).  Each: exit status 1, one line on stderr per refused object
# naming the pid(s) and the reason, then one summary line, no image
# file left at -o, nothing on stdout, and the target keeps running: counter
# advancing, not stopped, not traced (TracerPid 0), its children too.
. "$(dirname "$0")/lib.sh"
require_cr

# refuse MODE REGEX...: dumps $PID, which must be refused with $NREFUSED
# (default 1) lines, each REGEX matching one, and a summary; then checks the
# target is unharmed and lets it check itself.
refuse()
{
	local mode=$1 img=$T/img.$1 st tracer n=${NREFUSED:-1} w
	"$VXDUMP" -o "$img" "$PID" >"$T/dump.out" 2>"$T/dump.err"
	st=$?
	[ "$st" = 1 ] || fail "vxdump of a process with a $mode exited $st, expected 1: $(head -n 3 "$T/dump.err")"
	[ "$(wc -l <"$T/dump.err")" = $((n + 1)) ] ||
		fail "vxdump ($mode): expected $n refusal(s) and a summary on stderr, got $(wc -l <"$T/dump.err") lines: $(head -n 6 "$T/dump.err")"
	for w in "${@:2}"; do
		head -n "$n" "$T/dump.err" | grep -Eq "$w" ||
			fail "vxdump ($mode): no line matches '$w': $(cat "$T/dump.err")"
	done
	tail -n 1 "$T/dump.err" | grep -Eq "^vxcr: (dump: )?$n objects? cannot be checkpointed: nothing was dumped" ||
		fail "vxdump ($mode): no summary line: $(tail -n 1 "$T/dump.err")"
	[ ! -e "$img" ] && [ ! -L "$img" ] || fail "vxdump ($mode) left $img behind"
	[ ! -s "$T/dump.out" ] || fail "vxdump ($mode) wrote to stdout"
	vx_alive "$PID" && [ "$(vx_starttime "$PID")" = "$ORIG_START" ] ||
		fail "target $PID ($mode) gone after the refused dump"
	st=$(sed 's/.*) //' "/proc/$PID/stat" | awk '{print $1}')
	[ "$st" != t ] && [ "$st" != T ] || fail "target $PID ($mode) left stopped ($st)"
	tracer=$(awk '/^TracerPid:/ {print $2}' "/proc/$PID/status")
	[ "$tracer" = 0 ] || fail "target $PID ($mode) still traced by $tracer"
	${PRE_CHECK:-:}
	expect_counting "after the refused dump ($mode)"
	log "$mode refused: $(cat "$T/dump.err")"
	go_and_check
	vx_wait_gone "$PID" 10 || fail "$PID ($mode) did not exit after its check"
	vx_untrack "$PID"
	rm -f "$OUT"
}

# child_of: the "child PID" line the program wrote (tracked for cleanup).
child_of()
{
	local c
	c=$(sed -n "s/^$1 //p" "$OUT")
	[ -n "$c" ] || fail "dump-refused did not report its $1"
	vx_track "$c"
	echo "$c"
}

# Besides the target, the children it made must be left running untraced.
check_untraced()
{
	local p st tracer
	for p in "$@"; do
		st=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $1}')
		[ -n "$st" ] && [ "$st" != Z ] || fail "child $p gone after the refused dump"
		[ "$st" != t ] && [ "$st" != T ] || fail "child $p left stopped ($st)"
		tracer=$(awk '/^TracerPid:/ {print $2}' "/proc/$p/status")
		[ "$tracer" = 0 ] || fail "child $p still traced by $tracer"
	done
}

P='(^|[^0-9])'	# a pid starts here ...
E='([^0-9]|$)'	# ... and ends here

start_prog dump-refused socket
sfd=$(sed -n 's/^socket //p' "$OUT")
[ -n "$sfd" ] || fail "dump-refused socket did not report its fd"
expect_counting "before dump (socket)"
refuse socket "$P$PID$E.*fd $sfd$E.*socket"

start_prog dump-refused io_uring
rfd=$(sed -n 's/^io_uring //p' "$OUT")
[ -n "$rfd" ] || fail "dump-refused io_uring did not report its fd"
expect_counting "before dump (io_uring)"
NREFUSED=2 refuse io_uring "$P$PID$E.*fd $rfd$E.*io_uring instances are not supported" \
	"$P$PID$E.*memory area .*io_uring.*io_uring rings are not supported"

# an SQPOLL thread of a ring whose fd was closed (registered): the thread
# never stops for ptrace (the dump used to wait for it forever)
start_prog dump-refused io_uring-sqpoll
tid=$(sed -n 's/^sqpoll //p' "$OUT")
[ -n "$tid" ] || fail "dump-refused io_uring-sqpoll did not report its thread"
expect_counting "before dump (io_uring-sqpoll)"
refuse io_uring-sqpoll "$P$PID$E.*thread ($tid)$E.*io_uring kernel thread"

start_prog dump-refused vfork
c=$(child_of child)
g=$(child_of vchild)
expect_counting "before dump (vfork)"
want="pid $c shares its address space with its child $g$E.*vfork"
PRE_CHECK="check_untraced $c $g" refuse vfork "$want"

start_prog dump-refused clone-vm
c=$(child_of child)
expect_counting "before dump (clone-vm)"
PRE_CHECK="check_untraced $c" refuse clone-vm "pid $c shares its address space.* with pid $PID$E"

for mode in sibling-files sibling-fs; do
	start_prog dump-refused "$mode"
	c=$(child_of child)
	s=$(child_of sibling)
	expect_counting "before dump ($mode)"
	case $mode in
	sibling-files) what='fd table \(CLONE_FILES\)' ;;
	sibling-fs) what='cwd/root/umask \(CLONE_FS\)' ;;
	esac
	PRE_CHECK="check_untraced $c $s" refuse "$mode" \
		"pid ($c|$s) shares its $what with pid ($c|$s), which is not its parent"
done
start_prog dump-refused many
c=$(child_of child)
sfd=$(sed -n 's/^socket //p' "$OUT")
rfd=$(sed -n 's/^io_uring //p' "$OUT")
expect_counting "before dump (many)"
NREFUSED=4 PRE_CHECK="check_untraced $c" refuse many "$P$PID$E.*fd $sfd$E.*socket" \
	"$P$PID$E.*fd $rfd$E.*io_uring" "$P$c$E.*fd $sfd$E.*socket" "$P$c$E.*fd $rfd$E.*io_uring"
pass
