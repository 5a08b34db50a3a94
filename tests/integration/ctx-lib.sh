# Shared by the t-ctx-*.sh cases (sourced, after nothing else): lib.sh, a
# root check, a private run directory (VXCR_RUNDIR=$T/run), an xid of our
# own (XID) and a clean-up on exit that kills every context of that run
# directory and removes its groups, whatever happened to the case.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
export VXCR_RUNDIR=$T/run
XID=$(( 2000 + $$ % 30000 ))

# Kills the contexts of our run directory: their init and supervisor by pid
# when the record's pids are of our pid namespace (a nested context's are
# not: it is killed through its cgroup only), then every task of their
# groups (v2, and the v1 pids group of INFO_NPROC), and removes the groups.
ctx_cleanup()
{
	local f p g own
	own=$(readlink /proc/self/ns/pid | tr -dc 0-9)
	for f in "$VXCR_RUNDIR"/*.ctx; do
		[ -f "$f" ] || continue
		if [ "$(sed -n 's/^pidns=//p' "$f")" = "$own" ]; then
			for p in $(sed -n 's/^\(init\|super\)=//p' "$f"); do
				kill -9 "$p" 2>/dev/null
			done
		fi
		for g in $(sed -n 's/^\(pids_\)\{0,1\}cgroup=//p' "$f"); do
			[ -d "$g" ] || continue
			echo 1 >"$g/cgroup.kill" 2>/dev/null ||
				for p in $(cat "$g/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
			sleep 0.2
			rmdir "$g" 2>/dev/null
		done
	done
	vx_cleanup
}
trap ctx_cleanup EXIT

# fork_inside XID: python3 inside the context forks children (each waits
# for EOF on a pipe) until fork fails, at most 40; prints "N ERRNAME" (or
# "40 none") into $T/fork.out, fails the case if python itself fails.
# fork_py FILE: writes to FILE a python3 program that forks up to 40
# children (each waiting for it) and prints how many it made and the errno
# that stopped it ("none").
fork_py()
{
	cat >"$1" <<'PY'
import errno, os
r, w = os.pipe()
n, err = 0, "none"
try:
    while n < 40:
        pid = os.fork()
        if pid == 0:
            os.close(w)
            os.read(r, 1)
            os._exit(0)
        n += 1
except OSError as e:
    err = errno.errorcode.get(e.errno, e.errno)
print(n, err)
os.close(w)
while n:
    os.wait()
    n -= 1
PY
}

fork_inside()
{
	fork_py "$T/fork.py"
	"$VXCR" ctx exec "$1" -- python3 "$T/fork.py" >"$T/fork.out" 2>"$T/fork.err" || fail "python inside failed: $(cat "$T/fork.err")"
}

# mkguest DIR [MINE]: a minimal guest tree for `ctx create --root DIR`:
# busybox-static as /bin/busybox with every applet a symlink to it, the
# directories --root needs (proc, sys, dev) and tmp, etc; MINE, if given,
# into /etc/mine.  Skips the case without busybox.
mkguest()
{
	local bb a
	bb=$(command -v busybox) || skip "no busybox (contrib/install-deps.sh: busybox-static)"
	mkdir -p "$1/bin" "$1/proc" "$1/sys" "$1/dev" "$1/etc" "$1/tmp" || fail "mkguest $1"
	cp "$bb" "$1/bin/busybox" || fail "mkguest: cannot copy $bb"
	for a in $("$bb" --list); do
		[ "$a" = busybox ] || ln -s busybox "$1/bin/$a"
	done
	[ -z "${2:-}" ] || echo "$2" >"$1/etc/mine"
}

# mkguest_py DIR [MINE]: mkguest and Debian's python3 (/usr/bin/python3,
# not a pyenv build on PATH: skips without it): the interpreter, its
# standard library without tests, caches and the big unused packages, its
# lib-dynload modules, and every shared library these load (ldd) with the
# dynamic loader, each at its own path.  Run it inside with -S (no site).
mkguest_py()
{
	local g=$1 real ver lib
	[ -x /usr/bin/python3 ] || skip "no /usr/bin/python3 (Debian's python3)"
	mkguest "$@"
	real=$(readlink -f /usr/bin/python3)
	ver=${real##*/}
	mkdir -p "$g/usr/bin" "$g/usr/lib" || fail "mkguest_py $g"
	cp "$real" "$g/usr/bin/$ver" && ln -s "$ver" "$g/usr/bin/python3" ||
		fail "mkguest_py: cannot copy $real"
	tar -C /usr/lib -cf - --exclude=test --exclude=tests --exclude=__pycache__ \
		--exclude=idlelib --exclude=tkinter --exclude=ensurepip --exclude=lib2to3 \
		--exclude=pydoc_data --exclude=site-packages --exclude=dist-packages \
		--exclude="_test*" --exclude="config-*" "$ver" | tar -C "$g/usr/lib" -xf - ||
		fail "mkguest_py: cannot copy /usr/lib/$ver"
	for lib in $(ldd "$real" "$g/usr/lib/$ver/lib-dynload/"*.so |
		awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*[^:]$/ && $2 ~ /^\(/ { print $1 }' | sort -u); do
		mkdir -p "$g${lib%/*}" && cp -L "$lib" "$g$lib" || fail "mkguest_py: cannot copy $lib"
	done
}
