# shellcheck shell=bash
# Helpers for the network lock's tests (t-netlock*.sh), sourced after
# tests/integration/lib.sh.  tcp-peer.py logs its unacknowledged bytes
# (SIOCOUTQ) to $T/outq, one line a tick.

# The peer's last logged count of unacknowledged bytes.
outq() { tail -n 1 "$T/outq" 2>/dev/null | awk '{print $2}'; }

# outq_drains SECONDS: waits until the peer has nothing unacknowledged.
outq_drains()
{
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		[ "$(outq)" = 0 ] && log "drained in ~$((i / 10)).$((i % 10)) s" && return 0
		sleep 0.1
	done
	return 1
}

# outq_held WHEN: the peer's data is not acknowledged (the lock holds).
outq_held()
{
	local q
	sleep 0.6
	q=$(outq)
	[ "${q:-0}" -ge 5 ] || fail "$1: the data was acknowledged (outq ${q:-none})"
	log "$1: $q bytes unacknowledged"
}
