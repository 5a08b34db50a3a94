# shellcheck shell=bash
# Helpers for the real-program tests (t-real-*.sh, issue 12), sourced
# after tests/integration/lib.sh, as "$(dirname "$0")/real-lib.sh".
#
# Each test prints one line of numbers for vxcr (and one for CRIU when a
# criu binary is given in $CRIU, as bench/run.py does):
#   # real NAME vxcr: dump 0.123 s, frozen 0.100 s, restore 0.045 s, image 12.3 MB
# Times are wall clock: vxdump from start to exit; vxrestore from start
# until the root runs again untraced (vx_restored), the guard excluded.
# Frozen is what vxdump --stats reports (from seizing the tree to killing
# or releasing it), CRIU's the frozen_time of its stats-dump image.

REAL_NAME=${CASE#real-}

real_now() { date +%s%N; }
real_secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
real_mb() { awk -v s="$1" 'BEGIN { printf "%.1f", s / 1e6 }'; }

# real_port [6]: a TCP port on 127.0.0.1 (with 6: on ::1) free now (the
# kernel picks it).
real_port()
{
	if [ "${1:-}" = 6 ]; then
		python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0)); print(s.getsockname()[1])'
	else
		python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
	fi
}

# real_sock_kind INODE: which /proc/net table lists socket INODE (unix,
# netlink, tcp, tcp6, udp, udp6, raw, packet), "?" if none.
real_sock_kind()
{
	local t
	for t in unix netlink tcp tcp6 udp udp6 raw raw6 packet; do
		awk -v i="$1" -v t="$t" '
			t == "unix" && $7 == i { f = 1 } t == "netlink" && $9 == i { f = 1 }
			t == "packet" && $9 == i { f = 1 }
			t != "unix" && t != "netlink" && t != "packet" && $10 == i { f = 1 }
			END { exit !f }' /proc/net/"$t" 2>/dev/null && { echo "$t"; return; }
	done
	echo "?"
}

# real_fds PID...: every fd of every process of PID's tree, as ls -l shows
# it, sockets with their family, anonymous inodes with their fdinfo keys
# (logged for NOTES).
real_fds()
{
	local p f l extra
	for p in $(for r in "$@"; do vx_tree_pids "$r"; done); do
		log "fds of $p ($(cat /proc/"$p"/comm 2>/dev/null)):"
		for f in /proc/"$p"/fd/*; do
			[ -e "$f" ] || [ -L "$f" ] || continue
			l=$(readlink "$f" 2>/dev/null) extra=""
			case $l in
			socket:\[*) extra=" ($(real_sock_kind "${l//[!0-9]/}"))" ;;
			anon_inode:*) extra=" (fdinfo: $(awk -F: 'NR > 3 { printf "%s ", $1 }' \
				/proc/"$p"/fdinfo/"${f##*/}" 2>/dev/null | cut -c1-60))" ;;
			esac
			log "  ${f##*/} -> $l$extra"
		done
	done
}

# real_dump PID IMAGE [OPTS]: dump() with its time kept in REAL_DUMP_S and
# (the servers with live clients dump with --tcp-established --keep-net-lock
# as a user would: a client's segment between the dump and the restore
# would otherwise meet no socket and get a reset; the lock is removed by
# the restore, or at the end of the case)
# the frozen time vxdump --stats reports in REAL_FROZEN_S; on a refusal,
# every line vxdump printed is logged, and CRIU's numbers on the same tree
# printed (real_criu), before the failure.
real_dump()
{
	local pid=$1 img=$2 t0 t1
	shift 2
	[ "$pid" = "$PID" ] && vx_remember
	vx_guard_snap "$pid"
	t0=$(real_now)
	if ! "$VXDUMP" --stats "$@" -o "$img" "$pid" >"$T/dump.out" 2>"$T/dump.err"; then
		while read -r l; do log "vxdump: $l"; done <"$T/dump.err"
		real_criu "$pid"	# CRIU's numbers on the same tree, for comparison
		fail "vxdump $pid refused or failed: $(head -n 1 "$T/dump.err")"
	fi
	t1=$(real_now)
	REAL_DUMP_S=$(real_secs "$t0" "$t1")
	REAL_FROZEN_S=$(sed -n 's/.*stats: frozen_ms=\([0-9.]*\).*/\1/p' "$T/dump.err" |
		awk '{ printf "%.3f", $1 / 1000 }')
	[ -s "$img" ] || fail "vxdump wrote an empty image"
	case " $* " in *" --keep-net-lock "*) vx_keep_lock "$img" ;; esac
	case " $* " in
	*" --leave-running "*) vx_alive "$pid" || fail "target $pid died despite --leave-running" ;;
	*) vx_wait_gone "$pid" 10 || fail "target $pid still there after vxdump" ;;
	esac
}

# real_restore IMAGE: restore_bg with its time kept in REAL_RESTORE_S; then
# the /proc guard; prints the vxcr numbers line.
real_restore()
{
	local img=$1 t0 t1 i
	t0=$(real_now)
	"$VXRESTORE" "$img" >"$T/restore.out" 2>"$T/restore.err" &
	RPID=$!
	vx_track "$RPID"
	for ((i = 0; i < 1200; i++)); do
		vx_restored && break
		if ! kill -0 "$RPID" 2>/dev/null; then
			wait "$RPID"
			fail "vxrestore exited $? without restoring $PID: $(head -n 3 "$T/restore.err")"
		fi
		sleep 0.02
	done
	vx_restored || fail "pid $PID not restored within 24 s"
	t1=$(real_now)
	REAL_RESTORE_S=$(real_secs "$t0" "$t1")
	vx_guard_check
	echo "# real $REAL_NAME vxcr: dump $REAL_DUMP_S s, frozen ${REAL_FROZEN_S:-?} s," \
		"restore $REAL_RESTORE_S s, image $(real_mb "$(stat -c %s "$img")") MB"
}

