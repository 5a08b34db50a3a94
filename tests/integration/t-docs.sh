#!/bin/bash
# The documentation a user expects (issue 10, item 7):
# - every option of each command's parser (the struct option tables of
#   crtools/cmd-*.c, and the common -v/-h/--version) is listed by its
#   --help, and --help lists no other;
# - the bash completion (contrib/bash-completion/vxcr) offers exactly the
#   options of each command's --help, and for each `vxcr ctx` subcommand
#   exactly the options its parser accepts there (asked of the parser);
#   the names it offers for flags and caps are those lib/ctx/names.c accepts;
# - each man page names every long option of its commands;
# - `make install DESTDIR=...` puts the man pages, the vxcr-dump and
#   vxcr-restore links, the completion and its vxdump and vxrestore links in
#   place, and `man -l --warnings` renders every page without a warning;
# - the two example programs of libvxcr(3) build against the installed
#   headers, pkg-config file and library, and work: snap checkpoints a
#   running counter, which goes on; resume restarts it and waits for it.
. "$(dirname "$0")/lib.sh"
require_cr
command -v man >/dev/null || skip "man (man-db) not installed (contrib/install-deps.sh)"
command -v cc >/dev/null || skip "no C compiler"

COMP=$VX_ROOT/contrib/bash-completion/vxcr
DOCS=$VX_ROOT/docs

# help_opts CMD...: the options the --help of CMD lists in its option
# lines ("  -o, --output FILE", "      --stats"), one per line.
help_opts()
{
	"$@" --help | grep -E '^ +(-[a-zA-Z], )?--[a-z]' |
		grep -oE -- '^ +(-[a-zA-Z], )?--[a-z0-9-]+' | tr -d ' ' | tr ',' '\n' | sort -u
}

# parser_opts FILE: the long options of the struct option tables of
# crtools/FILE, and the common ones.
parser_opts()
{
	{
		grep -oE '\{ "[a-z0-9-]+", (no|required)_argument' "$VX_ROOT/crtools/$1" |
			sed -E 's/^\{ "([^"]*)".*/--\1/'
		grep -q CLI_COMMON_OPTIONS "$VX_ROOT/crtools/$1" &&
			printf '%s\n' --verbose --help --version
	} | sort -u
}

# complete_words WORD...: what the completion offers for the command line
# WORD... (the last word is the one being completed), one per line.
complete_words()
{
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _vxcr
		printf "%s\n" "${COMPREPLY[@]}"' sh "$COMP" "$@" | sort -u
}

# same WHAT FILE1 FILE2: the two sorted lists are equal.
same()
{
	diff "$2" "$3" >"$T/diff.out" ||
		fail "$1: $(grep '^[<>]' "$T/diff.out" | tr '\n' ' ')"
}

# man_names PAGE OPT...: docs/PAGE.scd (vxdump.1) shows every option OPT.
man_names()
{
	local page=$1 o
	shift
	for o in "$@"; do
		grep -qF -- "*$o*" "$DOCS/$page.scd" || fail "$page.scd does not describe $o"
	done
}

# --help against the parsers, the completion and the man pages
for c in dump restore img check key netlock ctx migrate serve snap binfmt nodes ps; do
	help_opts "$VXCR" "$c" >"$T/help.$c"
	grep -- '^--' "$T/help.$c" >"$T/help-long.$c"
	# ctx lists the options of each subcommand on the subcommand's line
	[ "$c" = ctx ] && "$VXCR" ctx --help | grep -oE -- '--[a-z][a-z0-9-]*' |
		sort -u >"$T/help-long.$c"
	parser_opts "cmd-$c.c" >"$T/parser.$c"
	same "vxcr $c --help vs its parser (< only in --help, > only in the parser)" \
		"$T/help-long.$c" "$T/parser.$c"
	complete_words vxcr "$c" - >"$T/comp.$c"
	same "completion of 'vxcr $c -' (< only in --help, > only offered)" "$T/help.$c" "$T/comp.$c"
