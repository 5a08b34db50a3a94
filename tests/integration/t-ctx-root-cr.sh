#!/bin/bash
# The whole-context test of issue 14: a guest with --root (busybox and
# Debian's python3, mkguest_py) and limits (pids.max, memory.max) runs
# /main.sh: a counting shell loop appending "I PID" to /tmp/loop, and in
# the background ctx-root-server.py: a POSIX queue with prioritised
# messages (an mq fd held), a SysV semaphore set and a SysV queue with
# typed messages in the context's IPC namespace, files in /dev/shm (the
# guest's own tmpfs; a named semaphore mapped and a log held open there),
# and a running total served over /tmp/req.  Recorded
# from inside (ctx exec): the pids, /proc/1/mountinfo normalised, the
# /dev/shm files (type, mode, size, mtime, owner, md5), /proc/sysvipc and
# the POSIX queue's attributes; and ctx info.  vxdump --ctx; the context is
# gone; the guest tree is copied (cp -a) and deleted; a restore without it
# is refused in one line and leaves nothing, so is one with a mapped file
# (busybox) of another size, or mtime, or an fd's file (the shell's
# stdout) of another size, in the copy; the copy is moved to the guest's
# path (same contents, other inodes) and the image restored: everything
# recorded is the same, the loop and the server go on without a gap, the
# queue and semaphores hold the same values and still work.  Dumped again
# and restored into a tree made anew in place (mkdir, cp -a of its
# contents: the root gets the dumped one's inode number back), it goes on
# again.  The limits hold (a fork bomb inside stops at pids.max,
# memory.max read back).
. "$(dirname "$0")/ctx-lib.sh"
G=$T/guest NPROC=16 MEM=$((128 << 20))
t0=$(date +%s%N)
mkguest_py "$G"
cp "$VX_ROOT/tests/integration/ctx-root-server.py" "$G/server.py" || fail "cannot copy the server"
cat >"$G/main.sh" <<'EOF'
exec </dev/null >/tmp/main.out 2>&1
/usr/bin/python3 -S /server.py &
i=0
while :; do
	i=$((i + 1))
	echo "$i $$" >>/tmp/loop
	sleep 0.05
done
EOF
fork_py "$G/tmp/fork.py"
log "guest built in $(( ($(date +%s%N) - t0) / 1000000 )) ms ($(du -sh "$G" | cut -f1))"

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
inside() { "$VXCR" ctx exec "$XID" -- /bin/sh -c "$1"; }

