#!/bin/bash
# A python3 multiprocessing Pool (fork, 4 workers: a tree with threads,
# pipes and a semaphore in shared memory) dumped while idle: after restore
# pool.map() still computes correct results in all workers, the same
# worker pids answer, and the tree is the one dumped.
. "$(dirname "$0")/lib.sh"
require_cr
command -v python3 >/dev/null || skip "python3 not installed"
cat >"$T/pool.py" <<'PY'
import multiprocessing as mp, os, signal, sys
out = sys.argv[1]

def say(line):
    with open(out, "a") as f:
        f.write(line + "\n")

def work(x):
    return (x * x + 7) % 1000003, os.getpid()

signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
pool = mp.get_context("fork").Pool(4)
res = pool.map(work, range(2000), chunksize=10)
workers = sorted(p.pid for p in pool._pool)
say("workers %s" % " ".join(map(str, workers)))
say("ready")
signal.sigwait({signal.SIGUSR1})
res = pool.map(work, range(20000), chunksize=10)
want = [(x * x + 7) % 1000003 for x in range(20000)]
got = [v for v, _ in res]
after = sorted(set(p for _, p in res))
pool.close()
pool.join()
if got != want:
    bad = next(i for i in range(len(want)) if got[i] != want[i])
    say("FAIL python-pool: result %d is %d, expected %d" % (bad, got[bad], want[bad]))
    sys.exit(1)
if not set(after) <= set(workers):
    say("FAIL python-pool: results from pids %s, workers were %s" % (after, workers))
    sys.exit(1)
say("PASS python-pool %d results from %d workers" % (len(got), len(after)))
PY
start_cmd "$T/out" python3 "$T/pool.py" "$T/out"
vx_wait_line "$OUT" '^ready$' 60 || fail "python pool did not get ready"
sleep 0.3
vx_tree_snapshot "$PID" "$T/tree.before"
vx_track_tree "$PID"
log "pool tree: $(vx_tree_summary "$T/tree.before")"
dump "$PID" "$T/img"
vx_tree_gone "$T/tree.before"
restore_bg "$T/img"
vx_tree_expect "$T/tree.before" "$PID"
go_and_check
wait_restore_exit 0
pass "$(grep ^PASS "$OUT")"
