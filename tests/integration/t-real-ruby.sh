#!/bin/bash
# ruby (Debian's) running a loop with a thread: the thread counts, the main
# thread prints the count and keeps a 200000-element array.  After restore
# the count carries on from where it was, and on SIGUSR1 ruby checks the
# thread is alive, the count grew past the dump's and the array's sum.
# Ruby's timer thread holds an eventfd (its only blocker before issue 12).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/real-lib.sh"
require_cr
command -v ruby >/dev/null || skip "needs ruby (contrib/install-deps.sh)"
cat >"$T/count.rb" <<'RB'
out = ARGV[0]
def say(out, line) = File.open(out, "a") { |f| f.puts(line) }
count = 0
arr = (1..200_000).map { |i| i * 3 }
want = arr.sum
go = false
Signal.trap("USR1") { go = true }
t = Thread.new { loop { count += 1; sleep 0.01 } }
say(out, "ready")
seen = 0
until go
  sleep 0.2
  say(out, "count #{count}")
  seen = count
end
if t.alive? && count >= seen && arr.sum == want && arr.size == 200_000
  say(out, "PASS ruby count=#{count}")
  exit 0
end
say(out, "FAIL ruby: alive=#{t.alive?} count=#{count} sum=#{arr.sum}")
exit 1
RB
start_cmd "$T/out" ruby "$T/count.rb" "$T/out"
vx_wait_line "$OUT" '^count [1-9]' 60 || fail "ruby did not start counting"
real_fds "$PID"
c0=$(last_count)
real_dump "$PID" "$T/img"
real_restore "$T/img"
expect_counting "after restore"
[ "$(last_count)" -ge "$c0" ] || fail "count went back: $(last_count) < $c0"
real_criu "$PID"
[ "$REAL_CRIU_OK" = 1 ] && expect_counting "after CRIU's restore"
go_and_check
[ -z "$RPID" ] || wait_restore_exit 0
pass "$(grep ^PASS "$OUT")"
