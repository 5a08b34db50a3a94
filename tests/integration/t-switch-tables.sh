#!/bin/bash
# The module's command table (kernel/switch.c, VX_CMD rows) and the
# library's (lib/switch/switch.c, VCMD rows) list the same commands with the
# same data struct, so both providers check a call alike; the kernel test
# k-base-switch proves the answers, this catches a row added to one side
# only before anything boots.
. "$(dirname "$0")/lib.sh"
rows()
{
	sed -n -E "s/^[[:space:]]*$1\(([a-z_0-9]+), ([^,]+),.*/\1 \2/p" "$VX_ROOT/$2" | sort
}
rows VX_CMD kernel/switch.c >"$T/kernel"
rows VCMD lib/switch/switch.c >"$T/lib"
n=$(wc -l <"$T/kernel")
[ "$n" -ge 20 ] || fail "only $n rows found in kernel/switch.c (format changed?)"
diff -u "$T/lib" "$T/kernel" >"$T/diff" || fail "the tables differ (- library, + module): $(grep '^[-+][a-z]' "$T/diff" | tr '\n' ' ')"
pass "$n commands, same data structs"
