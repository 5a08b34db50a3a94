#!/bin/bash
# vx-timeout: 300
# The VMADump dump side on a stock kernel (lib/vmad, vxcr/vmadump.h), with
# tests/progs/vmad-self:
#  self     vmad_dump returns the image's size in the live copy, whose
#           state (heap, counter, open file and offset, a pending blocked
#           signal, a sigaction, errno, mask, fds, no child left) is as
#           before, under a parent that sees no stop; vxrestore of the image
#           twice, and with --pidns: each copy sees 0 and the same state,
#           without the image's fd.  Into a pipe too.
#  flags    a private mapping of a file deleted before the restore: a plain
#           image and one with the file in the library list (even with
#           VMAD_DUMP_OTHER) are refused, leaving no process; the OTHER
#           image restores with the mapping's bytes; LIBS stores libc;
#           an EXEC image restores with its program deleted.
#  fail     bad fds, a read-only fd (EBADF), unknown flags (EINVAL), a full
#           tmpfs (ENOSPC), a second thread (EBUSY): the caller goes on.
#  killed   the helper killed while it holds the caller frozen: -1 EINTR,
#           the caller as before.
#  exec     vmad_execdump: the image of a program right after its exec,
#           recorded running, its ip at the interpreter's entry; restored,
#           it prints its argv, environment and counter; no process left,
#           also when the helper is killed while it dumps the program.
#  vxdump   --file-contents other: a process's private mapping of a file
#           deleted before the restore comes back; without it, refused.
#  libs     the library list's calls from a program.
. "$(dirname "$0")/lib.sh"
require_cr
P=$PROGS/vmad-self
[ -x "$P" ] || fail "$P not built"
command -v unshare >/dev/null || skip "unshare not installed"
LOG=$T/log

# no_stop_seen CMD...: runs CMD as the child of a parent that waits with
# WUNTRACED|WCONTINUED; fails if that parent sees a stop or a continue.
no_stop_seen()
{
	python3 -c '
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
while True:
    _, st = os.waitpid(pid, os.WUNTRACED | os.WCONTINUED)
    if os.WIFSTOPPED(st) or os.WIFCONTINUED(st):
        print("the parent saw a stop or continue", file=sys.stderr)
        sys.exit(3)
    if os.WIFEXITED(st):
        sys.exit(os.WEXITSTATUS(st))
    if os.WIFSIGNALED(st):
        sys.exit(128 + os.WTERMSIG(st))
' "$@"
}

count() { grep -c -- "$1" "$LOG"; }

# --- self: the live copy, then three restores of one image
no_stop_seen "$P" self "$LOG" "$T/self.vx" 0 </dev/null >/dev/null 2>"$T/self.err" ||
	fail "self: exited $?: $(head -n 2 "$LOG" "$T/self.err" | grep -v '^$' | tail -n 2)"
bytes=$(sed -n 's/^live ok bytes=//p' "$LOG")
size=$(stat -c %s "$T/self.vx")
[ -n "$bytes" ] && [ "$bytes" = "$size" ] || fail "self: vmad_dump said '$bytes', image has $size bytes"
"$VXCR" img verify "$T/self.vx" >/dev/null 2>&1 || fail "self: vxcr img verify refuses the image"
for i in 1 2; do
	"$VXRESTORE" "$T/self.vx" </dev/null >/dev/null 2>"$T/r$i.err" ||
		fail "restore $i exited $?: $(head -n 1 "$T/r$i.err")"
done
"$VXRESTORE" --pidns "$T/self.vx" </dev/null >/dev/null 2>"$T/r3.err" ||
	fail "restore --pidns exited $?: $(head -n 1 "$T/r3.err")"
grep -q '^FAIL' "$LOG" && fail "$(grep -m1 '^FAIL' "$LOG")"
[ "$(count '^restored ok$')" = 3 ] || fail "self: $(count '^restored ok$') restored copies said ok, want 3"
[ "$(count '^counter 42$')" = 4 ] || fail "self: the counter went on in $(count '^counter 42$') copies, want 4"
log "self: $bytes bytes, restored twice and with --pidns"

