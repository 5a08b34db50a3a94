#!/bin/bash
# vxcr snap take / run: a copy sees the warm state built before ready
# (value and a 1 MiB pattern), its own arguments, stdin and stdout, the
# image's pid in its own PID namespace (several at once), writes of one
# copy are not seen by the others nor by a later copy, exit statuses are
# reported, --detach prints pids.
# vx-timeout: 240
. "$(dirname "$0")/lib.sh"
require_cr
S=$T/store
PROG=$PROGS/snap-mem

timeout 60 "$VXCR" snap take m --store "$S" -- "$PROG" >"$T/take.out" 2>"$T/take.err" ||
	fail "snap take exited $?: $(head -n 3 "$T/take.err")"
pid=$(sed -n 's/^warm pid \([0-9]*\)$/\1/p' "$T/take.out")
[ -n "$pid" ] || fail "snap take did not pass on the program's output: $(cat "$T/take.out")"
vx_wait_gone "$pid" 10 || fail "the taken process $pid still runs after snap take"
[ -s "$S/m/image" ] && [ -s "$S/m/snap" ] || fail "no snapshot stored in $S/m"
[ -z "$(ls -A "$S" | grep -v '^m$')" ] || fail "leftovers in the store: $(ls -A "$S")"
log "taken: pid $pid, image $(stat -c %s "$S/m/image") bytes"

# one copy: warm state, its arguments, its stdin and stdout, the image's pid
echo "a line of stdin" | timeout 60 "$VXCR" snap run m --store "$S" -- show set 7 show stdin \
	>"$T/out1" 2>"$T/run1.err" || fail "snap run exited $?: $(head -n 3 "$T/run1.err")"
grep -qx "copy pid $pid value 4242 pattern ok args 5" "$T/out1" ||
	fail "copy did not see the warm state or its pid: $(head -n 1 "$T/out1")"
grep -qx "copy pid $pid value 7 pattern ok args 5" "$T/out1" ||
	fail "copy did not run its arguments: $(cat "$T/out1")"
grep -qx "stdin a line of stdin" "$T/out1" || fail "copy did not read our stdin: $(cat "$T/out1")"

# a later copy sees the snapshot's value, not the last copy's write
timeout 60 "$VXCR" snap run m --store "$S" -- show >"$T/out2" 2>"$T/run2.err" ||
	fail "second snap run exited $?: $(head -n 3 "$T/run2.err")"
grep -qx "copy pid $pid value 4242 pattern ok args 1" "$T/out2" ||
	fail "second copy saw: $(cat "$T/out2")"

# four at once: each writes its index, sleeps, shows it (a shared page would
# show another's), exits with its index; pid $pid in each
timeout 60 "$VXCR" snap run m --store "$S" -n 4 -- set '{}' sleep 400 show exit '{}' \
	>"$T/out4" 2>"$T/run4.err"
st=$?
[ "$st" = 1 ] || fail "snap run -n 4 with exits 0..3 exited $st, expected 1: $(head -n 3 "$T/run4.err")"
for i in 0 1 2 3; do
	grep -qx "copy pid $pid value $i pattern ok args 7" "$T/out4" ||
		fail "copy $i did not see its own write in its own namespace: $(cat "$T/out4")"
	grep -q "^vxcr: snap run: copy $i (pid [0-9]*): exit $i$" "$T/run4.err" ||
		fail "status of copy $i not reported: $(cat "$T/run4.err")"
done
hostpids=$(sed -n 's/^vxcr: snap run: copy [0-9] (pid \([0-9]*\)).*/\1/p' "$T/run4.err" | sort -u | wc -l)
[ "$hostpids" = 4 ] || fail "4 copies did not have 4 distinct pids here: $(cat "$T/run4.err")"

# --output: each copy's stdout and stderr in a file of its own
timeout 60 "$VXCR" snap run m --store "$S" -n 3 -o "$T/copy.{}.log" -- set '{}' show \
	>"$T/outo" 2>"$T/runo.err" || fail "snap run -o exited $?: $(head -n 3 "$T/runo.err")"
for i in 0 1 2; do
	grep -qx "copy pid $pid value $i pattern ok args 3" "$T/copy.$i.log" ||
		fail "copy $i's own output file: $(cat "$T/copy.$i.log" 2>&1)"
done
! grep -q "^copy pid" "$T/outo" || fail "snap run -o: a copy wrote to our stdout"

# one copy: its status is ours
timeout 60 "$VXCR" snap run m --store "$S" -- exit 5 >/dev/null 2>"$T/run5.err"
st=$?
[ "$st" = 5 ] || fail "snap run of a copy exiting 5 exited $st"

# --detach: pids printed, the copies run on
timeout 60 "$VXCR" snap run m --store "$S" -n 2 -d -- sleep 60000 >"$T/outd" 2>"$T/rund.err" ||
	fail "snap run -d exited $?: $(head -n 3 "$T/rund.err")"
[ "$(wc -l <"$T/outd")" = 2 ] || fail "snap run -d -n 2 printed: $(cat "$T/outd")"
for p in $(cat "$T/outd"); do
	vx_track "$p"
	vx_alive "$p" || fail "detached copy $p not running"
	grep -q "^NSpid:.*[[:space:]]$pid$" "/proc/$p/status" ||
		fail "detached copy $p is not pid $pid in its namespace: $(grep NSpid "/proc/$p/status")"
	kill -9 "$p"
done
# --pid: a process started with the channel by someone else (here a
# python driver holding the other ends), waiting in its ready call
cat >"$T/start.py" <<'PY'
import os, subprocess, sys
r0, w0 = os.pipe()   # its R
r1, w1 = os.pipe()   # its W
env = dict(os.environ, VXCR_SNAP_FD="%d,%d" % (r0, w1))
# its stdio pipes (external in the image: each copy takes its runner's)
p = subprocess.Popen([sys.argv[1]], env=env, pass_fds=(r0, w1), stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE, start_new_session=True)
os.close(r0); os.close(w1)
assert os.read(r1, 1) in (b"R", b"S")
print(p.pid, flush=True)
st = subprocess.run([sys.argv[2], "snap", "take", sys.argv[4], "--store", sys.argv[3], "--pid",
                     str(p.pid)] + sys.argv[5:]).returncode
p.wait()
sys.exit(st)
PY
python3 "$T/start.py" "$PROG" "$VXCR" "$S" bypid >"$T/bypid.out" 2>"$T/bypid.err" ||
	fail "snap take --pid exited $?: $(cat "$T/bypid.err")"
grep -qx "serve 0" "$S/bypid/snap" || fail "a --pid snapshot marked for serve without --ready-call"
ppid=$(head -n 1 "$T/bypid.out")
timeout 60 "$VXCR" snap run bypid --store "$S" -- show >"$T/outp" 2>"$T/runp.err" ||
	fail "snap run of a --pid snapshot exited $?: $(cat "$T/runp.err")"
grep -qx "copy pid $ppid value 4242 pattern ok args 1" "$T/outp" ||
	fail "copy of the --pid snapshot: $(cat "$T/outp")"

python3 "$T/start.py" "$PROG" "$VXCR" "$S" bypid2 --ready-call >/dev/null 2>"$T/bypid2.err" ||
	fail "snap take --pid --ready-call exited $?: $(cat "$T/bypid2.err")"
grep -qx "serve 1" "$S/bypid2/snap" || fail "--ready-call not recorded: $(cat "$S/bypid2/snap")"

pass "copies of pid $pid: warm state, own args/stdio/pid namespace, isolated writes, statuses"
