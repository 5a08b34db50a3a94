#!/bin/bash
# sshd (Debian's openssh-server) on 127.0.0.1 with a host key and a user
# key made by the test (UsePAM no: see below), and an ssh session outside
# the dumped tree whose remote shell reads commands from a FIFO.  The
# sshd tree (3 processes: the listener, the session's sshd, the remote
# bash) is dumped with --tcp-established and restored: the same shell
# (same pid) keeps answering on the same connection.
# UsePAM no: with PAM (Debian's default), pam_loginuid sets the session's
# loginuid, and the kernel gives it a new audit session id, which no
# restore can give back; vxdump refuses such a tree ("audit session N
# (loginuid 0) cannot be restored"), as the last part checks: a second
# sshd with UsePAM yes and a session, refused, left running.
# sshd needs /run/sshd (its privilege separation directory, which
# Debian's package makes at boot): made when missing, removed again.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/real-lib.sh"
require_cr
[ -x /usr/sbin/sshd ] || skip "needs openssh-server (contrib/install-deps.sh)"
command -v ssh >/dev/null || skip "needs openssh-client (contrib/install-deps.sh)"
if [ ! -d /run/sshd ]; then
	mkdir -m 755 /run/sshd
	vx_case_cleanup() { rmdir /run/sshd 2>/dev/null; }
fi
ssh-keygen -q -t ed25519 -N "" -f "$T/host_key" || fail "ssh-keygen (host)"
ssh-keygen -q -t ed25519 -N "" -f "$T/user_key" || fail "ssh-keygen (user)"
cp "$T/user_key.pub" "$T/authorized_keys"
# sshd_up PAM NAME: an sshd (UsePAM PAM, config and logs $T/NAME.*) on a
# free port with an ssh session outside its tree, whose remote bash reads
# $T/NAME.cmds (held open on fd 8 or 9) and writes $T/NAME.out.  Sets PID
# and PORT.
sshd_up()
{
	local i
	PORT=$(real_port)
	cat >"$T/$2.config" <<EOF2
Port $PORT
ListenAddress 127.0.0.1
HostKey $T/host_key
PidFile $T/$2.pid
AuthorizedKeysFile $T/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM $1
StrictModes no
UseDNS no
PrintMotd no
Subsystem sftp internal-sftp
EOF2
	( /usr/sbin/sshd -D -e -f "$T/$2.config" </dev/null >"$T/$2.log" 2>&1 & echo $! >"$T/$2.spid" )
	PID=$(cat "$T/$2.spid")
	vx_track "$PID"
	for ((i = 0; i < 200; i++)); do
		grep -q "Server listening" "$T/$2.log" && break
		sleep 0.05
	done
	grep -q "Server listening" "$T/$2.log" || fail "sshd did not start: $(tail -n 3 "$T/$2.log")"
	mkfifo "$T/$2.cmds"
	( ssh -T -i "$T/user_key" -p "$PORT" -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR root@127.0.0.1 bash \
		<"$T/$2.cmds" >"$T/$2.out" 2>"$T/$2.err" 8>&- 9>&- & echo $! >"$T/$2.cpid" )
	vx_track "$(cat "$T/$2.cpid")"
}
sshd_up no sshd
exec 8<>"$T/sshd.cmds"	# the remote shell never sees EOF meanwhile
echo 'echo "before $((6 * 7)) $$"' >&8
vx_wait_line "$T/sshd.out" '^before 42 [0-9]+$' 60 ||
	fail "no ssh session: $(tail -n 3 "$T/sshd.err") $(tail -n 3 "$T/sshd.log")"
SHPID=$(awk '/^before 42/ { print $3 }' "$T/sshd.out")
sleep 0.5
vx_track_tree "$PID"
vx_tree_pids "$PID" | grep -qx "$SHPID" || fail "the remote shell $SHPID is not in sshd's tree"
real_fds "$PID"
real_dump "$PID" "$T/img" --tcp-established --keep-net-lock
real_restore "$T/img"
echo 'echo "after $((6 * 7)) $$"' >&8
vx_wait_line "$T/sshd.out" '^after 42 ' 60 ||
	fail "the shell did not answer after restore: $(tail -n 3 "$T/sshd.err")"
[ "$(awk '/^after 42/ { print $3 }' "$T/sshd.out")" = "$SHPID" ] ||
	fail "another shell answered: $(grep '^after' "$T/sshd.out")"
real_criu "$PID"
if [ "$REAL_CRIU_OK" = 1 ]; then
	echo 'echo "criu $((6 * 7)) $$"' >&8
	vx_wait_line "$T/sshd.out" '^criu 42 ' 60 || fail "the shell did not answer after CRIU's restore"
fi
real_end
# With PAM: the session's audit session id is refused at dump.
sshd_up yes pam
exec 9<>"$T/pam.cmds"
echo 'echo "pam $((6 * 7))"' >&9
vx_wait_line "$T/pam.out" '^pam 42$' 60 || fail "no ssh session with PAM: $(tail -n 3 "$T/pam.err")"
sleep 0.5
vx_track_tree "$PID"
vx_remember
"$VXDUMP" -o "$T/pam.img" "$PID" >"$T/refused.out" 2>"$T/refused.err" &&
	fail "vxdump accepted a session with an audit session id"
grep -q "audit session [0-9]* (loginuid 0) cannot be restored" "$T/refused.err" ||
	fail "no audit session refusal: $(head -n 2 "$T/refused.err")"
[ "$(wc -l <"$T/refused.err")" = 2 ] || fail "expected one refusal and the summary: $(cat "$T/refused.err")"
[ ! -e "$T/pam.img" ] || fail "vxdump left an image"
vx_alive "$PID" && [ "$(vx_starttime "$PID")" = "$ORIG_START" ] || fail "sshd gone after the refusal"
echo 'echo "pam again $((6 * 7))"' >&9
vx_wait_line "$T/pam.out" '^pam again 42$' 60 || fail "the PAM session stopped after the refused dump"
log "UsePAM yes refused: $(head -n 1 "$T/refused.err")"
pass "the ssh session's shell ($SHPID) answered on its connection after restore"