# --- into a pipe: the bytes counted are the bytes written
: >"$LOG"
"$P" self "$LOG" /proc/self/fd/1 0 </dev/null 2>"$T/pipe.err" | cat >"$T/pipe.vx"
bytes=$(sed -n 's/^live ok bytes=//p' "$LOG")
size=$(stat -c %s "$T/pipe.vx")
[ -n "$bytes" ] && [ "$bytes" = "$size" ] ||
	fail "pipe: vmad_dump said '$bytes', $size bytes came out: $(tail -n 1 "$LOG")"
"$VXRESTORE" "$T/pipe.vx" </dev/null >/dev/null 2>"$T/rp.err" ||
	fail "pipe: restore exited $?: $(head -n 1 "$T/rp.err")"
grep -q '^restored ok$' "$LOG" || fail "pipe: $(tail -n 1 "$LOG")"
log "pipe: $bytes bytes through a pipe, restored"

# --- flags: contents or references
: >"$LOG"
"$P" flags "$LOG" "$T/mapped" "$T/plain.vx" "$T/other.vx" "$T/lib.vx" "$T/libs.vx" \
	</dev/null >/dev/null 2>"$T/flags.err" || fail "flags: exited $?: $(tail -n 1 "$LOG")"
grep -q '^flags ok$' "$LOG" || fail "flags: $(tail -n 1 "$LOG")"
other=$(stat -c %s "$T/other.vx") libs=$(stat -c %s "$T/libs.vx")
[ "$libs" -gt $((other + 1000000)) ] || fail "flags: VMAD_DUMP_LIBS image $libs bytes, other $other"
rm -f "$T/mapped"
for img in plain lib libs; do
	"$VXRESTORE" "$T/$img.vx" </dev/null >/dev/null 2>"$T/$img.err" &&
		fail "flags: the $img image restored without its mapped file"
	grep -q "mapped behind a mapping no longer exists" "$T/$img.err" ||
		fail "flags: $img refused for another reason: $(head -n 1 "$T/$img.err")"
done
pid=$("$VXCR" img show "$T/plain.vx" | sed -n 's/.*root_pid=\([0-9]*\).*/\1/p')
[ -n "$pid" ] && [ ! -e "/proc/$pid" ] || fail "flags: pid $pid left after refused restores"
"$VXRESTORE" "$T/other.vx" </dev/null >/dev/null 2>"$T/other.err" ||
	fail "flags: the VMAD_DUMP_OTHER image: exited $?: $(head -n 1 "$T/other.err")"
grep -q '^restored ok flags-other$' "$LOG" || fail "flags: $(tail -n 1 "$LOG")"
log "flags: OTHER restores without the file, plain/lib-list/LIBS refused; LIBS $libs bytes"

# VMAD_DUMP_EXEC: the program's own areas whole, no exe link: a copy of
# the program dumps itself and is deleted before the restore
: >"$LOG"
cp "$P" "$T/vmad-copy"
"$T/vmad-copy" self "$LOG" "$T/exec-whole.vx" 2 </dev/null >/dev/null 2>"$T/ew.err" ||
	fail "flags: VMAD_DUMP_EXEC dump exited $?: $(tail -n 1 "$LOG")"
rm -f "$T/vmad-copy"
"$VXRESTORE" "$T/exec-whole.vx" </dev/null >/dev/null 2>"$T/rew.err" ||
	fail "flags: the VMAD_DUMP_EXEC image: exited $?: $(head -n 1 "$T/rew.err")"
grep -q '^restored ok$' "$LOG" || fail "flags: VMAD_DUMP_EXEC: $(tail -n 1 "$LOG")"
log "flags: VMAD_DUMP_EXEC restores with the program deleted"

# --- fail: errors leave the caller as it was
: >"$LOG"
mkdir "$T/small"
unshare -m sh -c "mount -t tmpfs -o size=8k none '$T/small' && exec '$P' fail '$LOG' '$T/small'" \
	</dev/null >/dev/null 2>"$T/fail.err" || fail "fail: exited $?: $(tail -n 1 "$LOG")"
grep -q '^fail ok$' "$LOG" || fail "fail: $(tail -n 1 "$LOG")"
log "fail: $(grep -c '^failed as expected' "$LOG") failures as expected"