done
help_opts "$VXCR" >"$T/help.vxcr"
complete_words vxcr - >"$T/comp.vxcr"
same "completion of 'vxcr -'" "$T/help.vxcr" "$T/comp.vxcr"
complete_words vxdump - >"$T/comp.vxdump"
same "completion of 'vxdump -'" "$T/help.dump" "$T/comp.vxdump"
complete_words vxrestore - >"$T/comp.vxrestore"
same "completion of 'vxrestore -'" "$T/help.restore" "$T/comp.vxrestore"
complete_words vxcr "" | tr '\n' ' ' | grep -q "^binfmt check ctx dump img key migrate netlock nodes ps restore serve snap $" ||
	fail "completion of 'vxcr ': $(complete_words vxcr "" | tr '\n' ' ')"

# vxcr ctx: per subcommand, the options the parser takes there (it says
# "not valid here" before it looks for the XID, so nothing is run)
ctx_all=$(grep -oE -- '--[a-z]+' "$T/parser.ctx" | grep -vxE -- '--(help|version|verbose)')
for sub in create exec list info stat flags caps bcaps uname kill wait; do
	: >"$T/accepted"
	for o in $ctx_all; do
		"$VXCR" ctx "$sub" "$o" x --rundir "$T/rundir" >/dev/null 2>"$T/probe.err"
		grep -q "not valid here\|unknown option" "$T/probe.err" || echo "$o" >>"$T/accepted"
	done
	printf '%s\n' -v --verbose -h --help --version >>"$T/accepted"
	sort -u -o "$T/accepted" "$T/accepted"
	complete_words vxcr ctx "$sub" - >"$T/comp.ctx"
	same "completion of 'vxcr ctx $sub -' (< accepted, > offered)" "$T/accepted" "$T/comp.ctx"
	# shellcheck disable=SC2046
	man_names vxcr-ctx.1 $(grep -- '^--' "$T/accepted")
done
complete_words vxcr ctx "" | tr '\n' ' ' |
	grep -q "^bcaps caps create exec flags info kill list stat uname wait $" ||
	fail "completion of 'vxcr ctx ': $(complete_words vxcr ctx "" | tr '\n' ' ')"

# the names of flags and caps the completion offers: those names.c accepts
names_table()
{
	sed -n "/^static const struct bitname $1\[\] = {/,/^};/p" "$VX_ROOT/lib/ctx/names.c" |
		grep -E 'NULL \},$' | grep -oE '^\s*\{ "[A-Z_]+"' | grep -oE '[A-Z_]+' | sort
}
comp_list() { bash -c '. "$1"; echo $'"$1" sh "$COMP" | tr ' ' '\n' | sort; }
names_table flag_names >"$T/names.flags"
comp_list _vxcr_ctx_flags >"$T/comp.flags"
same "flag names (< names.c, > completion)" "$T/names.flags" "$T/comp.flags"
names_table ccap_names >"$T/names.ccaps"
comp_list _vxcr_ctx_ccaps >"$T/comp.ccaps"
same "ccap names (< names.c, > completion)" "$T/names.ccaps" "$T/comp.ccaps"
sed -n '/^static const char \*const cap_names\[\] = {/,/^};/p' "$VX_ROOT/lib/ctx/names.c" |
	grep -oE '"[A-Z_]+"' | tr -d '"' | sort >"$T/names.bcaps"
comp_list _vxcr_ctx_bcaps >"$T/comp.bcaps"
same "capability names (< names.c, > completion)" "$T/names.bcaps" "$T/comp.bcaps"

# every long option in the man pages
man_names vxdump.1 $(grep -- '^--' "$T/help.dump")
man_names vxrestore.1 $(grep -- '^--' "$T/help.restore")
man_names vxcr.1 $(cat "$T/help.vxcr" "$T/help.img" "$T/help.check" "$T/help.key" \
	"$T/help.netlock" "$T/help.nodes" "$T/help.ps" | grep -- '^--')
log "options: --help, parsers, completion and man pages agree"