# The server: REQ N CMD [ARG]: the response's text after "N " (fails the
# case if none within 20 s).
NREQ=0
REQ()
{
	NREQ=$((NREQ + 1))
	echo "$NREQ $*" >"$G/tmp/req.new" && mv "$G/tmp/req.new" "$G/tmp/req" || fail "cannot write a request"
	vx_wait_line "$G/tmp/resp" "^$NREQ " 20 || fail "no response to request $NREQ ($*): $(tail -n 3 "$G/tmp/resp")"
	RES=$(grep "^$NREQ " "$G/tmp/resp" | tail -n 1)
	RES=${RES#"$NREQ "}
}

# What the context looks like from inside, one file per aspect, in $T/$1.*:
# pids (pid comm ppid of every task but ourselves and the loop's sleep),
# mountinfo normalised (ids, parents, devices and peer group numbers out),
# /dev/shm, SysV objects without times and last pids, the POSIX queue's
# attributes seen by another process, ctx info without host pids.
snapshot()
{
	inside 'for d in /proc/[0-9]*; do
		p=${d#/proc/}; [ "$p" = $$ ] && continue
		read -r l <"$d/stat" 2>/dev/null || continue
		c=${l#*\(}; c=${c%%\)*}; set -- ${l##*) }
		[ "$2" = $$ ] || echo "$p $c $2"
	done' | sort -n >"$T/$1.all" || fail "pids from inside"
	# the loop's sleep, and its child before it runs sleep, come and go
	awk 'NR == FNR { c[$1] = $2; next } $2 != "sleep" && !($2 == "sh" && c[$3] == "sh")' \
		"$T/$1.all" "$T/$1.all" >"$T/$1.pids"
	inside 'cat /proc/1/mountinfo' | awk '{
		prop = "private"
		for (i = 7; $i != "-"; i++) { p = $i; sub(/:.*/, "", p); prop = (prop == "private" ? "" : prop ",") p }
		print $5, $4, $6, prop, $(i + 1), $(i + 3) }' >"$T/$1.mounts" || fail "mountinfo from inside"
	inside 'cd /dev/shm && find . | sort | while read -r f; do
		stat -c "%n %F %a %s %Y %u:%g" "$f"
		if [ -L "$f" ]; then readlink "$f"; elif [ -f "$f" ]; then md5sum <"$f"; fi
	done' >"$T/$1.shm" || fail "/dev/shm from inside"
	inside 'cat /proc/sysvipc/sem /proc/sysvipc/msg' | awk '
		$2 == "semid" { k = "sem"; next } $2 == "msqid" { k = "msg"; next }
		k == "sem" { print k, $1, $2, $3, $4, $5, $6, $7, $8 }
		k == "msg" { print k, $1, $2, $3, $4, $5, $8, $9, $10, $11 }' >"$T/$1.ipc" ||
		fail "/proc/sysvipc from inside"
	"$VXCR" ctx exec "$XID" -- /usr/bin/python3 -S -c '
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
a = (ctypes.c_long * 8)()
q = libc.mq_open(b"/vxq", 0)
assert q >= 0 and libc.mq_getattr(q, a) == 0, "mq_open/mq_getattr failed"
print("mq /vxq maxmsg=%d msgsize=%d curmsgs=%d" % (a[1], a[2], a[3]))' >>"$T/$1.ipc" ||
		fail "mq_getattr from inside"
	"$VXCR" ctx info "$XID" | grep -v '^\(initpid\|supervisor\):' >"$T/$1.info" || fail "ctx info"
}

# The group files of the limits: "pids.max N" and "memory.max M" whether
# they are in the v2 group or the v1 hierarchies of a hybrid host.
limit_files()
{
	local cg v1 f
	cg=$(sed -n 's/^cgroup: //p' "$T/$1.info")
	for f in pids.max memory.max; do
		[ -f "$cg/$f" ] && echo "$f $(cat "$cg/$f")" && continue
		case $f in
		pids.max) v1=$(sed -n 's/^pids cgroup: //p' "$T/$1.info") ;;
		memory.max) v1=$(awk '{ for (i = 7; $i != "-"; i++) ;
			if ($(i+1) == "cgroup" && index("," $(i+3) ",", ",memory,")) { print $5; exit } }' \
				/proc/self/mountinfo)/vxcr/$XID
			f=memory.limit_in_bytes ;;
		esac
		[ -f "$v1/$f" ] && echo "$f $(cat "$v1/$f")" || echo "$f missing"
	done
}

# Nothing of the context left: no record, no ctx info, no group, no
# process whose root is the guest's path, no mount of ours on the host.
nothing_left()
{
	local cg=$1 d p
	[ -e "$VXCR_RUNDIR/$XID.ctx" ] && fail "$2: the record is there"
	d=$(stat -c %d:%i "$G" 2>/dev/null)
	p=$(find /proc -mindepth 2 -maxdepth 2 -path '/proc/[0-9]*/root' -exec stat -L -c '%d:%i %n' {} + \
		2>/dev/null | awk -v a="$GROOT0" -v b="${d:-none}" '$1 == a || $1 == b { print $2 }')
	[ -z "$p" ] || fail "$2: processes in the guest's root: $p"
	grep -q " $T" /proc/self/mountinfo && fail "$2: a mount under $T on the host: $(grep " $T" /proc/self/mountinfo)"
	"$VXCR" ctx info "$XID" >/dev/null 2>&1 && fail "$2: ctx info finds the context"
	for d in $cg $(awk '{ for (i = 7; $i != "-"; i++) ; if ($(i+1) == "cgroup") print $5 "/vxcr/'"$XID"'" }' \
		/proc/self/mountinfo); do
		[ -d "$d" ] && fail "$2: group $d is there"
	done
	return 0
}

# First: a guest tree deleted and made anew in place whose root gets the
# dumped root's inode number back (ext4 gives a new directory the lowest
# free inode of its group: `rm -rf G; mkdir G` often does it by itself;
# here empty directories are made until one has that number, which then
# becomes the root), its busybox another number: the restore must not take
# the new root for the dumped one and refuse busybox as replaced, but let
# its files in by size and mtime.  The image is signed and verified (the
# supervisor of a restored context reads it on in a forked child).
B=$((XID + 30000)) GB=$T/small # far from the xids other cases take (XID + 1..4)
mkguest "$GB"
"$VXCR" ctx create "$B" --root "$GB" -- /bin/sh -c 'i=0; while :; do i=$((i + 1)); echo $i >>/tmp/n; sleep 0.05; done' \
	</dev/null >/dev/null 2>"$T/create.err" || fail "ctx create $B: $(cat "$T/create.err")"
