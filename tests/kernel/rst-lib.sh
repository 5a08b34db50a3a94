# Helpers for the tests that run tests/kernel/progs/rst-target (sourced after
# lib.sh): where the target is.  Shell: busybox sh.

# in_pause PID: PID is rst-target, asleep in pause() (syscall 34); exits
# the wait when PID is gone.
in_pause()
{
	local nr comm
	[ -e "/proc/$1" ] || return 0
	read -r comm 2>/dev/null <"/proc/$1/comm" || return 1
	read -r nr _ 2>/dev/null <"/proc/$1/syscall" || return 1
	[ "$comm" = rst-target ] && [ "$nr" = 34 ]
}

# stopped_is PID: PID is rst-target in state T.
stopped_is()
{
	local st comm
	read -r comm 2>/dev/null <"/proc/$1/comm" || return 1
	read -r st 2>/dev/null <"/proc/$1/stat" || return 1
	st=${st##*) }
	[ "$comm" = rst-target ] && [ "${st%% *}" = T ]
}
