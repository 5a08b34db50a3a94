#!/bin/bash
# Executable images (vxcr binfmt, vxcr-exec).  A counter whose stdout is a
# pipe (external: the image takes the invoker's fd 1) is dumped to
# snap.vx, execute bit set.  In a new user and mount namespace (Linux
# >= 6.7: binfmt_misc mounted there is that namespace's own instance, so
# nothing is registered on the host) the case checks:
# - install refusals: binfmt_misc not mounted, mounted read-only, a
#   missing interpreter, a bad name (usage, 2), installed twice;
# - install, status; ./snap.vx run from a shell: the process with the pid
#   the shell started is the counter (Name, exe, not traced, parent the
#   shell), counting on from its dumped value, writing "pid P count N" to
#   the shell's redirection of stdout, passing its checks, and the shell's
#   wait gets its exit status 0;
# - uninstall: execve of the image fails with ENOEXEC, status says so.
# Where the namespace's own instance cannot be mounted, the same runs in a
# private mount namespace on the host's instance with a uniquely named
# entry removed by a trap.
. "$(dirname "$0")/lib.sh"
require_cr
[ -x "$VX_BUILD/bin/vxcr-exec" ] || fail "$VX_BUILD/bin/vxcr-exec not built"

OUT=$T/out
# stdout a pipe to a sibling cat (a child of its own would make a tree)
(sh -c 'echo $$ >"$1"; exec "$2" "$3" 5' sh "$T/prog.pid" "$PROGS/counter" "$OUT" \
	</dev/null 2>"$T/prog.err" | cat >"$T/prog.out") &
vx_wait_line "$T/prog.pid" '^[0-9]+$' 10 || fail "counter did not start"
PID=$(cat "$T/prog.pid")
vx_track "$PID"
vx_wait_line "$OUT" '^ready$' 20 || fail "counter did not get ready"
vx_remember
expect_counting "before dump"
guard_off "the image runs with the invoker's pid and stdio, in a user namespace"
dump "$PID" "$T/snap.vx"
before=$(last_count)
chmod 755 "$T/snap.vx"

cat >"$T/inner.sh" <<'EOF'
# Runs in the new namespaces; every line it prints is "KEY VALUE...".
set -u
VXCR=$VX_BUILD/bin/vxcr
DIR=/proc/sys/fs/binfmt_misc
say() { echo "$@" >>"$T/inner.out"; }
"$VXCR" binfmt status >/dev/null 2>"$T/unmounted.err"
say unmounted-status $?
"$VXCR" binfmt install --name "$NAME" 2>"$T/unmounted-install.err"
say unmounted-install $?
mount -o ro -t binfmt_misc binfmt_misc "$DIR" || { say mount-failed; exit 0; }
"$VXCR" binfmt install --name "$NAME" 2>"$T/ro.err"
say ro-install $?
umount "$DIR"
mount -t binfmt_misc binfmt_misc "$DIR" || { say mount-failed; exit 0; }
if [ "$NAME" != vxcr ]; then
	trap '[ -e "$DIR/$NAME" ] && echo -1 >"$DIR/$NAME"' EXIT
fi
"$VXCR" binfmt install --name "$NAME" --interpreter /nonexistent/vxcr-exec 2>"$T/nointerp.err"
say nointerp-install $?
"$VXCR" binfmt install --name 'a/b' 2>"$T/badname.err"
say badname-install $?
"$VXCR" binfmt install --name "$NAME" 2>"$T/install.err"
say install $?
"$VXCR" binfmt install --name "$NAME" 2>"$T/twice.err"
say twice-install $?
"$VXCR" binfmt status --name "$NAME" >"$T/status.out" 2>&1
say status $?
"$T/snap.vx" >"$T/run.out" 2>"$T/run.err" </dev/null &
P=$!
say exec-pid "$P" "$$"
for ((i = 0; i < 200; i++)); do
	[ "$(awk '/^Name:/ {print $2}' "/proc/$P/status" 2>/dev/null)" = counter ] &&
		[ "$(awk '/^TracerPid:/ {print $2}' "/proc/$P/status")" = 0 ] && break
	sleep 0.05