vx_wait_line "$GB/tmp/n" '^[3-9]' 10 || fail "the small guest's loop does not run"
mkdir "$T/keys" && "$VXCR" key new "$T/keys/k" >/dev/null || fail "vxcr key new"
"$VXDUMP" --sign "$T/keys/k.key" --ctx "$B" -o "$T/img.small" 2>"$T/dump.err" ||
	fail "vxdump --sign --ctx $B: $(cat "$T/dump.err")"
R0=$(stat -c %i "$GB" "$GB/bin/busybox" | tr '\n' ' ')
mkdir "$T/fill" && cp -a "$GB" "$T/small.copy" && rm -rf "$GB" || fail "cannot copy $GB"
for ((k = 0; k < 40; k++)); do
	mkdir "$T/fill/$k" "$T/fill/$k."{1..99} || fail "mkdir in $T/fill"
	D=$(stat -c '%i %n' "$T/fill/$k" "$T/fill/$k."* | awk -v i="${R0%% *}" '$1 == i { print $2 }')
	[ -z "$D" ] || break
done
mv "${D:-$(mktemp -d "$T/fill/XXXX")}" "$GB" && rm -rf "$T/fill" && cp -a "$T/small.copy/." "$GB/" ||
	fail "cannot recreate $GB"
R1=$(stat -c %i "$GB" "$GB/bin/busybox" | tr '\n' ' ')
N=$(tail -n 1 "$GB/tmp/n")
timeout 60 "$VXRESTORE" --trusted-keys "$T/keys" "$T/img.small" 2>"$T/restore.err" ||
	fail "restore into $GB made anew (root and busybox inodes $R0-> $R1): $(cat "$T/restore.err")"
vx_wait_line "$GB/tmp/n" "^$((N + 2))\$" 10 || fail "the small guest's loop does not go on after $N"
[ "${R0%% *}" = "${R1%% *}" ] && R1="$R1(the root's number again)" ||
	R1="$R1(not the root's number: $((k * 100)) directories made did not get it)"
log "small guest made anew: root and busybox inodes $R0-> $R1, restored"
"$VXCR" ctx kill "$B" 2>/dev/null
"$VXCR" ctx wait "$B" >/dev/null 2>&1

GROOT0=$(stat -c %d:%i "$G")
"$VXCR" ctx create "$XID" --root "$G" --limit "pids.max=$NPROC,memory.max=$MEM" -- /bin/sh /main.sh \
	</dev/null >"$T/create.out" 2>"$T/create.err" || fail "ctx create: $(cat "$T/create.err")"
vx_wait_line "$G/tmp/resp" '^ready ' 20 || fail "the server did not start: $(cat "$G/tmp/main.out")"
vx_wait_line "$G/tmp/loop" '^3 ' 10 || fail "the loop does not count"
for v in 1 2 3 4 5; do
	REQ add "$v"
done
REQ state
STATE=${RES% served=*}
case $STATE in "mq=2048/8/128/4 sem=3,7,11 msgq=3 psem=5") ;; *) fail "server state: $RES" ;; esac
[ "$RES" = "$STATE served=6 total=15" ] || fail "server before the dump: $RES"
snapshot before
log "inside: $(awk '{ print $1 "=" $2 }' "$T/before.pids" | tr '\n' ' ')"
log "$(wc -l <"$T/before.mounts") mounts, $(grep -c . "$T/before.shm") lines of /dev/shm, $(tr '\n' ';' <"$T/before.ipc")"
grep -q "^2 sh 1$" "$T/before.pids" && grep -q " python3.* 2$" "$T/before.pids" ||
	fail "tasks inside: $(cat "$T/before.pids")"
grep -q "^/dev/shm / .* tmpfs " "$T/before.mounts" && grep -q "big.bin regular file 644 8388608 " "$T/before.shm" ||
	fail "no /dev/shm tmpfs with the server's files: $(cat "$T/before.mounts" "$T/before.shm")"
limit_files before >"$T/before.limits"
grep -qx "pids.max $NPROC" "$T/before.limits" && grep -qx "memory.* $MEM" "$T/before.limits" ||
	fail "limits before the dump: $(cat "$T/before.limits")"
