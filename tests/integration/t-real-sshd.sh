#!/bin/bash
# sshd (Debian's openssh-server) on 127.0.0.1 with a host key and a user
# key made by the test (UsePAM no: see below), and an ssh session outside
# the dumped tree whose remote shell reads commands from a FIFO.  The
# sshd tree (the listener, the session's privileged monitor, its
# unprivileged child and the remote bash) is dumped with --tcp-established
# and restored: the same shell (same pid) keeps answering on the same
# connection.
# UsePAM no: with PAM, pam_loginuid writes the session's loginuid and the
# audit session id, which a restore cannot give back (set once per
# process, by the kernel's counter); the dump does not refuse it, but the
# session would carry another sessionid.  sshd needs /run/sshd (its
# privilege separation directory, Debian's package makes it at boot): made
# when missing, removed again.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/real-lib.sh"
require_cr
[ -x /usr/sbin/sshd ] || skip "needs openssh-server (contrib/install-deps.sh)"
command -v ssh >/dev/null || skip "needs openssh-client (contrib/install-deps.sh)"
if [ ! -d /run/sshd ]; then
	mkdir -m 755 /run/sshd
	vx_case_cleanup() { rmdir /run/sshd 2>/dev/null; }
fi
PORT=$(real_port)
ssh-keygen -q -t ed25519 -N "" -f "$T/host_key" || fail "ssh-keygen (host)"
ssh-keygen -q -t ed25519 -N "" -f "$T/user_key" || fail "ssh-keygen (user)"
cp "$T/user_key.pub" "$T/authorized_keys"
cat >"$T/sshd_config" <<EOF2
Port $PORT
ListenAddress 127.0.0.1
HostKey $T/host_key
PidFile $T/sshd.pid
AuthorizedKeysFile $T/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
Subsystem sftp internal-sftp
EOF2
start_cmd "$T/out" /usr/sbin/sshd -D -e -f "$T/sshd_config"
for ((i = 0; i < 200; i++)); do
	grep -q "Server listening" "$T/prog.err" && break
	sleep 0.05
done
grep -q "Server listening" "$T/prog.err" || fail "sshd did not start: $(tail -n 3 "$T/prog.err")"
mkfifo "$T/cmds"
exec 8<>"$T/cmds"	# the remote shell never sees EOF meanwhile
( ssh -T -i "$T/user_key" -p "$PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	-o BatchMode=yes -o LogLevel=ERROR root@127.0.0.1 bash <"$T/cmds" >"$T/ssh.out" \
	2>"$T/ssh.err" 8>&- & echo $! >"$T/ssh.pid" )
vx_track "$(cat "$T/ssh.pid")"
echo 'echo "before $((6 * 7)) $$"' >&8
vx_wait_line "$T/ssh.out" '^before 42 [0-9]+$' 60 ||
	fail "no ssh session: $(tail -n 3 "$T/ssh.err") $(tail -n 3 "$T/prog.err")"
SHPID=$(awk '/^before 42/ { print $3 }' "$T/ssh.out")
sleep 0.5
vx_track_tree "$PID"
vx_tree_pids "$PID" | grep -qx "$SHPID" || fail "the remote shell $SHPID is not in sshd's tree"
real_fds "$PID"
real_dump "$PID" "$T/img" --tcp-established
real_restore "$T/img"
echo 'echo "after $((6 * 7)) $$"' >&8
vx_wait_line "$T/ssh.out" '^after 42 ' 60 ||
	fail "the shell did not answer after restore: $(tail -n 3 "$T/ssh.err")"
[ "$(awk '/^after 42/ { print $3 }' "$T/ssh.out")" = "$SHPID" ] ||
	fail "another shell answered: $(grep '^after' "$T/ssh.out")"
real_criu "$PID"
if [ "$REAL_CRIU_OK" = 1 ]; then
	echo 'echo "criu $((6 * 7)) $$"' >&8
	vx_wait_line "$T/ssh.out" '^criu 42 ' 60 || fail "the shell did not answer after CRIU's restore"
fi
pass "the ssh session's shell ($SHPID) answered on its connection after restore"