# real_criu PID: when $CRIU names a criu binary, dumps the (restored) tree
# of PID with it and restores it detached, and prints CRIU's numbers line
# (or why it failed: CRIU's result never fails the case).  CRIU runs with
# --shell-job --ext-unix-sk --tcp-established --network-lock nftables.
# Sets REAL_CRIU_OK=1 when the tree runs again under CRIU.  The vxrestore
# that waited for the tree ($RPID) ends with CRIU's dump: RPID is emptied.
real_criu()
{
	local pid=$1 d=$T/criu t0 t1 t2 frozen opts
	REAL_CRIU_OK=0
	[ -n "${CRIU:-}" ] || { echo "# real $REAL_NAME criu: not run (no \$CRIU)"; return 0; }
	rm -rf "$d"
	mkdir -p "$d"
	opts="--shell-job --ext-unix-sk --tcp-established --network-lock nftables"
	t0=$(real_now)
	# shellcheck disable=SC2086
	if ! "$CRIU" dump -t "$pid" -D "$d" $opts -o dump.log >/dev/null 2>&1; then
		echo "# real $REAL_NAME criu: dump failed: $(grep -m 1 Error "$d/dump.log")"
		return 0
	fi
	t1=$(real_now)
	if [ -n "${RPID:-}" ]; then	# the vxrestore that waited for it: done
		wait "$RPID" 2>/dev/null
		vx_untrack "$RPID"
		RPID=""
	fi
	# shellcheck disable=SC2086
	if ! "$CRIU" restore -d -D "$d" $opts -o restore.log >/dev/null 2>&1; then
		echo "# real $REAL_NAME criu: restore failed: $(grep -m 1 Error "$d/restore.log")"
		return 0
	fi
	t2=$(real_now)
	REAL_CRIU_OK=1
	frozen=$(real_criu_frozen "$d")
	echo "# real $REAL_NAME criu: dump $(real_secs "$t0" "$t1") s, frozen ${frozen:-?} s," \
		"restore $(real_secs "$t1" "$t2") s, image $(real_mb "$(du -sb "$d" | cut -f1)") MB"
}

# real_criu_frozen DIR: the frozen time (s) of CRIU's stats-dump in DIR,
# read with the pycriu of CRIU's source tree ($CRIU is criu/criu there,
# its python images need Debian's python3-protobuf); empty if unreadable.
real_criu_frozen()
{
	local src
	src=$(cd "$(dirname "$CRIU")/.." 2>/dev/null && pwd) || return 0
	PYTHONPATH=$src/lib /usr/bin/python3 - "$1/stats-dump" 2>/dev/null <<'PY' || true
import sys
import pycriu.images as images
with open(sys.argv[1], "rb") as f:
    print("%.3f" % (images.load(f)["entries"][0]["dump"]["frozen_time"] / 1e6))
PY
}

# real_clients ARGS...: starts tests/integration/real-clients.py $T/clients.out
# ARGS (kind, address, ...: see there) as a process of its own, outside
# any tree the case dumps; waits for its "ready".  Sets CPID and COUT.
real_clients()
{
	COUT=$T/clients.out
	( /usr/bin/python3 "$VX_ROOT/tests/integration/real-clients.py" "$COUT" "$@" \
		</dev/null >"$T/clients.log" 2>&1 & echo $! >"$T/clients.pid" )
	CPID=$(cat "$T/clients.pid")
	vx_track "$CPID"
	vx_wait_line "$COUT" '^(ready|FAIL)' 60 ||
		fail "the clients did not get ready: $(tail -n 3 "$T/clients.log")"
	grep -q '^FAIL' "$COUT" && fail "clients: $(grep '^FAIL' "$COUT")"
	log "clients: $(grep '^ready' "$COUT")"
}

# real_round [WHEN]: the clients ($CPID, writing $COUT) run their next
# round of checks on their sockets of before; fails the case unless it
# passes.  No timing: a connection restored behind the network lock may
# wait for a retransmission, so the bound is generous.
REAL_ROUND=0
real_round()
{
	local when=${1:-} n=$((REAL_ROUND + 1))
	REAL_ROUND=$n
	kill -USR1 "$CPID" 2>/dev/null || fail "the clients ($CPID) are gone${when:+ $when}"
	vx_wait_line "$COUT" "^(PASS|FAIL) round $n:" 90 ||
		fail "no result of round $n from the clients${when:+ $when}"
	grep -q "^FAIL round $n:" "$COUT" &&
		fail "clients${when:+ $when}: $(grep "^FAIL round $n:" "$COUT")"
	log "$(grep "^PASS round $n:" "$COUT")${when:+ ($when)}"
}

# real_end: ends the restored tree of PID (its pids, SIGKILL) and the
# vxrestore that waits for it ($RPID), quietly, before the case passes:
# a server does not exit by itself.
real_end()
{
	local p
	for p in $(vx_tree_pids "$PID"); do
		kill -9 "$p" 2>/dev/null
	done
	if [ -n "${RPID:-}" ]; then
		wait "$RPID" 2>/dev/null
		vx_untrack "$RPID"
		RPID=""
	fi
}