# make install into a scratch root
unset MAKEFLAGS MFLAGS MAKELEVEL
D=$T/root
build=$VX_BUILD
[[ $build == "$VX_ROOT"/* ]] && build=${build#"$VX_ROOT"/}
make -C "$VX_ROOT" BUILD="$build" DESTDIR="$D" install >"$T/install.out" 2>&1 ||
	fail "make install: $(tail -n 3 "$T/install.out")"
P=$D/usr/local
for f in man1/vxcr.1 man1/vxdump.1 man1/vxrestore.1 man1/vxcr-ctx.1 man3/libvxcr.3; do
	[ -f "$P/share/man/$f" ] || fail "not installed: share/man/$f"
	MANWIDTH=80 man -l --warnings "$P/share/man/$f" >"$T/man.out" 2>"$T/man.err" ||
		fail "man -l $f exited $?: $(head -n 2 "$T/man.err")"
	[ ! -s "$T/man.err" ] || fail "man -l $f warns: $(head -n 3 "$T/man.err")"
	[ "$(wc -l <"$T/man.out")" -gt 20 ] || fail "man -l $f: almost empty"
done
[ "$(readlink "$P/share/man/man1/vxcr-dump.1")" = vxdump.1 ] || fail "no vxcr-dump.1 link"
[ "$(readlink "$P/share/man/man1/vxcr-restore.1")" = vxrestore.1 ] || fail "no vxcr-restore.1 link"
C=$P/share/bash-completion/completions
cmp -s "$C/vxcr" "$COMP" || fail "completion not installed as $C/vxcr"
for c in vxdump vxrestore; do
	[ "$(readlink "$C/$c")" = vxcr ] || fail "no completion link $c"
	# bash-completion sources the file named after the command
	bash -c '. "$1"; complete -p "$2"' sh "$C/$c" "$c" | grep -q -- "-F _vxcr" ||
		fail "$C/$c does not register a completion for $c"
done
log "installed: 5 man pages (rendered without warnings), 2 links, the completion and 2 links"

# the example programs of libvxcr(3): the first two literal blocks after
# "# EXAMPLE", with scdoc's backslash escapes undone
example()
{
	awk -v want="$1" '/^# EXAMPLE/ {on = 1} on && /^```$/ {n++; next}
		on && n == 2 * want - 1 {print}' "$DOCS/libvxcr.3.scd" | sed 's/\\\(.\)/\1/g'
}
example 1 >"$T/snap.c"
example 2 >"$T/resume.c"
grep -q vxcr_dump "$T/snap.c" && grep -q vxcr_restore "$T/resume.c" ||
	fail "examples not found in libvxcr.3.scd"
export PKG_CONFIG_PATH=$P/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$D
for p in snap resume; do
	# shellcheck disable=SC2046
	cc -Wall -Werror "$T/$p.c" -o "$T/$p" $(pkg-config --cflags --libs vxcr) \
		>"$T/cc.err" 2>&1 || fail "libvxcr(3) example $p.c: $(head -n 5 "$T/cc.err")"
done
export LD_LIBRARY_PATH=$P/lib
ldd "$T/snap" | grep -q "$P/lib/libvxcr.so" || fail "snap not linked with the installed libvxcr.so"
start_prog counter
"$T/snap" "$PID" "$T/snap.img" >"$T/snap.out" 2>"$T/snap.err" ||
	fail "snap exited $?: $(head -n 3 "$T/snap.err")"
grep -qE '^[0-9]+ pages, frozen [0-9.]+ ms$' "$T/snap.out" || fail "snap printed: $(cat "$T/snap.out")"
"$VXCR" img verify "$T/snap.img" >/dev/null 2>"$T/verify.err" ||
	fail "snap's image: $(cat "$T/verify.err")"
expect_counting "after snap (it leaves the process running)"
kill -9 "$PID"
vx_wait_gone "$PID" 10 || fail "the original $PID did not go"
: >"$OUT"	# the original counted on after the snapshot: start afresh
"$T/resume" "$T/snap.img" >"$T/restore.out" 2>"$T/restore.err" &
RPID=$!
vx_track "$RPID"
wait_restored
[ "$(head -n 1 "$T/restore.out")" = "$PID" ] || fail "resume printed: $(cat "$T/restore.out")"
expect_counting "after resume"
expect_counting "after resume, twice"	# two lines for the counter's own check
go_and_check
wait_restore_exit 0
pass "man pages, completion and examples"