done
say name "$(awk '/^Name:/ {print $2}' "/proc/$P/status")"
say ppid "$(awk '/^PPid:/ {print $2}' "/proc/$P/status")"
say exe "$(readlink "/proc/$P/exe")"
for ((i = 0; i < 200; i++)); do
	grep -q "^pid $P count" "$T/run.out" && break
	sleep 0.05
done
kill -USR1 "$P"
wait "$P"
say exit $?
"$VXCR" binfmt uninstall --name "$NAME" 2>"$T/uninstall.err"
say uninstall $?
python3 -c '
import os, sys
try:
    os.execv(sys.argv[1], [sys.argv[1]])
except OSError as e:
    print("execv-errno", e.errno)' "$T/snap.vx" >>"$T/inner.out"
"$VXCR" binfmt status --name "$NAME" >"$T/status-after.out" 2>&1
say status-after $?
"$VXCR" binfmt uninstall --name "$NAME" 2>"$T/uninstall2.err"
say uninstall-again $?
EOF

# inner: the answer of KEY in inner.out
inner() { awk -v k="$1" '$1 == k {$1 = ""; sub(/^ /, ""); print; exit}' "$T/inner.out"; }

if unshare -Urm true 2>/dev/null &&
	unshare -Urm sh -c 'mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc' 2>/dev/null; then
	log "binfmt_misc: the user namespace's own instance"
	T=$T NAME=vxcr unshare -Urm bash "$T/inner.sh"
else
	log "binfmt_misc: the host's instance in a private mount namespace, entry vxcr-t$$"
	T=$T NAME=vxcr-t$$ unshare -m --propagation private bash "$T/inner.sh"
fi
[ -s "$T/inner.out" ] || fail "the inner part printed nothing"
cat "$T/inner.out" | sed 's/^/# inner: /'
grep -q mount-failed "$T/inner.out" && fail "cannot mount binfmt_misc in the namespace"

# expect KEY VALUE [FILE-WITH-ONE-LINE-REASON]
expect()
{
	local got
	got=$(inner "$1")
	[ "$got" = "$2" ] || fail "$1: got '$got', want '$2'${3:+: $(cat "$3")}"
	if [ -n "${3:-}" ] && [ "$2" != 0 ]; then
		[ "$(wc -l <"$3")" = 1 ] || fail "$1: not one line: $(cat "$3")"
	fi
}
expect unmounted-status 1 "$T/unmounted.err"
grep -q 'not mounted' "$T/unmounted.err" || fail "status unmounted: $(cat "$T/unmounted.err")"
expect unmounted-install 1 "$T/unmounted-install.err"
expect ro-install 1 "$T/ro.err"
grep -q 'not writable' "$T/ro.err" || fail "read-only: $(cat "$T/ro.err")"
expect nointerp-install 1 "$T/nointerp.err"
grep -q 'not there' "$T/nointerp.err" || fail "no interpreter: $(cat "$T/nointerp.err")"
expect badname-install 2 "$T/badname.err"
expect install 0 "$T/install.err"
expect twice-install 1 "$T/twice.err"
expect status 0
grep -q "interpreter $VX_BUILD/bin/vxcr-exec" "$T/status.out" || fail "status: $(cat "$T/status.out")"
grep -q "flags: .*F" "$T/status.out" || fail "status lacks flag F: $(cat "$T/status.out")"
grep -q "magic 56584352494d470a" "$T/status.out" || fail "status: magic: $(cat "$T/status.out")"
set -- $(inner exec-pid)
P=$1 shell=$2
expect name counter
expect ppid "$shell"
expect exe "$PROGS/counter"
grep -q "^pid $P count" "$T/run.out" || fail "no 'pid $P count' on the shell's stdout: $(head -3 "$T/run.out")"
after=$(grep -E '^count [0-9]+$' "$OUT" | awk -v b="$before" '$2 > b {print $2; exit}')
[ -n "$after" ] || fail "no count above $before after ./snap.vx"
log "last count before dump $before, first after ./snap.vx $after, pid $P"
grep -q '^PASS counter' "$OUT" || fail "counter: $(tail -1 "$OUT")"
expect exit 0 "$T/run.err"
expect uninstall 0 "$T/uninstall.err"
expect execv-errno 8
expect status-after 1
expect uninstall-again 1 "$T/uninstall2.err"
pass "./snap.vx ran as pid $P with the shell's stdout, counted on from $before; 6 refusals; ENOEXEC once uninstalled"
