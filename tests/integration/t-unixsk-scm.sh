#!/bin/bash
# File descriptors in flight on unix sockets (tests/progs/unixsk-scm.c):
# a pipe end, a regular file at an offset and two eventfds (one the
# process holds too) queued with SCM_RIGHTS on a stream pair between
# messages without fds, a dup of the file on a seqpacket pair.  A
# --leave-running dump first (the target keeps its messages and fds: it
# passes its own checks after it); hostile edits of the new fields are
# refused in one line; what the dump refuses (a unix socket in flight
# whose own queue carries fds, an epoll fd in flight, the credentials of
# a process other than the root) in one line, the target untouched; then
# a dump and restore of the tree.  Credentials in flight: a datagram
# pair whose receiver has SO_PASSCRED holds a message sent before it had
# (none attached), one with explicit SCM_CREDENTIALS (uid/gid 65534) and
# one with the kernel's.
. "$(dirname "$0")/lib.sh"
require_cr
start_prog unixsk-scm
vx_track_tree "$PID"
dump "$PID" "$T/img.lr" --leave-running
"$VXCR" img json "$T/img.lr" >"$T/json" 2>&1 || fail "vxcr img json failed: $(head -n 3 "$T/json")"
python3 - "$T/json" <<'PY' || fail "the image does not record the fds in flight as expected"
import json, sys
recs = [r["payload"] for r in json.load(open(sys.argv[1]))["records"] if r["type"] == "FILE"]
byid = {r["id"]: r for r in recs}
scms = [(r, m) for r in recs if r.get("kind") == "FILE_UNIXSK" for m in r["unixsk"].get("scm", [])]
creds = [m for r, m in scms if r["unixsk"]["type"] == 2]
assert [(m.get("pid", 0) != 0, m.get("uid", 0), m.get("gid", 0)) for m in creds] == \
	[(False, 65534, 65534), (True, 65534, 65534), (True, 0, 0)], creds
scms = [(r, m) for r, m in scms if r["unixsk"]["type"] != 2]
assert len(scms) == 2, scms
kinds = sorted(byid[i].get("kind", "FILE_REG") for _, m in scms for i in m["file_ids"])
assert kinds == ["FILE_EVENTFD", "FILE_EVENTFD", "FILE_PIPE", "FILE_REG", "FILE_REG"], kinds
st = next(m for r, m in scms if r["unixsk"]["type"] == 1)
sq = next(m for r, m in scms if r["unixsk"]["type"] == 5)
assert int(st.get("offset", 0)) == 0 and int(sq.get("offset", 0)) == 0, (st, sq)
assert st["file_ids"][1] == sq["file_ids"][0], "the file is not one description"
PY

i=$("$VXCR" img json "$T/img.lr" | python3 -c '
import json, sys
recs = [r for r in json.load(sys.stdin)["records"] if r["type"] == "FILE"]
print(next(i for i, r in enumerate(recs) if r["payload"].get("unixsk", {}).get("type") == 1 and r["payload"]["unixsk"].get("scm")))') ||
	fail "no stream socket with fds in flight in the image"
hostile() { refused_edit "$T/img.lr" "$@"; }
hostile "an fd list naming file id 99999" "carries file id 99999, which is no description" \
	"FILE[$i].unixsk.scm[0].file_ids[0]=99999"
hostile "an fd list naming the socket itself" "which is no description of the image it can carry" \
	"FILE[$i].unixsk.scm[0].file_ids[0]=$((i + 1))"
edits=()
for ((k = 4; k < 254; k++)); do edits+=("FILE[$i].unixsk.scm[0].file_ids[$k]=1"); done
hostile "254 fds in one message" "number of fds \(1 \.\. 253\) out of range" "${edits[@]}"
c=$("$VXCR" img json "$T/img.lr" | python3 -c '
import json, sys
recs = [r for r in json.load(sys.stdin)["records"] if r["type"] == "FILE"]
print(next(i for i, r in enumerate(recs) if r["payload"].get("unixsk", {}).get("type") == 2 and r["payload"]["unixsk"].get("scm")))') ||
	fail "no datagram socket with credentials in flight in the image"
hostile "credentials of pid 1" "credentials in flight \(pid 1 uid 65534 gid 65534\) out of range" \
	"FILE[$c].unixsk.scm[1].pid=1"
hostile "credentials with uid 2^32-1" "credentials in flight .* out of range" \
	"FILE[$c].unixsk.scm[2].uid=4294967295"
hostile "credentials without SO_PASSCRED" "or no SO_PASSCRED" "FILE[$c].unixsk.passcred=false"
hostile "a message offset inside a record" "its offset or its number of fds" \
	"FILE[$i].unixsk.scm[0].offset=2"
go_and_check
vx_wait_gone "$PID" 10 || fail "unixsk-scm $PID did not exit after its check"
vx_untrack "$PID"
rm -f "$OUT"

for what in nested epoll child; do
	start_prog unixsk-scm "$what"
	case $what in
	nested) pat="a unix socket in flight whose own queue carries fds or credentials: not supported" ;;
	epoll) pat="carries anon_inode:\[eventpoll\] \(epoll kind\) in flight: not supported" ;;
	child) pat="carries the credentials of pid [0-9]+ \(uid 0 gid 0\): only those of the tree's root" ;;
	esac
	expect_dump_refused "$what in flight" "$pat"
	go_and_check
	vx_wait_gone "$PID" 10 || fail "unixsk-scm $PID did not exit after its check"
	rm -f "$OUT"
done

tree_cr_cycle unixsk-scm