# --- killed: the helper dies while the caller is frozen
: >"$LOG"
VXCR_TEST_PAUSE=pages "$P" killed "$LOG" "$T/killed.vx" </dev/null >/dev/null 2>"$T/killed.err" &
kpid=$!
vx_track "$kpid"
vx_wait_line "$LOG" '^pid ' 20 || fail "killed: no pid line"
tracer=0
for ((i = 0; i < 400; i++)); do
	tracer=$(awk '/^TracerPid:/ {print $2}' "/proc/$kpid/status" 2>/dev/null)
	[ -n "$tracer" ] && [ "$tracer" != 0 ] && break
	sleep 0.05
done
[ -n "$tracer" ] && [ "$tracer" != 0 ] || fail "killed: the caller was never traced"
[ "$(cat "/proc/$tracer/comm")" = vmad-dump ] || fail "killed: tracer $tracer is not the helper"
# traced means mid-dump: the helper seizes the caller first and, paused at
# the pages (VXCR_TEST_PAUSE, the test build), holds it for 60 s
sleep 0.3
kill -KILL "$tracer"
wait "$kpid"
st=$?
vx_untrack "$kpid"
[ "$st" = 0 ] || fail "killed: exited $st: $(tail -n 1 "$LOG")"
grep -q '^killed ok$' "$LOG" || fail "killed: $(tail -n 1 "$LOG")"
log "killed: vmad_dump returned -1 EINTR, the caller ran on"

# --- exec: vmad_execdump
: >"$LOG"
mark=vmad-mark-$$
"$P" exec "$LOG" "$T/exec.vx" "$P" show "$T/show.log" "$mark" b2 </dev/null >/dev/null \
	2>"$T/exec.err" || fail "exec: exited $?: $(tail -n 1 "$LOG")"
grep -q '^execdump ok bytes=' "$LOG" || fail "exec: $(tail -n 1 "$LOG")"
[ ! -e "$T/show.log" ] || fail "exec: the program ran an instruction before its dump"
for f in /proc/[0-9]*/cmdline; do
	tr '\0' ' ' <"$f" 2>/dev/null | grep -q -- "show $T/show.log $mark" &&
		fail "exec: a process of the program is left: $f"
done
"$VXCR" img json "$T/exec.vx" >"$T/exec.json" 2>"$T/json.err" || fail "exec: img json: $(head -n 1 "$T/json.err")"
python3 - "$T/exec.json" <<'EOF' || fail "exec: the image is not a fresh exec"
import json, struct, sys
img = json.load(open(sys.argv[1]))
recs = img["records"]
task = [r["payload"] for r in recs if r["type"] == "TASK"][0]
core = [r["payload"] for r in recs if r["type"] == "CORE"][0]
mm = [r["payload"] for r in recs if r["type"] == "MM"][0]
def val(x):
    return int(x, 0) if isinstance(x, str) else x
if val(task["state"]) != 1:
    sys.exit("state %s, not running" % task["state"])
auxv = [val(a) for a in mm["auxv"]]
aux = dict(zip(auxv[0::2], auxv[1::2]))
base = aux.get(7, 0)          # AT_BASE: the interpreter
entry = aux[9]                # AT_ENTRY: the program
ip = val(core["regs"]["ip"])
if base:
    files = {val(r["payload"]["id"]): r["payload"]["path"] for r in recs if r["type"] == "FILE"}
    vma = [v for v in mm["vmas"] if val(v["start"]) == base][0]
    with open(files[val(vma["file_id"])], "rb") as f:
        e_entry = struct.unpack("<Q", f.read(32)[24:32])[0]
    entry = base + e_entry
if ip != entry:
    sys.exit("ip %#x, entry point %#x" % (ip, entry))
EOF
"$VXRESTORE" "$T/exec.vx" </dev/null >/dev/null 2>"$T/rexec.err" ||
	fail "exec: restore exited $?: $(head -n 1 "$T/rexec.err")"
for k in 1 2 3; do
	grep -qx "show $mark b2 env=hello count=$k" "$T/show.log" ||
		fail "exec: restored program printed: $(head -n 3 "$T/show.log" | tr '\n' '|')"
