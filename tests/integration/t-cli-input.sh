#!/bin/bash
# The command line under bad input (issue 9, section 4):
# - an image that is a FIFO with no writer (vxrestore FILE, vxcr img CMD
#   FILE) is refused with one line after a bounded wait instead of
#   blocking forever; a FIFO with a writer still works;
# - PIDs, xids and signal numbers are parsed strictly: ' N', '+N', 'N ',
#   '0N', 'Nx' are usage errors (exit 2) and nothing is dumped or killed;
# - error lines escape bytes >= 0x80 (and control characters) as \xNN;
# - `vxcr img json` prints valid UTF-8 JSON for an image whose strings
#   (an open file's path) are not UTF-8;
# - every command and subcommand (vxcr, vxdump, vxrestore, vxcr CMD, vxcr
#   img SUB, vxcr ctx SUB, vxcr key new) answers --help, -h and --version
#   with exit 0, output on stdout and nothing on stderr, takes -v (verbose,
#   the same everywhere), and refuses an unknown option or a missing
#   option argument with exactly one line on stderr and exit 2 (issue 10).
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
	[ "$(wc -l <"$T/cli.err")" = 1 ] || fail "$what: not one line: $(head -n 3 "$T/cli.err")"
}

# help_ok WHAT CMD...: CMD exits 0 with output on stdout and none on stderr.
help_ok()
{
	local what=$1 st
	shift
	timeout 30 "$@" >"$T/help.out" 2>"$T/help.err"
	st=$?
	[ "$st" = 0 ] || fail "$what: exited $st: $(head -n 2 "$T/help.err")"
	[ -s "$T/help.out" ] || fail "$what: nothing on stdout"
	[ ! -s "$T/help.err" ] || fail "$what: wrote on stderr: $(head -n 2 "$T/help.err")"
}

# The same help, version and usage rules for every command and subcommand.
VERSION=$("$VXCR" --version) || fail "vxcr --version exited $?"
[[ $VERSION =~ ^vxcr\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "vxcr --version: '$VERSION'"
CMDS=("$VXCR" "$VXDUMP" "$VXRESTORE")
for c in dump restore img check ctx key netlock; do CMDS+=("$VXCR $c"); done
for c in show json verify size; do CMDS+=("$VXCR img $c"); done
for c in create exec list info stat flags caps bcaps uname kill wait; do CMDS+=("$VXCR ctx $c"); done
CMDS+=("$VXCR key new")
for cmd in "${CMDS[@]}"; do
	read -r -a argv <<<"$cmd"
	name="${cmd//$VX_BUILD\/bin\//}"
	for opt in --help -h --version "-v --help" "--verbose --version"; do
		read -r -a more <<<"$opt"
		help_ok "$name $opt" "${argv[@]}" "${more[@]}"
	done
	[ "$(cat "$T/help.out")" = "$VERSION" ] || fail "$name --version: $(cat "$T/help.out")"
	"${argv[@]}" --help | grep -q -- "--version" || fail "$name --help does not list --version"
	usage_error "$name --no-such-option" "unknown option --no-such-option.*--help" \
		"${argv[@]}" --no-such-option
	usage_error "$name -Z" "unknown option -Z.*--help" "${argv[@]}" -Z
done
usage_error "vxdump -o" "option -o needs an argument" "$VXDUMP" -o
usage_error "vxrestore --pidfile" "option --pidfile needs an argument" "$VXRESTORE" --pidfile
usage_error "vxcr img --trusted-keys" "needs an argument" "$VXCR" img show --trusted-keys
usage_error "vxcr ctx kill 5 --sig" "option --sig needs an argument" "$VXCR" ctx kill 5 --sig
usage_error "vxcr ctx list --set" "option --set not valid here" "$VXCR" ctx list --set x
usage_error "vxcr" "no command" "$VXCR"
usage_error "vxcr bogus" "unknown command 'bogus'" "$VXCR" bogus
usage_error "vxcr img" "expected COMMAND FILE" "$VXCR" img
usage_error "vxcr ctx" "expected a subcommand" "$VXCR" ctx
usage_error "vxcr key" "expected 'new DIR/NAME'" "$VXCR" key
usage_error "vxcr netlock" "expected 'list' or 'drop ID'" "$VXCR" netlock
usage_error "vxcr netlock drop" "expected 'list' or 'drop ID'" "$VXCR" netlock drop
usage_error "vxcr netlock list x" "expected 'list' or 'drop ID'" "$VXCR" netlock list x
usage_error "vxcr netlock drop ../x" "is not an image id" "$VXCR" netlock drop ../x
usage_error "vxcr check x" "unexpected argument 'x'" "$VXCR" check x
usage_error "vxrestore a b" "expected one IMAGE" "$VXRESTORE" a b
usage_error "vxdump" "expected one PID" "$VXDUMP"
# a user who is not root still gets the help of a command that needs root
if command -v setpriv >/dev/null &&
	setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$VXCR"; then
	for cmd in "$VXDUMP --help" "$VXRESTORE --version" "$VXCR ctx --help" "$VXCR ctx create -h"; do
		read -r -a argv <<<"$cmd"
		help_ok "${cmd//$VX_BUILD\/bin\//} as nobody" \
			setpriv --reuid=65534 --regid=65534 --clear-groups "${argv[@]}"
	done
fi
log "help, version and usage errors of ${#CMDS[@]} commands"

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
