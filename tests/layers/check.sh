#!/bin/bash
# The layer check: every #include "..." of crtools/ and lib/, and with a
# build tree every call between modules (undefined symbols of each object,
# resolved to the module that defines them), against tests/layers/layers.txt.
# Prints one line per forbidden edge, naming the file and line (a call: the
# object's source file and the first line that names the symbol), and
# fails; else one PASS line.  With a build tree it also checks that the
# shipped library (BUILD/lib) has no test hooks and the test one has.
#
# Usage: tests/layers/check.sh [BUILD]

set -u
cd "$(dirname "$0")/../.." || exit 2
RULES=tests/layers/layers.txt
BUILD=${1:-}
TMP=$(mktemp -d) || exit 2
trap 'rm -rf "$TMP"' EXIT
bad=0

declare -A use private allow

# Reads the rules: use[M] = " A B ", private[HEADER] = 1, allow[FILE>M] = 1.
while IFS= read -r line; do
	line=${line%%#*}
	set -- $line
	[ $# -gt 0 ] || continue
	case $1 in
	use)
		m=${2%:}
		shift 2
		use[$m]=" $* " ;;
	private)
		private[$2]=1 ;;
	allow)
		[ "$3" = "->" ] || { echo "FAIL layers: bad rule: $line"; exit 1; }
		allow[$2">"${4%:}]=1 ;;
	*)
		echo "FAIL layers: bad rule: $line"; exit 1 ;;
	esac
done <"$RULES"

# module_of PATH: sets mod to the module a source file (repo-relative)
# belongs to.
module_of()
{
	case $1 in
	crtools/*) mod=crtools ;;
	lib/include/vxcr/*) mod=api ;;
	lib/log.c | lib/log.h | lib/error.c | lib/error.h) mod=log ;;
	lib/check.c) mod=check ;;
	lib/*/*) mod=${1#lib/}; mod=${mod%%/*} ;;
	*gen/*) mod=images ;;
	*) mod="?" ;;
	esac
}

# may FILE FROM TO: true if module FROM may use TO (or FILE has an allow line).
may()
{
	[ "$2" = "$3" ] && return 0
	[ -n "${use[$2]+x}" ] || return 1
	case ${use[$2]} in *" $3 "*) return 0 ;; esac
	[ -n "${allow[$1">"$3]+x}" ]
}

# Includes.
inc_re='^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]*)"'
declare -A seen
while IFS=: read -r f ln text; do
	module_of "$f"
	from=$mod
	if [ -z "${use[$from]+x}" ]; then
		[ -n "${seen[$f]+x}" ] || echo "$f: module '$from' is not in $RULES"
		seen[$f]=1
		bad=1
		continue
	fi
	[[ $text =~ $inc_re ]] || continue
	h=${BASH_REMATCH[1]}
	case $h in
	*.pb-c.h) to=images ;;
	log.h | error.h) to=log ;;
	vxcr/*) to=api ;;
	*/*) to=${h%%/*} ;;
	*) to=$from ;;
	esac
	if [ -n "${private[$h]+x}" ] && [ "$to" != "$from" ]; then
		echo "$f:$ln: $from includes $h, private to $to"
		bad=1
	elif ! may "$f" "$from" "$to"; then
		echo "$f:$ln: $from may not include $h ($to)"
		bad=1
	fi
done < <(find crtools lib -name '*.[ch]' | sort | xargs grep -nE "$inc_re")

# Calls: objects of BUILD/obj/{lib,crtools,gen}.
if [ -n "$BUILD" ] && [ -d "$BUILD/obj/lib" ]; then
	find "$BUILD/obj/lib" "$BUILD/obj/crtools" "$BUILD/obj/gen" -name '*.o' 2>/dev/null |
		sort >"$TMP/objs"
	# "OBJ: SYM TYPE ..." -> source file and module, as module_of() names them
	to_src='{ o = $1; sub(/:$/, "", o); sub("^" b "/obj/", "", o);
		  s = o; if (s !~ /^gen\//) sub(/\.o$/, ".c", s);
		  m = s;
		  if (s ~ /^crtools\//) m = "crtools";
		  else if (s ~ /^gen\//) m = "images";
		  else if (s == "lib/log.c" || s == "lib/error.c") m = "log";
		  else if (s == "lib/check.c") m = "check";
		  else { sub(/^lib\//, "", m); sub(/\/.*/, "", m) } }'
	xargs nm -A -P --defined-only <"$TMP/objs" |
		awk -v b="$BUILD" "$to_src"' $3 ~ /^[TDBRWVGS]$/ { print $2, m }' >"$TMP/defs"
	xargs nm -A -P -u <"$TMP/objs" | awk -v b="$BUILD" "$to_src"' { print $2, m, s }' >"$TMP/undefs"
	sort -u -k1,1 "$TMP/defs" >"$TMP/defs.s"
	sort -k1,1 "$TMP/undefs" >"$TMP/undefs.s"
	# symbol from-module source to-module
	join "$TMP/undefs.s" "$TMP/defs.s" >"$TMP/edges"
	# What the shared library exports (lib/libvxcr.map) counts as the API.
	exported=$(sed -n '/global:/,/local:/p' lib/libvxcr.map | grep -oE '[A-Za-z_][A-Za-z0-9_*]*;' |
		   tr -d ';' | sed 's/\*/.*/g' | paste -sd'|')
	while read -r sym from src to; do
		[ "$from" = "$to" ] && continue
		if [ "$from" = crtools ] && [[ $sym =~ ^($exported)$ ]]; then
			continue
		fi
		may "$src" "$from" "$to" && continue
		ln=$(grep -nw -- "$sym" "$src" 2>/dev/null | head -n 1 | cut -d: -f1)
		echo "$src:${ln:-?}: $from may not call $sym ($to)"
		bad=1
	done <"$TMP/edges"
fi

# Test hooks only in the test build: the shipped library has none, the
# test one (BUILD/lib-test) has them.
hooks='^(test_pause|test_fail|test_skip)$'
if [ -n "$BUILD" ] && [ -f "$BUILD/lib/libvxcr.so.0" ]; then
	if nm "$BUILD/lib/libvxcr.so.0" | awk '{ print $NF }' | grep -qE "$hooks"; then
		echo "$BUILD/lib/libvxcr.so.0: has test hooks (only $BUILD/lib-test may)"
		bad=1
	fi
	if [ -f "$BUILD/lib-test/libvxcr.so.0" ] &&
	   ! nm "$BUILD/lib-test/libvxcr.so.0" | awk '{ print $NF }' | grep -qE "$hooks"; then
		echo "$BUILD/lib-test/libvxcr.so.0: no test hooks"
		bad=1
	fi
fi

if [ "$bad" != 0 ]; then
	echo "FAIL layers: forbidden edges above (rules: $RULES)"
	exit 1
fi
echo "PASS layers${BUILD:+ (includes and calls)}"
