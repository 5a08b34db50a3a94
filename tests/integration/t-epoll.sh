#!/bin/bash
# epoll instances (tests/progs/epoll.c): every item with its events, data
# and key (the fd number it was added under, also when that number now
# names another file or the holder closed it), epoll inside epoll,
# EPOLLEXCLUSIVE, a fired EPOLLONESHOT, a reported and a pending EPOLLET
# edge, an epoll shared by parent and child, the child blocked in
# epoll_wait across the dump, another child stopped inside epoll_wait
# with a byte queued for it (it wakes for it once continued), one pipe
# under 80 closed numbers that vxrestore itself holds while adding.  A --leave-running dump first: the dump
# looks (fdinfo, kcmp, poll) and changes nothing, so the original passes
# its own checks; its image is edited into hostile ones that restore
# refuses in one line.  Then a dump and restore of the tree, and three
# dumps refused in one line: a target open in no fd table of the tree, an
# EPOLLET edge whose state cannot be told, a fired EPOLLONESHOT whose
# target is ready for nothing, and an item on an io_uring (only the
# io_uring's own line).
. "$(dirname "$0")/lib.sh"
require_cr
start_prog epoll
vx_track_tree "$PID"
dump "$PID" "$T/img.lr" --leave-running
"$VXCR" img show "$T/img.lr" >"$T/show" 2>&1 || fail "vxcr img show failed: $(head -n 3 "$T/show")"
n=$(grep -c 'FILE_EPOLL' "$T/show")
[ "$n" -eq 6 ] || fail "image shows $n epoll files, expected 6"
n=$(grep -o 'EPOLL_ITEM_DISARMED' "$T/show" | wc -l)
[ "$n" -eq 2 ] || fail "image shows $n fired oneshot items, expected 2"
n=$(grep -o 'EPOLL_ITEM_CONSUMED' "$T/show" | wc -l)
[ "$n" -eq 1 ] || fail "image shows $n reported edges, expected 1"

item_index()	# EPOLL-FILE-INDEX TFD: index of the item of that fd number
{
	"$VXCR" img json "$T/img.lr" | python3 -c '
import json, sys
recs = [r for r in json.load(sys.stdin)["records"] if r["type"] == "FILE"]
items = recs[int(sys.argv[1])]["payload"]["epoll"]["items"]
print(next(k for k, it in enumerate(items) if it["tfd"] == int(sys.argv[2])))' "$1" "$2"
}
hostile() { refused_edit "$T/img.lr" "$@"; }
A=$(file_index "$T/img.lr" 'len(p.get("epoll", {}).get("items", [])) == 6') || fail "no epoll A in the image"
CHR=$(file_index "$T/img.lr" 'p.get("kind") == "FILE_CHR"') || fail "no device record in the image"
kB=$(item_index "$A" 18)	# A's item on epoll B (fd 18)
kX=$(item_index "$A" 9)		# A's item on the pipe added as fd 9
# the image alone: refused before anything is created
hostile no-entry "has no epoll entry" "FILE[$CHR].kind=16"
hostile no-target "target is not another open file" "FILE[$A].epoll.items[0].target_id=4000"
hostile fd-range "fd number out of range" "FILE[$A].epoll.items[0].tfd=0x80000000"
hostile bad-bits "unknown event bits" "FILE[$A].epoll.items[0].events=0x800019"
hostile excl-epoll "EPOLLEXCLUSIVE" "FILE[$A].epoll.items[$kB].events=0x10000019"
hostile armed-fired "fired EPOLLONESHOT item with events armed" "FILE[$A].epoll.items[$kX].state=2"
hostile not-et "not EPOLLET" "FILE[$A].epoll.items[$kX].state=1"
hostile state "unknown state" "FILE[$A].epoll.items[$kX].state=7"

go_and_check
vx_wait_gone "$PID" 10 || fail "epoll $PID did not exit after its check"
vx_untrack "$PID"
# what only the restore itself finds (the pids are free now): EPOLLWAKEUP,
# which this kernel drops (no CONFIG_PM_SLEEP), an edge said to be
# reported on a target that is not ready, two items of one key, a loop of
# epolls (A watches B, B made to watch A)
hostile wakeup "EPOLLWAKEUP needs CAP_BLOCK_SUSPEND" "FILE[$A].epoll.items[$kX].events=0x20000019"
hostile not-ready "reported before the dump but only [0-9]+ are ready now" \
	"FILE[$A].epoll.items[$kX].events=0x80000019" "FILE[$A].epoll.items[$kX].state=1"
Dx=$(file_index "$T/img.lr" 'len(p.get("epoll", {}).get("items", [])) == 80') || fail "no epoll D in the image"
Bx=$(file_index "$T/img.lr" 'p.get("epoll", {}).get("items", [{}])[0].get("state") == "EPOLL_ITEM_CONSUMED"') ||
	fail "no epoll B in the image"
Aid=$("$VXCR" img json "$T/img.lr" | python3 -c '
import json, sys
recs = [r for r in json.load(sys.stdin)["records"] if r["type"] == "FILE"]
print(recs[int(sys.argv[1])]["payload"]["id"])' "$A")
hostile dup-key "cannot add its item on fd 30 .*File exists" \
	"FILE[$Dx].epoll.items[0].tfd=30" "FILE[$Dx].epoll.items[1].tfd=30"
hostile loop "nested deeper than 4" "FILE[$Bx].epoll.items[0].target_id=$Aid"
rm -f "$OUT"

refused()	# MODE WHAT PATTERN: the dump of epoll MODE is refused in one line
{
	rm -f "$OUT"
	start_prog epoll "$1"
	if [ "$1" = orphan ]; then	# the tree is the child; its parent holds the target
		PID=$(sed -n 's/^child //p' "$OUT")
		[ -n "$PID" ] || fail "orphan: no child pid"
		vx_track "$PID"
		vx_remember
	fi
	expect_dump_refused "$2" "$3"
}
refused orphan "a target outside the tree" "epoll item on fd 3 .*open in no fd table of the tree"
refused ambiguous "an edge that cannot be told" "edge-triggered item on fd 6 is ready while other items are ready too"
refused deadshot "a fired oneshot on a drained pipe" "fired EPOLLONESHOT item whose target is ready for nothing"
refused uring "an item on a refused fd" "io_uring"

# 4000 items in one epoll: dump and restore stay quick (times in the log)
rm -f "$OUT"
start_prog epoll many
t0=$(date +%s%N)
dump "$PID" "$T/many.img"
t1=$(date +%s%N)
restore_bg "$T/many.img"
t2=$(date +%s%N)
go_and_check
wait_restore_exit 0
log "4000 items: dump $(( (t1 - t0) / 1000000 )) ms, restore $(( (t2 - t1) / 1000000 )) ms, image $(stat -c %s "$T/many.img") bytes"
vx_untrack "$PID"

rm -f "$OUT"
tree_cr_cycle epoll
