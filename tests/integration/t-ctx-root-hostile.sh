#!/bin/bash
# Hostile images of a context with --root (issue 14): its MOUNTS record is
# never built from, only compared with what the context's settings make,
# and its tmpfs files go only into tmpfs mounts the restore made.  From a
# real image of a busybox guest with files in its /dev/shm and /dev, each
# edit below is refused by vxrestore in one line and leaves nothing (no
# context, record or group; the host's /sys/fs/cgroup and the guest's
# files unchanged).  Also refused: `--root` paths with "..", ".", "//" or
# the host's / itself; the dump of a --root context that has SYS_ADMIN in
# its bcaps (its mounts could have changed from inside), which keeps
# running.  A vxrestore killed during the restore leaves nothing.  The
# image restores into another run directory too (the
# mounts of the host's layout, /sys's and the run directory's view, are
# not compared).
. "$(dirname "$0")/ctx-lib.sh"
G=$T/guest
mkguest "$G"
R=$XID

"$VXCR" ctx create "$R" --root "$G" -- /bin/sh -c \
	'mkdir /dev/shm/d; echo one >/dev/shm/d/f; echo two >/dev/mine; while :; do sleep 1; done' \
	</dev/null >/dev/null 2>&1 || fail "create --root"
for i in $(seq 100); do "$VXCR" ctx exec "$R" -- /bin/cat /dev/mine >/dev/null 2>&1 && break; sleep 0.05; done
CG=$("$VXCR" ctx info "$R" | awk '$1 == "cgroup:" {print $2}')
"$VXDUMP" --ctx "$R" -o "$T/img" 2>"$T/dump.err" || fail "vxdump --ctx: $(cat "$T/dump.err")"
"$VXCR" ctx info "$R" >/dev/null 2>&1 && fail "the context runs on after its dump"
# the host's cgroup tmpfs (what an edit could aim the guest's files at):
# its own entries only, other tests make groups below them meanwhile
find /sys/fs/cgroup -maxdepth 1 | sort >"$T/cg.before"
sum_guest() { find "$G" -printf '%p %s %T@\n' | sort; }
sum_guest >"$T/guest.before"

# the index of mount POINT, of node NAME in the image's MOUNTS record
idx()
{
	"$VXCR" img json "$T/img" | python3 -c '
import json, sys
for line in sys.stdin:
    line = line.strip().rstrip(",")
    if "\"MOUNTS\"" not in line:
        continue
    p = json.loads(line)["payload"]
    if sys.argv[1] == "mount":
        print([m["point"] for m in p["mounts"]].index(sys.argv[2]))
    else:
        print([n.get("name", "") for n in p["nodes"]].index(sys.argv[2]))' "$@"
}
file_idx()
{
	"$VXCR" img json "$T/img" | python3 -c '
import json, sys
n = 0
for line in sys.stdin:
    line = line.strip().rstrip(",")
    if "\"type\":\"FILE\"" not in line:
        continue
    if json.loads(line)["payload"].get("path") == sys.argv[1]:
        print(n)
        break
    n += 1' "$1"
}
nothing_left()
{
	"$VXCR" ctx info "$R" >/dev/null 2>&1 && fail "$1: context $R exists after the refusal"
	[ -d "$CG" ] && fail "$1: its group $CG is left"
	find /sys/fs/cgroup -maxdepth 1 | sort | diff -q "$T/cg.before" - >/dev/null ||
		fail "$1: /sys/fs/cgroup changed"
	sum_guest | diff -q "$T/guest.before" - >/dev/null || fail "$1: the guest's files changed"
}
edit_refused()
{
	local what=$1
	refused_edit "$T/img" "$@"
	nothing_left "$what"
}

SHM=$(idx mount /dev/shm) DEV=$(idx mount /dev) SYS=$(idx mount /sys)
F=$(idx node f) MINE=$(idx node mine)
BB=$(file_idx /bin/busybox)
[ -n "$SHM" ] && [ -n "$DEV" ] && [ -n "$SYS" ] && [ -n "$F" ] && [ -n "$BB" ] ||
	fail "the image lacks the expected mounts, nodes or files"