done
log "exec: $(sed -n 's/^execdump ok //p' "$LOG"), running at the entry point, restored"

# the helper killed while it dumps the program: -1 EINTR, no process left
: >"$LOG"
mark=vmad-killed-$$
VXCR_TEST_PAUSE=pages "$P" exec-killed "$LOG" "$T/exec-killed.vx" "$P" show "$T/show2.log" \
	"$mark" </dev/null >/dev/null 2>"$T/ek.err" &
kpid=$!
vx_track "$kpid"
prog="" tracer=0
for ((i = 0; i < 400; i++)); do
	for f in /proc/[0-9]*/cmdline; do
		tr '\0' ' ' <"$f" 2>/dev/null | grep -q -- "show $T/show2.log $mark" || continue
		prog=${f%/cmdline}
		prog=${prog#/proc/}
	done
	[ -n "$prog" ] && tracer=$(awk '/^TracerPid:/ {print $2}' "/proc/$prog/status" 2>/dev/null)
	[ -n "$tracer" ] && [ "$tracer" != 0 ] && [ "$(cat "/proc/$tracer/comm" 2>/dev/null)" = vmad-dump ] &&
		break
	tracer=0
	sleep 0.05
done
[ "$tracer" != 0 ] || fail "exec: the program was never traced by the helper"
sleep 0.3
kill -KILL "$tracer"
wait "$kpid"
st=$?
vx_untrack "$kpid"
[ "$st" = 0 ] || fail "exec: killed helper: exited $st: $(tail -n 1 "$LOG")"
grep -q '^exec-killed ok$' "$LOG" || fail "exec: killed helper: $(tail -n 1 "$LOG")"
vx_wait_gone "$prog" 10 || fail "exec: killed helper: the program $prog is left"
[ ! -e "$T/show2.log" ] || fail "exec: killed helper: the program ran"
log "exec: the helper killed mid-dump: -1 EINTR, the program gone"

# --- vxdump --file-contents: the same classes for any process
: >"$LOG"
for how in plain other; do
	start_cmd "$T/hold.out" "$P" hold "$LOG" "$T/held"
	vx_wait_line "$LOG" '^ready$' 20 || fail "hold: not ready"
	opt=""
	[ "$how" = other ] && opt="--file-contents other"
	dump "$PID" "$T/hold-$how.vx" $opt
	: >"$LOG"
done
rm -f "$T/held"
"$VXRESTORE" "$T/hold-plain.vx" </dev/null >/dev/null 2>"$T/hold-plain.err" &&
	fail "vxdump: the plain image restored without its mapped file"
"$VXRESTORE" -d "$T/hold-other.vx" </dev/null >"$T/hold.pid" 2>"$T/hold-other.err" ||
	fail "vxdump --file-contents other: restore exited $?: $(head -n 1 "$T/hold-other.err")"
guard_allow "map.*" "--file-contents: the file's private area is anonymous memory holding its bytes"
vx_guard_check
kill -USR1 "$PID"
vx_wait_line "$LOG" '^(hold ok|FAIL)' 20 || fail "hold: no answer from the restored copy"
grep -q '^hold ok$' "$LOG" || fail "$(tail -n 1 "$LOG")"
log "vxdump --file-contents other: restored without the file"

# --- libs
: >"$LOG"
"$P" libs "$LOG" </dev/null >/dev/null 2>&1 || fail "libs: $(tail -n 1 "$LOG")"
grep -q '^libs ok$' "$LOG" || fail "libs: $(tail -n 1 "$LOG")"
# no helper outlives its call (each exits once it has reported)
helpers()
{
	local f
	for f in /proc/[0-9]*/comm; do
		[ "$(cat "$f" 2>/dev/null)" = vmad-dump ] && echo "${f%/comm}"
	done
}
for ((i = 0; i < 100; i++)); do
	[ -z "$(helpers)" ] && break
	sleep 0.05
done
[ -z "$(helpers)" ] || fail "helper processes left: $(helpers | tr '\n' ' ')"
pass "vmad_dump twice and --pidns, flags, failures, killed helper, execdump, the library list"
