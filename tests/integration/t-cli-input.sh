#!/bin/bash
# The command line under bad input (issue 9, section 4):
# - an image that is a FIFO with no writer (vxrestore FILE, vxcr img CMD
#   FILE) is refused with one line after a bounded wait instead of
#   blocking forever; a FIFO with a writer still works;
# - PIDs, xids and signal numbers are parsed strictly: ' N', '+N', 'N ',
#   '0N', 'Nx' are usage errors (exit 2) and nothing is dumped or killed;
# - error lines escape bytes >= 0x80 (and control characters) as \xNN;
# - `vxcr img json` prints valid UTF-8 JSON for an image whose strings
#   (an open file's path) are not UTF-8.
. "$(dirname "$0")/lib.sh"
require_cr
command -v python3 >/dev/null || skip "python3 not installed"

# usage_error WHAT REGEX CMD...: CMD exits 2 with a line matching REGEX.
usage_error()
{
	local what=$1 want=$2 st
	shift 2
	timeout 30 "$@" >"$T/cli.out" 2>"$T/cli.err"
	st=$?
	[ "$st" = 2 ] || fail "$what: exited $st, expected 2: $(head -n 2 "$T/cli.err")"
	grep -Eq "$want" "$T/cli.err" || fail "$what: message: $(head -n 2 "$T/cli.err")"
}

# fifo_refused WHAT OUTFILE: the command run in the background wrote one
# line saying the FIFO had no writer and exited 1 (status in OUTFILE.st).
fifo_refused()
{
	[ "$(cat "$2.st")" = 1 ] || fail "$1 on a FIFO without writer exited $(cat "$2.st")"
	[ "$(wc -l <"$2")" = 1 ] || fail "$1 on a FIFO: not one line: $(cat "$2")"
	grep -q "is a FIFO with no writer" "$2" || fail "$1 on a FIFO: message: $(cat "$2")"
	log "$1: $(cat "$2")"
}

start_prog counter
mkfifo "$T/fifo"
( timeout 60 "$VXRESTORE" "$T/fifo" 2>"$T/fifo-restore.err"; echo $? >"$T/fifo-restore.err.st" ) &
( timeout 60 "$VXCR" img show "$T/fifo" 2>"$T/fifo-img.err"; echo $? >"$T/fifo-img.err.st" ) &
wait
fifo_refused vxrestore "$T/fifo-restore.err"
fifo_refused "vxcr img show" "$T/fifo-img.err"
"$VXDUMP" --leave-running "$PID" >"$T/fifo" 2>"$T/fifo-dump.err" &
"$VXCR" img verify "$T/fifo" >"$T/fifo-verify.out" 2>&1 || fail "img verify of a FIFO with a writer: $(cat "$T/fifo-verify.out")"
wait $! || fail "vxdump into a FIFO: $(cat "$T/fifo-dump.err")"
expect_counting "after the dumps into a FIFO"

for bad in " $PID" "+$PID" "$PID " "0$PID" "${PID}x" "$PID$PID$PID$PID" ""; do
	usage_error "vxdump '$bad'" "bad PID|expected one PID" \
		"$VXDUMP" --leave-running -o "$T/bad.img" "$bad"
	[ ! -e "$T/bad.img" ] || fail "vxdump '$bad' wrote an image"
done
usage_error "vxdump --ctx ' 5'" "bad --ctx" "$VXDUMP" --ctx " 5" -o "$T/bad.img"
usage_error "vxdump --ctx '+5'" "bad --ctx" "$VXDUMP" --ctx "+5" -o "$T/bad.img"
usage_error "vxdump --zstd-level ' 3'" "bad --zstd-level" \
	"$VXDUMP" --zstd-level " 3" --leave-running -o "$T/bad.img" "$PID"
usage_error "vxcr ctx info ' 65000'" "bad xid" "$VXCR" ctx info " 65000"
usage_error "vxcr ctx info '065000'" "bad xid" "$VXCR" ctx info "065000"
usage_error "vxcr ctx kill --pid ' 1'" "bad pid" "$VXCR" ctx kill 65000 --pid " 1"
usage_error "vxcr ctx kill --sig ' 9'" "unknown signal" "$VXCR" ctx kill 65000 --sig " 9"
usage_error "vxcr ctx create --nproc ' 5'" "bad --nproc" \
	"$VXCR" ctx create 65000 --nproc " 5" -- true
expect_counting "after the refused command lines"

# An error line naming a path with bytes >= 0x80 and an escape character.
bad=$'caf\xe9\x9b\x1b[2J.img'
"$VXRESTORE" "$T/$bad" 2>"$T/esc.err" && fail "vxrestore of a missing file succeeded"
grep -qF 'caf\xe9\x9b\x1b[2J.img' "$T/esc.err" || fail "bytes not escaped: $(cat -v "$T/esc.err")"
! LC_ALL=C grep -q $'[\x80-\xff\x1b]' "$T/esc.err" || fail "raw bytes in: $(cat -v "$T/esc.err")"
log "escaped: $(cat "$T/esc.err")"

# img json of a process holding a file whose name is not UTF-8.
name=$'\xff\xfe n\xc3\xa9 \xe2\x82'
: >"$T/$name"
start_cmd "$T/out.json" bash -c 'exec 3<"$1"; exec sleep 1000' sh "$T/$name"
for ((i = 0; i < 100; i++)); do
	[ "$(readlink "/proc/$PID/fd/3" 2>/dev/null)" = "$T/$name" ] &&
		grep -q sleep "/proc/$PID/comm" && break
	sleep 0.05
done
"$VXDUMP" --leave-running --no-sync -o "$T/json.img" "$PID" 2>"$T/json.err" ||
	fail "vxdump of the sleep: $(cat "$T/json.err")"
"$VXCR" img json "$T/json.img" >"$T/img.json" || fail "img json failed"
python3 - "$T/img.json" <<'EOF' || fail "img json is not valid UTF-8 JSON naming the file"
import json, sys
raw = open(sys.argv[1], 'rb').read()
json.loads(raw.decode('utf-8'))		# strict: valid UTF-8 and valid JSON
# each byte of an ill-formed sequence is \u00XX, well-formed UTF-8 stays
sys.exit(0 if b'\\u00ff\\u00fe n\xc3\xa9 \\u00e2\\u0082"' in raw else 1)
EOF
pass