edit_refused "a node named .." "bad|name" "MOUNTS[0].nodes[$F].name=.."
edit_refused "a node name with a slash" "bad|name" "MOUNTS[0].nodes[$MINE].name=../../etc/x"
edit_refused "a host kind in a context image" "kind a context" "MOUNTS[0].mounts[$DEV].kind=1"
edit_refused "/dev/shm moved" "/dev/shm2|not restored|not in the image" \
	"MOUNTS[0].mounts[$SHM].point=/dev/shm2"
edit_refused "the host's /sys as the context's own" "/sys .*of the host" \
	"MOUNTS[0].mounts[$SYS].kind=2"
edit_refused "/dev's files into the host's cgroup tmpfs" "host's layout holds files|not in the image" \
	"MOUNTS[0].mounts[$DEV].point=/sys/fs/cgroup"
edit_refused "another /dev/shm size" "/dev/shm .*not restored" \
	"MOUNTS[0].mounts[$SHM].super=rw,size=1024k"
edit_refused "a guest file as a host one" "replaced|busybox" "FILE[$BB].outside_root=true"
edit_refused "a root with .." "clean absolute path|refused" "CONTEXT[0].root=$G/.."
edit_refused "the host's / as the root" "clean absolute path|refused" "CONTEXT[0].root=/"

# a vxrestore killed while the supervisor restores (paused at "tree")
# leaves nothing: the supervisor finds it gone when it reports, and ends
# the context (on the old code the context ran on, restored)
VXCR_TEST_PAUSE=tree VXCR_TEST_PAUSE_MS=1500 "$VXRESTORE" "$T/img" 2>/dev/null &
KPID=$!
sleep 0.5
kill -9 "$KPID"
wait "$KPID" 2>/dev/null
sleep 2
for i in $(seq 40); do "$VXCR" ctx info "$R" >/dev/null 2>&1 || break; sleep 0.1; done
nothing_left "a killed vxrestore"
for q in /proc/[0-9]*; do
	[ "$(stat -L -c %d:%i "$q/root" 2>/dev/null)" = "$(stat -c %d:%i "$G")" ] &&
		fail "a killed vxrestore left ${q#/proc/} ($(cat "$q/comm")) in the guest"
done

# the image itself still restores, into another run directory (its view
# inside moves with it), and the guest's tmpfs files are back
export VXCR_RUNDIR=$T/run2
"$VXRESTORE" "$T/img" 2>"$T/restore.err" || fail "vxrestore: $(cat "$T/restore.err")"
"$VXCR" ctx exec "$R" -- /bin/cat /proc/1/mountinfo | grep -q " $T/run2 " ||
	fail "the run directory's view is not at $T/run2 inside"
[ "$("$VXCR" ctx exec "$R" -- /bin/cat /dev/shm/d/f /dev/mine | tr '\n' ' ')" = "one two " ] ||
	fail "tmpfs files after the restore: $("$VXCR" ctx exec "$R" -- /bin/cat /dev/shm/d/f /dev/mine 2>&1)"
"$VXCR" ctx kill "$R" && "$VXCR" ctx wait "$R" >/dev/null

# a --root context with SYS_ADMIN: refused at dump, and it runs on
"$VXCR" ctx create "$R" --root "$G" --bcaps all -- /bin/sh -c 'while :; do sleep 1; done' \
	</dev/null >/dev/null 2>&1 || fail "create --bcaps all"
"$VXDUMP" --ctx "$R" -o "$T/img2" 2>"$T/dump.err" && fail "dump of a --root context with SYS_ADMIN"
grep -q "SYS_ADMIN in its bcaps" "$T/dump.err" || fail "refusal: $(cat "$T/dump.err")"
[ -e "$T/img2" ] && fail "the refused dump left an image"
"$VXCR" ctx info "$R" >/dev/null || fail "the refused context is gone"
"$VXCR" ctx kill "$R" && "$VXCR" ctx wait "$R" >/dev/null

# --root paths that are not clean, or the host's /
for r in "$G/.." "$T/./guest" "$T//guest" /; do
	"$VXCR" ctx create "$R" --root "$r" -- /bin/sh 2>"$T/create.err" && fail "--root $r accepted"
	grep -q "clean absolute path\|the host's / itself" "$T/create.err" ||
		fail "--root $r: $(cat "$T/create.err")"
done
pass "10 hostile images refused and nothing left, nor by a killed vxrestore; SYS_ADMIN dump and 4 roots refused"
