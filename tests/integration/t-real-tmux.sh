#!/bin/bash
# tmux (Debian's) server on a private socket (-S in the temp dir) with two
# sessions, each running bash.  The server's tree (server, two shells) is
# dumped and restored; then new clients connect: list-sessions shows both,
# and keys sent into each session's shell run there (each writes a file).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/real-lib.sh"
require_cr
command -v tmux >/dev/null || skip "needs tmux (contrib/install-deps.sh)"
S=$T/tmux.sock
tm() { tmux -S "$S" "$@"; }
tm -f /dev/null new-session -d -s one -x 80 -y 24 bash --norc ||
	fail "tmux new-session failed"
tm new-session -d -s two -x 80 -y 24 bash --norc || fail "tmux second session failed"
PID=$(tm display-message -p -t one '#{pid}') || fail "no tmux server pid"
vx_track "$PID"
vx_remember
sleep 1	# the shells settle at their prompts
vx_track_tree "$PID"
[ "$(tm list-sessions -F '#{session_name}' | sort | tr '\n' ' ')" = "one two " ] ||
	fail "sessions before the dump: $(tm list-sessions 2>&1)"
real_fds "$PID"
real_dump "$PID" "$T/img"
real_restore "$T/img"
got=$(tm list-sessions -F '#{session_name}' | sort | tr '\n' ' ')
[ "$got" = "one two " ] || fail "a new client sees sessions: '$got'"
for s in one two; do
	tm send-keys -t "$s" "echo alive-$s >$T/$s.done" Enter || fail "send-keys to $s failed"
done
vx_wait_line "$T/one.done" alive-one 20 || fail "the shell of session one does not run"
vx_wait_line "$T/two.done" alive-two 20 || fail "the shell of session two does not run"
real_criu "$PID"
if [ "$REAL_CRIU_OK" = 1 ]; then
	got=$(tm list-sessions -F '#{session_name}' | sort | tr '\n' ' ')
	[ "$got" = "one two " ] || fail "after CRIU's restore a new client sees: '$got'"
fi
tm kill-server
vx_wait_gone "$PID" 10 || fail "tmux server $PID did not exit on kill-server"
[ -z "$RPID" ] || wait_restore_exit 0
pass "a new client sees both sessions, both shells run"
