# Helpers of the migration tests (t-mig*.sh), sourced after lib.sh.
#
# Two "hosts" on this machine: this network namespace (the source) and
# one the test makes (the destination, $NSB), joined by a veth pair
# ($SRC_IP here, $DST_IP there).  Each host has a key pair made by
# `vxcr key new` and trusts the other's public key; `vxcr serve` runs in
# $NSB with --pidns (the source's pids are in use on this one machine).

command -v ip >/dev/null || skip "ip (iproute2) not installed"
command -v nsenter >/dev/null || skip "nsenter (util-linux) not installed"
NSB=vxcr-mig-$$
OUT=$T/out
N=$(( $$ % 250 + 1 ))
SRC_IP=10.79.$N.1
DST_IP=10.79.$N.2
PORT=7411
vx_case_cleanup() { mig_cleanup; }
mig_cleanup()
{
	[ -n "${SERVE_PID:-}" ] && kill -9 "$SERVE_PID" 2>/dev/null
	ip netns del "$NSB" 2>/dev/null
	true
}

# Keys: $T/a (the source's) and $T/b (the destination's), each trusting
# the other.
mig_keys()
{
	local h
	for h in a b; do
		mkdir -m 700 -p "$T/$h/trusted" || fail "mkdir $T/$h"
		"$VXCR" key new "$T/$h/host" >/dev/null 2>"$T/key.err" || fail "vxcr key new: $(cat "$T/key.err")"
	done
	cp "$T/b/host.pub" "$T/a/trusted/b.pub"
	cp "$T/a/host.pub" "$T/b/trusted/a.pub"
}

mig_net()
{
	ip netns add "$NSB" || skip "cannot make a network namespace"
	ip -n "$NSB" link set lo up
	ip link add "vxm$N" type veth peer name "vxm${N}b" netns "$NSB" || fail "cannot add a veth pair"
	ip addr add "$SRC_IP/24" dev "vxm$N"
	ip link set "vxm$N" up
	ip -n "$NSB" addr add "$DST_IP/24" dev "vxm${N}b"
	ip -n "$NSB" link set "vxm${N}b" up
}

mig_setup() { mig_keys; mig_net; }

# serve_start [ARGS]: vxcr serve --once in $NSB, its stderr in
# $T/serve.err; sets SERVE_PID once it listens.
serve_start()
{
	: >"$T/serve.err"
	# nsenter: only the network namespace (ip netns exec would also give
	# it a mount namespace whose /sys hides the cgroup hierarchies)
	( nsenter --net="/run/netns/$NSB" env ${SERVE_ENV:-} "$VXCR" serve --listen "$DST_IP:$PORT" --keys "$T/b" ${SERVE_PIDNS---pidns} \
		--once --timeout 10 "$@" </dev/null >"$T/serve.out" 2>"$T/serve.err" &
	  echo $! >"$T/serve.pid" )
	SERVE_PID=$(cat "$T/serve.pid")
	vx_track "$SERVE_PID"
	vx_wait_line "$T/serve.err" 'listening' 10 || fail "vxcr serve did not start: $(cat "$T/serve.err")"
}

# serve_wait: waits for serve --once to exit; SERVE_RC its status.
serve_wait()
{
	local i
	for ((i = 0; i < 400; i++)); do
		vx_alive "$SERVE_PID" || break
		sleep 0.05
	done
	vx_alive "$SERVE_PID" && fail "vxcr serve still running after the migration"
	SERVE_RC=$(grep -c 'running as pid' "$T/serve.err")
}

# migrate ARGS...: vxcr migrate --keys $T/a ARGS $DST_IP:$PORT; MIG_RC its
# status, stdout in $T/mig.out, stderr in $T/mig.err.
migrate()
{
	env ${MIG_ENV:-} "$VXCR" migrate --keys "$T/a" --timeout 10 "$@" "$DST_IP:$PORT" \
		>"$T/mig.out" 2>"$T/mig.err"
	MIG_RC=$?
}

# migrate_bg ARGS...: the same in the background; MIG_PID.
migrate_bg()
{
	( env ${MIG_ENV:-} "$VXCR" migrate --keys "$T/a" --timeout 10 "$@" "$DST_IP:$PORT" \
		</dev/null >"$T/mig.out" 2>"$T/mig.err" & echo $! >"$T/mig.pid" )
	MIG_PID=$(cat "$T/mig.pid")
	vx_track "$MIG_PID"
}

# expect_source_intact WHAT: after a failed migration the source runs,
# is the only copy, and checks out; the destination's serve has exited
# without a tree.
expect_source_intact()
{
	serve_wait
	[ "$SERVE_RC" = 0 ] || fail "$1: the destination reports a migrated tree"
	vx_alive "$PID" || fail "$1: the source died"
	local n
	n=$(mig_procs | wc -l)
	[ "$n" = 1 ] || fail "$1: $n copies of the process ($(mig_procs | tr '\n' ' '))"
	kill -USR1 "$PID"
	vx_wait_line "$OUT" '^(PASS|FAIL) ' 20 || fail "$1: the source did not check itself"
	grep -q '^PASS mig-dirty' "$OUT" || fail "$1: source: $(grep FAIL "$OUT")"
	vx_wait_gone "$PID" 10 || fail "$1: the source did not exit"
}

# The processes whose command line names $OUT (the test program's and
# its copies), one pid per line.
mig_procs()
{
	local p
	for p in /proc/[0-9]*; do
		tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF -- "$OUT" || continue
		vx_alive "${p#/proc/}" && echo "${p#/proc/}"
	done
}

# json_field FILE KEY: a number from the JSON line of vxcr migrate --stats.
json_field()
{
	python3 -c 'import json,sys
for l in open(sys.argv[1]):
    l = l.strip()
    if l.startswith("{"):
        print(json.loads(l)[sys.argv[2]])' "$1" "$2"
}