grep -q "^limits: .*=$MEM" "$T/before.info" || fail "ctx info shows no memory.max: $(cat "$T/before.info")"
INIT0=$(awk '$1 == "initpid:" {print $2}' <("$VXCR" ctx info "$XID"))
CG=$(sed -n 's/^cgroup: //p' "$T/before.info")
(nothing_left "$CG" "the check itself" >/dev/null) && fail "nothing_left does not see the running context"

t0=$(date +%s%N)
"$VXDUMP" --stats --ctx "$XID" -o "$T/img" >"$T/dump.out" 2>"$T/dump.err" ||
	fail "vxdump --ctx: $(head -n 3 "$T/dump.err")"
DUMP_MS=$(ms_since "$t0")
vx_wait_gone "$INIT0" 10 || fail "init $INIT0 still there after the dump"
nothing_left "$CG" "after the dump"
LAST=$(tail -n 1 "$G/tmp/loop")
log "dumped in $DUMP_MS ms (wall), image $(stat -c %s "$T/img") bytes; loop at '$LAST'; $(grep -v '^$' "$T/dump.err" | tail -n 1)"
SUM=$(md5sum <"$T/img")

# The guest tree deleted and made again from a copy
cp -a "$G" "$T/copy" && rm -rf "$G" || fail "cannot copy the guest"
expect_refused_by "restore without the guest tree" "$G" "$VXRESTORE" "$T/img"
nothing_left "$CG" "after the restore without the guest tree"
cp -a "$T/copy" "$G" || fail "cannot copy the guest back"
echo >>"$G/bin/busybox" && touch -r "$T/copy/bin/busybox" "$G/bin/busybox"
expect_refused_by "restore with a longer busybox" "/bin/busybox changed since the dump \\(size" "$VXRESTORE" "$T/img"
nothing_left "$CG" "after the restore with a longer busybox"
cp -a "$T/copy/bin/busybox" "$G/bin/busybox" && touch -d @1000000000 "$G/bin/busybox"
expect_refused_by "restore with a busybox of another mtime" "/bin/busybox changed since the dump \\(modified" "$VXRESTORE" "$T/img"
nothing_left "$CG" "after the restore with a busybox of another mtime"
cp -a "$T/copy/bin/busybox" "$G/bin/busybox" && echo more >>"$G/tmp/main.out"
expect_refused_by "restore with the shell's stdout file longer" "/tmp/main.out changed since the dump" \
	"$VXRESTORE" "$T/img"
nothing_left "$CG" "after the restore with the shell's stdout file longer"
rm -rf "$G" && mv "$T/copy" "$G" || fail "cannot move the copy to $G"
[ "$(md5sum <"$T/img")" = "$SUM" ] || fail "a refused restore changed the image"

t0=$(date +%s%N)
timeout 60 "$VXRESTORE" -v "$T/img" >"$T/restore.out" 2>"$T/restore.err" ||
	fail "vxrestore: $(head -n 3 "$T/restore.err")"
log "restored in $(ms_since "$t0") ms (wall); $(grep -o 'restored pid.*' "$T/restore.err" | head -n 1)"
[ "$(md5sum <"$T/img")" = "$SUM" ] || fail "vxrestore changed the image"

REQ state
[ "$RES" = "$STATE served=7 total=15" ] || fail "server after the restore: $RES (before: $STATE served=6 total=15)"
snapshot after
for f in pids mounts shm ipc info; do
	diff "$T/before.$f" "$T/after.$f" >"$T/$f.diff" ||
		fail "$f differ after the restore: $(head -n 6 "$T/$f.diff" | tr '\n' '|')"
done
limit_files after >"$T/after.limits"
diff "$T/before.limits" "$T/after.limits" >/dev/null || fail "limit files: $(cat "$T/after.limits")"

