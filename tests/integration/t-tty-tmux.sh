#!/bin/bash
# Real programs on a real terminal, driven by keystrokes: bash runs in a
# tmux pane (a private tmux server: -L in a temp TMUX_TMPDIR, killed by
# its pid); vim and less, each a job of that bash, are dumped, then
# restored in the same pane by `vxrestore` typed at the bash prompt.  vim
# gets its unsaved buffer back, is stopped with ^Z and resumed with fg,
# edits and saves the file; less is stopped with ^Z, sent to the
# background with bg (where it stops on its terminal read), brought back
# with fg, scrolls and quits.  Each restored program gets the pane as its
# terminal and runs in its modes (keys arrive unechoed, one at a time).
# Last, a vim stopped by ^Z when dumped comes back as a stopped job.
. "$(dirname "$0")/lib.sh"
require_cr
command -v tmux >/dev/null || skip "needs tmux (contrib/install-deps.sh)"
command -v vim >/dev/null || skip "needs vim (contrib/install-deps.sh)"
command -v less >/dev/null || skip "needs less (contrib/install-deps.sh)"

export TMUX_TMPDIR=$T
unset TMUX
TM=(tmux -L vxcr -f /dev/null)
"${TM[@]}" new-session -d -x 100 -y 30 "env -i PATH=/usr/bin:/bin TERM=screen HOME=$T LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-} bash --norc --noprofile -i" ||
	fail "tmux did not start"
SERVER=$("${TM[@]}" display -p '#{pid}')
vx_track "$SERVER"
BASH_PID=$("${TM[@]}" display -p '#{pane_pid}')
vx_track "$BASH_PID"
log "tmux server $SERVER, bash $BASH_PID"

screen() { "${TM[@]}" capture-pane -p; }
send() { "${TM[@]}" send-keys "$@"; }
# wait_screen PATTERN [SECONDS]: until the pane shows a line matching PATTERN
wait_screen()
{
	local i
	for ((i = 0; i < ${2:-20} * 10; i++)); do
		screen | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	fail "the pane never showed '$1'; it shows:
$(screen)"
}
# the job bash runs now (its only child), waited for
job_of_bash()
{
	local i c
	for ((i = 0; i < 200; i++)); do
		c=$(cat /proc/"$BASH_PID"/task/*/children 2>/dev/null | tr -s ' ' '\n' | grep -v '^$' | head -n 1)
		[ -n "$c" ] && [ "$(cat /proc/"$c"/comm 2>/dev/null)" = "$1" ] && { echo "$c"; return 0; }
		sleep 0.1
	done
	return 1
}
# bash's job table must show STATE for its job
expect_job() { send "jobs" Enter; wait_screen "^\[1\]\+ +$1"; }

send "PS1='vx\$ '; HISTFILE=/dev/null; set +o histexpand; clear" Enter
wait_screen '^vx\$ ?$'

# --- vim: an unsaved buffer, stopped and resumed, edited and saved ---
F=$T/file.txt
send "vim -u NONE -N -n -i NONE $F" Enter
wait_screen 'file.txt'
send "ihello restored" Escape
wait_screen '^hello restored'
VIM_PID=$(job_of_bash vim) || fail "vim is not bash's job"
PID=$VIM_PID
vx_track "$PID"
log "vim $PID"
dump "$PID" "$T/vim.img"
send C-l
wait_screen '^vx\$'
send "clear; $VXRESTORE $T/vim.img" Enter
wait_restored_pid() { RPID=$(job_of_bash vxrestore) || fail "vxrestore is not bash's job"; }
wait_restored_pid
vx_track "$RPID"
wait_restored
send C-l
wait_screen '^hello restored'
send C-z
wait_screen 'Stopped'
expect_job 'Stopped'
log "^Z: bash shows the restored vim stopped"
send "fg" Enter
wait_screen '^hello restored'
send "A and saved" Escape ":wq" Enter
wait_screen '^vx\$'
vx_wait_gone "$VIM_PID" 10 || fail "vim did not exit after :wq"
[ "$(cat "$F")" = "hello restored and saved" ] || fail "vim saved '$(cat "$F")'"
log "vim edited and saved the file after restore"
vx_untrack "$PID"

# --- less: stopped, bg (stops on its read), fg, scrolls, quits ---
seq 1 1000 | sed 's/^/line /' >"$T/long.txt"
send "clear; less $T/long.txt" Enter
wait_screen '^line 29$'
LESS_PID=$(job_of_bash less) || fail "less is not bash's job"
PID=$LESS_PID
vx_track "$PID"
log "less $PID"
dump "$PID" "$T/less.img"
send C-l
wait_screen '^vx\$'
send "clear; $VXRESTORE $T/less.img" Enter
wait_restored_pid
vx_track "$RPID"
wait_restored
send C-l
wait_screen '^line 29$'
! screen | grep -q '^line 30$' || fail "less shows too much"
send C-z
wait_screen 'Stopped'
send "bg" Enter
wait_screen '\[1\]\+ .*&'
expect_job 'Stopped'
log "bg: the restored less stops again on its terminal read (bash shows it stopped)"
send "fg" Enter
send C-l
wait_screen '^line 29$'
send " "
wait_screen '^line 58$'
send "q"
wait_screen '^vx\$'
vx_wait_gone "$LESS_PID" 10 || fail "less did not quit"
vx_untrack "$PID"
log "less scrolled a page and quit after restore"

# --- vim stopped by ^Z when dumped: vxrestore shows as a stopped job ---
send "clear; vim -u NONE -N -n -i NONE $F" Enter
wait_screen '^hello restored and saved'
VIM_PID=$(job_of_bash vim) || fail "vim is not bash's job"
send C-z
wait_screen 'Stopped'
PID=$VIM_PID
vx_track "$PID"
dump "$PID" "$T/vim-stopped.img"
send "clear; $VXRESTORE $T/vim-stopped.img" Enter
wait_restored_pid
vx_track "$RPID"
expect_job 'Stopped'
for ((i = 0; i < 100; i++)); do	# restored (another start time) and let go
	[ "$(vx_starttime "$PID")" != "$ORIG_START" ] &&
		[ "$(awk '/^TracerPid:/ {print $2}' /proc/"$PID"/status 2>/dev/null)" = 0 ] && break
	sleep 0.1
done
vx_guard_check
log "a vim dumped stopped comes back as a stopped job of bash"
send "fg" Enter
send C-l
wait_screen '^hello restored and saved'
send ":q!" Enter
wait_screen '^vx\$'
vx_wait_gone "$VIM_PID" 10 || fail "vim did not quit"
vx_untrack "$PID"
kill -9 "$SERVER"
pass
