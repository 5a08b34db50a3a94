#!/bin/bash
# vmad_undump() on a stock kernel (tests/progs/vmad-undump calls it): the
# calling process becomes the dumped counter in place.  Checks, in order:
# - file image: the caller's pid is the counter's now (/proc/PID/status
#   Name, Pid, PPid = this shell, not traced), its maps are the counter's
#   (no vmad-undump, no libvxcr), its fds are the image's (0-2, nothing of
#   the caller's), it counts on from its dumped value, passes its own
#   checks, and this shell's wait gets its exit status (0, where a refused
#   vmad-undump exits 3);
# - the same from a pipe (fd:5 fed by cat);
# - refusals with the caller alive and unchanged (vmad-undump checks its
#   memory, pid, fds, cwd, mask, disposition, no child: "caller intact"):
#   /dev/null, garbage, truncated images, a flipped byte, fd not open, a
#   vfork child (EBUSY: it shares its parent's memory), a tree whose
#   pids are in use (ENOTTY), an fd owner (F_SETOWN: it names the image's pid, ENOTTY),
#   a root image undumped by uid 65534 (EPERM);
# - a tree (tests/progs/vmad-tree, parent and child): the caller becomes
#   the parent, the child is forked by it with its own pid, counts on, and
#   the parent's waitpid reaps it with its status;
# - thread-basic (8 threads) undumped: its threads get their own ids back
#   and pass their own checks;
# - uid 65534 undumps its own counter's image (its exe link stays the
#   caller's without CAP_CHECKPOINT_RESTORE, as the kernel module's);
# - vmad-self's own image (vmad_dump, SIGUSR1 pending, an open file at
#   an offset) undumped: vmad_dump returns 0 there, its checks pass;
# - VXCR_TRUSTED_KEYS: an unsigned image refused (EKEYREJECTED, intact), a
#   signed one undumped;
# - past the point of no return: the helper killed while it restores
#   (VXCR_TEST_PAUSE=pages) kills the caller and leaves nothing; a failure
#   there (VXCR_TEST_FAIL=tree) kills the caller too.
. "$(dirname "$0")/lib.sh"
require_cr
UNDUMP=$PROGS/vmad-undump
[ -x "$UNDUMP" ] || fail "$UNDUMP not built"

start_prog counter 5
guard_off "the caller keeps its own pid, parent, session and group (compared by hand below)"
expect_counting "before dump"
dump "$PID" "$T/img"
before=$(last_count)
sum=$(sha256sum <"$T/img")
cp "$OUT" "$T/out.at-dump" # each undump starts from the dump's output again

# undump_bg SOURCE [REDIRECTS in $UREDIR]: the caller as our child; sets UP.
undump_bg()
{
	"$UNDUMP" "$@" >"$T/undump.out" 2>"$T/undump.err" </dev/null &
	UP=$!
	vx_track "$UP"
}

