# Helpers for the kernel tests (tests/kernel/k-*.sh), sourced inside the
# QEMU guest: . "$VXK/tests/lib.sh".  Shell: busybox sh.
#
# A test prints one line per case: "ok NAME/CASE" or "not ok NAME/CASE: reason" (the
# guest's /init counts them; NAME: the test's name, a slash, the case).  It
# runs as root, in its own process under a subreaper with a time limit,
# with VXK_TMP an empty directory of its own on tmpfs; it ends every
# process it starts.  Environment: VXK (/vxcr: bin/ lib/ progs/ tests/
# vxcr.ko), VXK_NAME (the test's name), PATH with /vxcr/bin, /vxcr/progs.

set -u
NAME=$VXK_NAME
cd "$VXK_TMP" || exit 1

# ok CASE / not_ok CASE REASON: one verdict.
ok()
{
	echo "ok $NAME/$1"
}

not_ok()
{
	echo "not ok $NAME/$1: $2"
}

# check CASE CMD...: ok if CMD exits 0, else not ok with its last line.
check()
{
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$name"
	else
		not_ok "$name" "$* (exit $?): $(echo "$out" | tail -n 1)"
	fi
}

# check_fails CASE CMD...: ok if CMD exits non-zero, not ok if it succeeds.
check_fails()
{
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		not_ok "$name" "$* succeeded: $(echo "$out" | tail -n 1)"
	else
		ok "$name"
	fi
}

# wait_for SECONDS CMD...: polls CMD every 0.1 s; 0 once it succeeds.
wait_for()
{
	local n=$(($1 * 10))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# gone PID: PID no longer exists (or is a zombie).
gone()
{
	local st
	[ -e "/proc/$1" ] || return 0
	read -r st 2>/dev/null <"/proc/$1/stat" || return 0
	case ${st##*) } in Z*) return 0 ;; esac
	return 1
}

# want CASE GOT WANT: ok if GOT equals WANT, else not ok saying both.
want()
{
	[ "$2" = "$3" ] && ok "$1" || not_ok "$1" "got '$2', want '$3'"
}

# waitfile FILE [SECONDS]: until FILE is non-empty (default 5 s); 1 if it
# stays empty.
waitfile()
{
	wait_for "${2:-5}" test -s "$1"
}

# kill_wait PID...: SIGKILL and reap each (our children), ignoring errors.
kill_wait()
{
	local p
	for p in "$@"; do
		[ -n "$p" ] || continue
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	return 0
}

# proc_state PID: its state letter (/proc/PID/stat field 3), or nothing.
proc_state()
{
	local s
	s=$(cat /proc/$1/stat 2>/dev/null) || return 0
	s=${s##*) }
	echo "${s%% *}"
}

# in_state PID LETTER: PID is in that state now.
in_state()
{
	[ "$(proc_state $1)" = "$2" ]
}

# wait_state PID LETTER: waits (10 s) until PID is in that state; 0 or 1.
wait_state()
{
	wait_for 10 in_state "$1" "$2"
}
