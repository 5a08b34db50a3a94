# Helpers for the tests that run tests/kernel/progs/kckpt-prog (sourced
# after lib.sh).  Shell: busybox sh.

# has_line FILE PATTERN: a line of FILE matches.
has_line()
{
	grep -q "$2" "$1" 2>/dev/null
}

# wait_line FILE PATTERN: waits (5 s) until a line of FILE matches; 0 or 1.
wait_line()
{
	wait_for 5 has_line "$1" "$2"
}

# start_loop OUT MAPFILE [MODE]: starts kckpt-prog's loop (or MODE), sets
# LOOP_PID; waits for its "ready" and lets it spin a little.  0 or 1.
start_loop()
{
	kckpt-prog "$1" "${3:-loop}" "$2" </dev/null >"$1.stdout" 2>&1 &
	LOOP_PID=$!
	wait_line "$1" '^ready' || return 1
	sleep 0.3
}