# The caller $UP, restored: the counter's, not traced, ours.
expect_became()
{
	local i st name ppid tracer
	for ((i = 0; i < 200; i++)); do
		st=$(cat "/proc/$UP/status" 2>/dev/null)
		name=$(awk '/^Name:/ {print $2}' <<<"$st")
		tracer=$(awk '/^TracerPid:/ {print $2}' <<<"$st")
		[ "$name" = counter ] && [ "$tracer" = 0 ] && break
		vx_alive "$UP" || fail "caller $UP died: $(cat "$T/undump.out" "$T/undump.err")"
		sleep 0.05
	done
	[ "$name" = counter ] || fail "caller $UP is '$name', not counter: $(cat "$T/undump.out")"
	[ "$tracer" = 0 ] || fail "caller $UP still traced by $tracer"
	grep -q "^caller pid $UP\$" "$T/undump.out" || fail "vmad-undump did not say its pid $UP"
	[ "$(awk '/^Pid:/ {print $2}' <<<"$st")" = "$UP" ] || fail "Pid: in status is not $UP"
	ppid=$(awk '/^PPid:/ {print $2}' <<<"$st")
	[ "$ppid" = "$$" ] || fail "restored caller's parent is $ppid, not this shell $$"
	grep -q '/counter$' "/proc/$UP/maps" || fail "maps lack the counter binary"
	grep -Eq 'vmad-undump|libvxcr' "/proc/$UP/maps" && fail "maps still hold the caller's program"
	local fds
	fds=$(ls "/proc/$UP/fd" | sort -n | tr '\n' ' ')
	[ "$fds" = "0 1 2 " ] || fail "fds of the restored caller: $fds (want 0 1 2)"
	[ "$(readlink "/proc/$UP/fd/1")" = "$T/prog.out" ] || fail "fd 1 is $(readlink "/proc/$UP/fd/1")"
	[ "$(readlink "/proc/$UP/exe")" = "$PROGS/counter" ] || fail "exe is $(readlink "/proc/$UP/exe")"
	# no helper left as its child (double fork; a pipe's cat may be one)
	local c
	for c in $(cat /proc/"$UP"/task/*/children 2>/dev/null); do
		[ "$(cat "/proc/$c/comm" 2>/dev/null)" = vmad-undump ] && fail "the restored caller has a helper child $c"
	done
}

# The counter goes on above $1, passes its checks, exits 0 to our wait.
expect_counts_on()
{
	local from=$1 after st i
	for ((i = 0; i < 100; i++)); do
		after=$(grep -E '^count [0-9]+$' "$OUT" | awk -v b="$from" '$2 > b {print $2; exit}')
		[ -n "$after" ] && break
		sleep 0.05
	done
	[ -n "$after" ] || fail "no count above $from after the undump"
	log "last count before dump $from, first after undump $after (pid $UP)"
	grep -q "^pid $UP count" "$T/prog.out" || fail "the counter's stdout does not show pid $UP"
	kill -USR1 "$UP"
	vx_wait_line "$OUT" '^(PASS|FAIL)' 20 || fail "no result from the undumped counter"
	grep -q '^PASS counter' "$OUT" || fail "counter: $(grep -E '^FAIL' "$OUT")"
	wait "$UP"
	st=$?
	vx_untrack "$UP"
	[ "$st" = 0 ] || fail "wait for $UP gave $st, not the counter's exit status 0"
}

log "file image"
undump_bg "$T/img"
expect_became
expect_counts_on "$before"
[ "$(sha256sum <"$T/img")" = "$sum" ] || fail "the image changed"

log "pipe image"
cp "$T/out.at-dump" "$OUT"
: >"$T/prog.out"
"$UNDUMP" fd:5 5< <(cat "$T/img") >"$T/undump.out" 2>"$T/undump.err" </dev/null &
UP=$!
vx_track "$UP"
expect_became
expect_counts_on "$before"

# expect_undump_refused ERRNO WHAT SOURCE [runner...]: refused, intact.
expect_undump_refused()
{
	local want=$1 what=$2 src=$3 st
	shift 3
	timeout 60 "$@" "$UNDUMP" "$src" >"$T/refused.out" 2>&1 </dev/null
	st=$?
	[ "$st" = 3 ] || fail "$what: vmad-undump exited $st, want 3 (refused, intact): $(cat "$T/refused.out")"
	grep -q "^refused errno=$want " "$T/refused.out" ||
		fail "$what: $(grep refused "$T/refused.out"), want errno $want"
	grep -q '^caller intact$' "$T/refused.out" || fail "$what: caller changed"
	log "$what: $(grep '^refused' "$T/refused.out" | cut -c1-150)"
}

EBADMSG=74 ENOTTY=25 EPERM=1 EBADF=9
expect_undump_refused $EBADMSG "empty image" /dev/null
head -c 5000 /dev/urandom >"$T/garbage"
expect_undump_refused $EBADMSG "garbage" "$T/garbage"
size=$(stat -c %s "$T/img")
for cut in 20 100 $((size / 2)) $((size - 9)); do
	head -c "$cut" "$T/img" >"$T/cut"
	expect_undump_refused $EBADMSG "image cut at $cut of $size bytes" "$T/cut"
done
cp "$T/img" "$T/flip"
python3 - "$T/flip" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) * 2 // 3] ^= 0x40
open(p, "wb").write(b)
EOF
expect_undump_refused $EBADMSG "a flipped byte" "$T/flip"
expect_undump_refused $EBADF "fd not open" fd:77
expect_undump_refused 16 "a vfork child (memory shared with its parent)" "vfork:$T/img"

log "a tree: the child forked by the restored caller"
mv "$OUT" "$T/out.counter"
start_prog vmad-tree
vx_track_tree "$PID"
kid=$(cat "/proc/$PID/task/$PID/children" | tr -d ' ')
[ -n "$kid" ] || fail "vmad-tree has no child"
expect_counting "vmad-tree before dump"
dump "$PID" "$T/tree.img"
vx_wait_gone "$kid" 10 || fail "vmad-tree's child $kid still there after the dump"
before=$(last_count)
undump_bg "$T/tree.img"
for ((i = 0; i < 200; i++)); do
	[ "$(awk '/^TracerPid:/ {print $2}' "/proc/$kid/status" 2>/dev/null)" = 0 ] &&
		[ "$(awk '/^TracerPid:/ {print $2}' "/proc/$UP/status" 2>/dev/null)" = 0 ] &&
		[ "$(awk '/^Name:/ {print $2}' "/proc/$UP/status" 2>/dev/null)" = vmad-tree ] && break
	vx_alive "$UP" || fail "caller $UP died: $(cat "$T/undump.out" "$T/undump.err")"
	sleep 0.05
done
[ "$(awk '/^PPid:/ {print $2}' "/proc/$kid/status")" = "$UP" ] ||
	fail "child $kid is not the undumped caller $UP's: $(grep PPid "/proc/$kid/status")"
[ "$(awk '/^PPid:/ {print $2}' "/proc/$UP/status")" = "$$" ] || fail "caller's parent is not this shell"
n=$(grep -c "^child $kid count" "$OUT")
vx_wait_line "$OUT" "^count $((before + 20))\$" 10 || fail "vmad-tree did not count on from $before"
for ((i = 0; i < 100; i++)); do
	[ "$(grep -c "^child $kid count" "$OUT")" -gt "$n" ] && break
	sleep 0.05
done
[ "$(grep -c "^child $kid count" "$OUT")" -gt "$n" ] || fail "the child $kid does not count on"
kill -USR1 "$UP"
vx_wait_line "$OUT" '^(PASS|FAIL)' 20 || fail "no result from the undumped vmad-tree"
grep -q '^PASS vmad-tree' "$OUT" || fail "vmad-tree: $(grep -E '^FAIL' "$OUT")"
wait "$UP"
st=$?
vx_untrack "$UP"
[ "$st" = 0 ] || fail "wait for $UP gave $st"
log "vmad-tree undumped as pid $UP, its child $kid forked by it, reaped by it"

log "a tree that cannot be: its child's pid in use"
mv "$OUT" "$T/out.vmad-tree"
start_prog vmad-tree
vx_track_tree "$PID"
dump "$PID" "$T/tree2.img" --leave-running
expect_undump_refused $ENOTTY "a tree whose pids are in use" "$T/tree2.img"
grep -q 'in use' "$T/refused.out" || fail "the tree refusal does not say why: $(cat "$T/refused.out")"
kill -9 "$PID" $(cat "/proc/$PID/task/$PID/children" 2>/dev/null)

log "an fd owner names the image's pid"
mv "$OUT" "$T/out.tree"
start_prog fown
dump "$PID" "$T/fown.img"
expect_undump_refused $ENOTTY "an fd with an owner" "$T/fown.img"
grep -q 'F_SETOWN' "$T/refused.out" || fail "the owner refusal does not say so: $(cat "$T/refused.out")"

log "threads keep their ids"
mv "$OUT" "$T/out.fown"
start_prog thread-basic
tids=$(ls "/proc/$PID/task" | grep -vx "$PID" | sort -n | tr '\n' ' ')
dump "$PID" "$T/threads.img"
undump_bg "$T/threads.img"
for ((i = 0; i < 200; i++)); do
	[ "$(awk '/^Name:/ {print $2}' "/proc/$UP/status" 2>/dev/null)" = thread-basic ] &&
		[ "$(awk '/^TracerPid:/ {print $2}' "/proc/$UP/status")" = 0 ] && break
	vx_alive "$UP" || fail "caller $UP died: $(cat "$T/undump.out" "$T/undump.err")"
	sleep 0.05
done
now=$(ls "/proc/$UP/task" | grep -vx "$UP" | sort -n | tr '\n' ' ')
[ "$now" = "$tids" ] || fail "threads of the undumped $UP: $now, want $tids"
kill -USR1 "$UP"
vx_wait_line "$OUT" '^(PASS|FAIL)' 30 || fail "no result from the undumped thread-basic"
grep -q '^PASS thread-basic' "$OUT" || fail "thread-basic: $(grep -E '^FAIL' "$OUT")"
wait "$UP"
st=$?
vx_untrack "$UP"
[ "$st" = 0 ] || fail "wait for $UP gave $st"
log "thread-basic undumped as pid $UP with its 8 threads' ids: $now"

log "an image of a uid the caller cannot be"
pub=$(mktemp -d)
chmod 755 "$pub"
cp "$T/img" "$pub/root.img"
chmod 644 "$pub/root.img"
expect_undump_refused $EPERM "root's image undumped by uid 65534" "$pub/root.img" \
	setpriv --reuid 65534 --regid 65534 --clear-groups

log "an unprivileged caller undumps its own image"
: >"$pub/out"
chmod 777 "$pub"
chmod 666 "$pub/out"
(cd "$pub" && exec setpriv --reuid 65534 --regid 65534 --clear-groups \
	"$PROGS/counter" "$pub/out" 5 </dev/null >/dev/null 2>&1) &
NP=$!
vx_track "$NP"
vx_wait_line "$pub/out" '^ready$' 20 || fail "uid 65534's counter did not get ready"
sleep 0.3
"$VXDUMP" -o "$pub/nobody.img" "$NP" >/dev/null 2>"$T/dump-nobody.err" ||
	fail "vxdump of uid 65534's counter: $(cat "$T/dump-nobody.err")"
vx_wait_gone "$NP" 10 || fail "uid 65534's counter still there after its dump"
chmod 644 "$pub/nobody.img"
nb=$(grep -E '^count [0-9]+$' "$pub/out" | tail -n 1 | awk '{print $2}')
(cd "$pub" && exec setpriv --reuid 65534 --regid 65534 --clear-groups \
	"$UNDUMP" "$pub/nobody.img" >"$T/undump.out" 2>"$T/undump.err" </dev/null) &
UP=$!
vx_track "$UP"
for ((i = 0; i < 200; i++)); do
	[ "$(awk '/^Name:/ {print $2}' "/proc/$UP/status" 2>/dev/null)" = counter ] &&
		[ "$(awk '/^TracerPid:/ {print $2}' "/proc/$UP/status")" = 0 ] && break
	vx_alive "$UP" || fail "uid 65534's caller died: $(cat "$T/undump.out" "$T/undump.err")"
	sleep 0.05
done
[ "$(awk '/^Uid:/ {print $2 $3 $4 $5}' "/proc/$UP/status")" = 65534655346553465534 ] ||
	fail "uid 65534's undumped counter: $(grep Uid: "/proc/$UP/status")"
# without CAP_CHECKPOINT_RESTORE the exe link stays the caller's (as the module's)
[ "$(readlink "/proc/$UP/exe")" = "$UNDUMP" ] || fail "exe is $(readlink "/proc/$UP/exe")"
vx_wait_line "$pub/out" "^count $((nb + 20))\$" 10 || fail "uid 65534's counter did not count on from $nb"
kill -USR1 "$UP"
vx_wait_line "$pub/out" '^(PASS|FAIL)' 20 || fail "no result from uid 65534's counter"
grep -q '^PASS counter' "$pub/out" || fail "uid 65534's counter: $(tail -n 1 "$pub/out")"
wait "$UP"
st=$?
vx_untrack "$UP"
[ "$st" = 0 ] || fail "wait for uid 65534's $UP gave $st"
log "uid 65534 undumped its own counter as pid $UP, from count $nb"
rm -rf "$pub"

log "the helper killed while it restores"
VXCR_LOG=2 VXCR_TEST_PAUSE=pages "$UNDUMP" "$T/img" >"$T/undump.out" 2>"$T/undump.err" </dev/null &
UP=$!
vx_track "$UP"
helper=""
for ((i = 0; i < 200; i++)); do
	helper=$(awk '/^TracerPid:/ {print $2}' "/proc/$UP/status" 2>/dev/null)
	[ -n "$helper" ] && [ "$helper" != 0 ] && grep -q 'pausing at pages' "$T/undump.err" && break
	sleep 0.05
done
[ -n "$helper" ] && [ "$helper" != 0 ] || fail "no helper traces $UP: $(cat "$T/undump.err")"
vx_track "$helper"
kill -9 "$helper"
wait "$UP"
st=$?
vx_untrack "$UP"
[ "$st" = 137 ] || fail "caller exited $st after its helper was killed, want 137 (SIGKILL)"
vx_wait_gone "$helper" 5 || fail "helper $helper still there"
vx_wait_gone "$UP" 5 || fail "caller $UP still there"

log "a failure past the point of no return"
VXCR_TEST_FAIL=tree "$UNDUMP" "$T/img" >"$T/undump.out" 2>"$T/undump.err" </dev/null &
UP=$!
vx_track "$UP"
wait "$UP"
st=$?
vx_untrack "$UP"
[ "$st" = 137 ] || fail "caller exited $st after a failure past its point of no return, want 137"
[ "$(sha256sum <"$T/img")" = "$sum" ] || fail "the image changed"
log "a self-dump (vmad_dump) undumped in place: the call returns 0 there"
"$PROGS/vmad-self" self "$T/self.log" "$T/self.img" 0 </dev/null >"$T/self.out" 2>&1 ||
	fail "vmad-self exited $?: $(cat "$T/self.out" "$T/self.log")"
"$UNDUMP" "$T/self.img" >"$T/undump.out" 2>"$T/undump.err" </dev/null &
UP=$!
vx_track "$UP"
wait "$UP"
st=$?
vx_untrack "$UP"
[ "$st" = 0 ] || fail "the undumped self-dump exited $st: $(cat "$T/undump.out" "$T/undump.err" "$T/self.log")"
grep -q '^restored ok' "$T/self.log" || fail "no 'restored ok' (state, SIGUSR1 pending, file offset): $(cat "$T/self.log")"
log "VXCR_TRUSTED_KEYS: only a signed image is undumped"
mkdir "$T/keys" "$T/trusted"
"$VXCR" key new "$T/keys/t" >/dev/null 2>&1 || fail "vxcr key new failed"
cp "$T/keys/t.pub" "$T/trusted/"
expect_undump_refused 129 "an unsigned image with VXCR_TRUSTED_KEYS" "$T/img" \
	env VXCR_TRUSTED_KEYS="$T/trusted"
grep -q 'not signed' "$T/refused.out" || fail "the unsigned refusal does not say so: $(cat "$T/refused.out")"
mv "$OUT" "$T/out.threads"
start_prog counter 5
expect_counting "before the signed dump"
dump "$PID" "$T/signed.img" --sign "$T/keys/t.key"
before=$(last_count)
VXCR_TRUSTED_KEYS=$T/trusted "$UNDUMP" "$T/signed.img" >"$T/undump.out" 2>"$T/undump.err" </dev/null &
UP=$!
vx_track "$UP"
expect_became
expect_counts_on "$before"

pass "undumped in place from a file and a pipe, 13 refusals intact, a tree, threads with their ids, an unprivileged caller, killed helper and late failure kill the caller, a self-dump returns 0, signed images with VXCR_TRUSTED_KEYS"