# The loop goes on from where it was, the same shell
N=${LAST%% *}
vx_wait_line "$G/tmp/loop" "^$((N + 3)) " 10 || fail "the loop does not go on after $LAST"
awk -v p="${LAST#* }" 'NR != $1 || $2 != p { print "line " NR ": " $0; exit 1 }' "$G/tmp/loop" ||
	fail "the loop's lines have a gap or another shell: $(awk -v p="${LAST#* }" 'NR != $1 || $2 != p' "$G/tmp/loop" | head -n 2)"

# The server goes on with its total, its queues and semaphores
REQ add 6
[ "$RES" = "ok served=8 total=21" ] || fail "add after the restore: $RES"
MSGS=""
for i in 1 2 3 4; do
	REQ mqrecv
	MSGS="$MSGS ${RES% served=*}"
done
[ "$MSGS" = " high/7 mid/4 low-a/1 low-b/1" ] || fail "POSIX queue after the restore:$MSGS"
REQ mqsend again 3
REQ mqrecv
[ "${RES% served=*}" = again/3 ] || fail "POSIX queue does not work after the restore: $RES"
REQ msgrcv 5
[ "${RES% served=*}" = 5:five ] || fail "SysV queue, type 5: $RES"
REQ msgrcv 2
[ "${RES% served=*}" = 2:two ] || fail "SysV queue, type 2: $RES"
REQ semop 1 -7
[ "${RES% served=*}" = 3,0,11 ] || fail "semaphores after semop: $RES"
REQ semop 1 -1
case $RES in "error "*EAGAIN* | "error "*"temporarily unavailable"*) ;; *) fail "semop below 0 did not block: $RES" ;; esac
REQ psem
[ "${RES% served=*}" = psem=6 ] || fail "named semaphore after sem_post: $RES"
REQ add 100
[ "$RES" = "ok served=20 total=121" ] || fail "the server's total after the restore: $RES"

# Again, from the restored context, the tree made anew in place (mkdir, cp
# -a of the contents): ext4 gives the new directory the dumped one's inode
# number (its files get others), which must not make the restore take it
# for the dumped directory and refuse its files as replaced
"$VXDUMP" --ctx "$XID" -o "$T/img2" >"$T/dump.out" 2>"$T/dump.err" ||
	fail "vxdump --ctx of the restored context: $(head -n 3 "$T/dump.err")"
ROOT1=$(stat -c %i "$G")
cp -a "$G" "$T/copy" && rm -rf "$G" && mkdir "$G" && cp -a "$T/copy/." "$G/" || fail "cannot recreate $G"
log "second dump: the guest's root was inode $ROOT1, made anew it is $(stat -c %i "$G")"
LAST=$(tail -n 1 "$G/tmp/loop")
timeout 60 "$VXRESTORE" "$T/img2" >"$T/restore.out" 2>"$T/restore.err" ||
	fail "second vxrestore: $(head -n 3 "$T/restore.err")"
REQ add 1000
[ "$RES" = "ok served=21 total=1121" ] || fail "the server after the second restore: $RES"
# served.log, appended through the fd the server held on /dev/shm
inside 'cat /dev/shm/served.log' >"$T/served.log" || fail "served.log from inside"
printf 'add %s total %s\n' 1 1 2 3 3 6 4 10 5 15 6 21 100 121 1000 1121 | cmp -s - "$T/served.log" ||
	fail "/dev/shm/served.log: $(tr '\n' '|' <"$T/served.log")"
N=${LAST%% *}
vx_wait_line "$G/tmp/loop" "^$((N + 3)) " 10 || fail "the loop does not go on after $LAST (second restore)"
awk -v p="${LAST#* }" 'NR != $1 || $2 != p { exit 1 }' "$G/tmp/loop" ||
	fail "the loop's lines have a gap after the second restore"

# The limits hold for the restored context.  Last: the loop's shell exits
# if its fork of sleep meets the limit (busybox ash: "can't fork")
"$VXCR" ctx exec "$XID" -- /usr/bin/python3 -S /tmp/fork.py >"$T/fork.out" 2>"$T/fork.err" ||
	fail "fork bomb inside: $(cat "$T/fork.err")"
read -r NF ERR <"$T/fork.out"
[ "$ERR" = EAGAIN ] && [ "$NF" -lt "$NPROC" ] || fail "the restored context forked $NF ($ERR) under pids.max $NPROC"
log "after the restore: $NF forks then $ERR (pids.max $NPROC); $(tr '\n' ' ' <"$T/after.limits")"

"$VXCR" ctx kill "$XID" 2>/dev/null
"$VXCR" ctx wait "$XID" >/dev/null 2>&1
for ((i = 0; i < 50; i++)); do
	[ -e "$VXCR_RUNDIR/$XID.ctx" ] || [ -d "$CG" ] || break
	sleep 0.1
done
nothing_left "$CG" "after ctx kill"
pass "$(wc -l <"$T/after.pids") tasks, $(wc -l <"$T/after.mounts") mounts, /dev/shm, IPC, loop and server state back in a recreated root; dump $DUMP_MS ms"
