# vxdump --kernel / vxrestore --kernel (the module's task_dump and
# vmad_undump through the commands): rst-target dumped by the module,
# verified, restored by the module with its pid and its own checks
# passed; each side crossed with the library's; --leave-running; a failed
# task_dump leaves the target running; refusals (options, a tree, threads,
# no module) in one line.
. "$VXK/tests/lib.sh"
. "$VXK/tests/rst-lib.sh"
T=$VXK_TMP

# start_target: rst-target in pause(); sets PID.
start_target()
{
	: >"$T/out"
	rst-target "$T/out" &
	PID=$!
	wait_for 30 paused $PID
}

# paused PID: PID exists and is rst-target in pause() (in_pause also
# ends the wait when PID is gone).
paused()
{
	[ -e "/proc/$1" ] && in_pause "$1"
}

# running PID: alive, not stopped, not traced.
running()
{
	local st tr
	read -r st 2>/dev/null <"/proc/$1/stat" || return 1
	st=${st##*) }
	tr=$(sed -n 's/^TracerPid:[[:space:]]*//p' "/proc/$1/status")
	case ${st%% *} in T* | t* | Z*) return 1 ;; esac
	[ "$tr" = 0 ]
}

# end_target: kills and reaps PID.
end_target()
{
	kill -9 $PID 2>/dev/null
	wait $PID 2>/dev/null
}

# restored CASE CMD...: CMD (a vxrestore, in the background) brings back
# rst-target with pid PID, which passes its checks once sent SIGUSR1.
restored()
{
	local name=$1 vr st
	shift
	: >"$T/out"
	"$@" >"$T/$name.log" 2>&1 &
	vr=$!
	if ! wait_for 30 paused $PID; then
		kill -9 $vr 2>/dev/null
		wait $vr
		not_ok "$name" "not restored with pid $PID: $(tail -n 1 "$T/$name.log")"
		return
	fi
	kill -USR1 $PID
	wait $vr
	st=$?
	if [ $st = 0 ] && grep -q '^PASS' "$T/out"; then
		ok "$name"
	else
		not_ok "$name" "status $st: $(tail -n 1 "$T/out") $(tail -n 1 "$T/$name.log")"
	fi
}

# kdump CASE ARGS...: vxdump --kernel ARGS PID of a fresh target, which
# must be gone after (killed once the image is complete).
kdump()
{
	local name=$1
	shift
	start_target || { not_ok "$name" "rst-target not ready"; return 1; }
	if vxdump --kernel "$@" $PID >"$T/$name.log" 2>&1 && wait_for 10 gone $PID; then
		wait $PID
		ok "$name"
		return 0
	fi
	not_ok "$name" "$(tail -n 1 "$T/$name.log")"
	end_target
	return 1
}

# The module both ways, through the commands
KPID=
if kdump dump -o "$T/k.img"; then
	KPID=$PID
	check verify vxcr img verify "$T/k.img"
	restored restore vxrestore --kernel "$T/k.img"
	restored restore-stdin sh -c "cat '$T/k.img' | vxrestore --kernel -"
	restored to-user vxrestore "$T/k.img"
fi

# The library's image, the module's restart
if start_target && vxdump --compress none -o "$T/u.img" $PID >"$T/u.log" 2>&1 &&
	wait_for 10 gone $PID; then
	wait $PID
	restored from-user vxrestore --kernel "$T/u.img"
else
	not_ok from-user "vxdump: $(tail -n 1 "$T/u.log")"
	end_target
fi

# -d: the pid printed (and --pidfile written), vxrestore returns while the
# process runs; rst-target has asked for SIGTERM when its parent dies (its
# pdeath signal, restored), so it ends with vxrestore: the --pidns case
# below keeps it under the namespace's init and checks it.
if [ -n "$KPID" ]; then
	PID=$KPID
	rp=$(vxrestore --kernel -d --pidfile "$T/pidfile" "$T/k.img" 2>"$T/d.log")
	st=$?
	if [ $st = 0 ] && [ "$rp" = "$PID" ] && [ "$(cat "$T/pidfile")" = "$PID" ] &&
		wait_for 30 gone $PID; then
		ok detach
	else
		not_ok detach "status $st, printed '$rp', pid $PID: $(tail -n 1 "$T/d.log")"
		kill -9 $PID 2>/dev/null
	fi
fi

# A stopped process (SIGSTOP): --leave-running leaves it stopped, the
# image comes back stopped, and continued passes its checks
if start_target && kill -STOP $PID && wait_for 10 stopped_is $PID; then
	if vxdump --kernel --leave-running -o "$T/st.img" $PID >"$T/st.log" 2>&1 &&
		stopped_is $PID && grep -q '^TracerPid:[[:space:]]*0$' /proc/$PID/status; then
		ok stopped-stays-stopped
	else
		not_ok stopped-stays-stopped "$(tail -n 1 "$T/st.log")"
	fi
	end_target
	kill -CONT $PID 2>/dev/null
	: >"$T/out"
	vxrestore --kernel "$T/st.img" >"$T/str.log" 2>&1 &
	vr=$!
	if wait_for 30 stopped_is $PID; then
		kill -CONT $PID
		if wait_for 30 paused $PID; then
			kill -USR1 $PID
		fi
		wait $vr
		st=$?
		[ $st = 0 ] && grep -q '^PASS' "$T/out" && ok stopped-restored ||
			not_ok stopped-restored "status $st: $(tail -n 1 "$T/out")"
	else
		not_ok stopped-restored "not stopped: $(tail -n 1 "$T/str.log")"
		kill -9 $PID $vr 2>/dev/null
		wait $vr
	fi
else
	not_ok stopped-stays-stopped "rst-target not stopped"
	end_target
fi

# --trusted-keys: a signed image (the library's dump) is restored by the
# module; an unsigned one is refused before any process is made
mkdir "$T/keys"
if ! vxcr key new "$T/keys/k" >"$T/key.log" 2>&1; then
	not_ok signed "vxcr key new: $(tail -n 1 "$T/key.log")"
elif start_target && vxdump --compress none --sign "$T/keys/k.key" -o "$T/sig.img" $PID >"$T/sig.log" 2>&1 &&
	wait_for 10 gone $PID; then
	wait $PID
	mkdir "$T/pub" && cp "$T/keys/k.pub" "$T/pub/"
	restored signed vxrestore --kernel --trusted-keys "$T/pub" "$T/sig.img"
	if [ -s "$T/k.img" ]; then
		vxrestore --kernel --trusted-keys "$T/pub" "$T/k.img" >"$T/us.log" 2>&1
		st=$?
		# (the guest has no libnettle: a warning line may come first)
		[ $st = 1 ] && [ ! -e /proc/$KPID ] &&
			tail -n 1 "$T/us.log" | grep -q "^vxcr: restore: .*the image is not signed$" &&
			ok unsigned-refused || not_ok unsigned-refused "status $st: $(cat "$T/us.log")"
	fi
else
	not_ok signed "vxdump --sign: $(tail -n 1 "$T/sig.log" 2>/dev/null)"
	end_target
fi

# --kernel-store: every file-backed area stored with its contents
if kdump store-all --kernel-store libs,exec,other -o "$T/all.img"; then
	if vxcr img json "$T/all.img" | grep -q FILE_MAPONLY; then
		not_ok store-all-no-reference "a FILE_MAPONLY is left"
	else
		ok store-all-no-reference
	fi
	restored store-all-restore vxrestore --kernel "$T/all.img"
fi

# --leave-running: the target goes on untouched
if start_target; then
	if vxdump --kernel --leave-running -o "$T/lr.img" $PID >"$T/lr.log" 2>&1 &&
		running $PID && in_pause $PID; then
		ok leave-running
		# its pid is in use: refused; --pidns has it free in a new namespace
		vxrestore --kernel "$T/lr.img" >"$T/busy.log" 2>&1
		st=$?
		if [ $st = 1 ] && grep -q "pid $PID of the image is in use" "$T/busy.log"; then
			ok pid-in-use
		else
			not_ok pid-in-use "status $st: $(tail -n 1 "$T/busy.log")"
		fi
		rp=$(vxrestore --kernel --pidns -d "$T/lr.img" 2>"$T/ns.log")
		nspid=$(sed -n 's/^NSpid:[[:space:]]*[0-9]*[[:space:]]*//p' /proc/$rp/status 2>/dev/null)
		if [ -n "$rp" ] && [ "$rp" != "$PID" ] && wait_for 30 paused "$rp" &&
			[ "$nspid" = "$PID" ]; then
			ok pidns
			kill -USR1 "$rp"
			wait_for 30 gone "$rp"
			grep -q '^PASS' "$T/out" && ok pidns-checks ||
				not_ok pidns-checks "$(tail -n 1 "$T/out")"
		else
			not_ok pidns "printed '$rp', NSpid '$nspid': $(tail -n 1 "$T/ns.log")"
			[ -n "$rp" ] && kill -9 "$rp" 2>/dev/null
		fi
		: >"$T/out"
		kill -USR1 $PID
		wait $PID
		grep -q '^PASS' "$T/out" && ok leave-running-checks ||
			not_ok leave-running-checks "$(tail -n 1 "$T/out")"
		restored leave-running-restore vxrestore --kernel "$T/lr.img"
	else
		not_ok leave-running "$(tail -n 1 "$T/lr.log")"
		end_target
	fi
fi

# A failed task_dump (the module refuses a seccomp filter; /dev/full
# cannot be written) leaves the target as it was
kckpt-prog "$T/sout" seccomp >/dev/null 2>&1 &
spid=$!
if wait_for 30 grep -qs ready "$T/sout"; then
	if vxdump --kernel -o "$T/sc.img" $spid >"$T/sc.log" 2>&1; then
		not_ok refused-seccomp "dumped"
	elif running $spid && [ ! -e "$T/sc.img" ] && grep -q "task_dump of pid $spid" "$T/sc.log"; then
		ok refused-seccomp
	else
		not_ok refused-seccomp "$(tail -n 1 "$T/sc.log")"
	fi
else
	not_ok refused-seccomp "kckpt-prog not ready"
fi
kill -9 $spid
wait $spid
if start_target; then
	if vxdump --kernel $PID >/dev/full 2>"$T/full.log"; then
		not_ok failed-write "succeeded"
	elif running $PID && in_pause $PID; then
		kill -USR1 $PID
		wait $PID
		grep -q '^PASS' "$T/out" && ok failed-write || not_ok failed-write "$(tail -n 1 "$T/out")"
	else
		not_ok failed-write "not left running: $(tail -n 1 "$T/full.log")"
		end_target
	fi
fi

# A tree: vxdump --kernel refuses it (running on); its library image is
# refused by vxrestore --kernel, with the reason
sh -c 'sleep 1000 & wait' &
tpid=$!
wait_for 10 test -n "$(cat /proc/$tpid/task/$tpid/children 2>/dev/null)"
vxdump --kernel -o "$T/t.img" $tpid >"$T/t.log" 2>&1
st=$?
if [ $st = 1 ] && grep -q "has children (a tree)" "$T/t.log" && running $tpid; then
	ok refused-tree
else
	not_ok refused-tree "status $st: $(tail -n 1 "$T/t.log")"
fi
if vxdump --leave-running -o "$T/tree.img" $tpid >"$T/tu.log" 2>&1; then
	vxrestore --kernel "$T/tree.img" >"$T/tr.log" 2>&1
	st=$?
	if [ $st = 1 ] && [ "$(wc -l <"$T/tr.log")" = 1 ] && grep -q "holds 2 processes" "$T/tr.log"; then
		ok restore-refused-tree
	else
		not_ok restore-refused-tree "status $st: $(tail -n 1 "$T/tr.log")"
	fi
else
	not_ok restore-refused-tree "vxdump: $(tail -n 1 "$T/tu.log")"
fi
kill -9 $(cat /proc/$tpid/task/$tpid/children) $tpid
wait $tpid

# Threads: the module dumps them, its restart refuses them
kckpt-prog "$T/mout" threads >/dev/null 2>&1 &
mpid=$!
if wait_for 30 grep -qs ready "$T/mout" && vxdump --kernel -o "$T/m.img" $mpid >"$T/m.log" 2>&1; then
	wait $mpid
	vxrestore --kernel "$T/m.img" >"$T/mr.log" 2>&1
	st=$?
	if [ $st = 1 ] && grep -q "has 2 threads" "$T/mr.log"; then
		ok restore-refused-threads
	else
		not_ok restore-refused-threads "status $st: $(tail -n 1 "$T/mr.log")"
	fi
else
	not_ok restore-refused-threads "vxdump: $(tail -n 1 "$T/m.log")"
	kill -9 $mpid
	wait $mpid
fi

# Options the kernel's path cannot honour: one line naming each
refused_opt()
{
	local name=$1 opt=$2 st
	shift 2
	"$@" >"$T/o.log" 2>&1
	st=$?
	if [ $st != 0 ] && [ "$(wc -l <"$T/o.log")" = 1 ] && grep -q -- "$opt" "$T/o.log"; then
		ok "$name"
	else
		not_ok "$name" "status $st: $(cat "$T/o.log")"
	fi
}
refused_opt opt-sign --sign vxdump --kernel --sign /nonexistent -o "$T/x.img" 1
refused_opt opt-compress --compress vxdump --kernel --compress zstd -o "$T/x.img" 1
refused_opt opt-ctx --ctx vxdump --kernel --ctx 5 -o "$T/x.img"
refused_opt opt-parent --parent vxdump --kernel --parent "$T/k.img" -o "$T/x.img" 1
refused_opt opt-store --kernel-store vxdump --kernel --kernel-store bogus -o "$T/x.img" 1
refused_opt opt-netns --netns vxrestore --kernel --netns "$T/k.img"
refused_opt opt-parent-restore --parent vxrestore --kernel --parent "$T/k.img" "$T/k.img"
refused_opt no-module-dump "needs the kernel module vxcr.ko" \
	env VXCR_VSERVER_DEV= vxdump --kernel -o "$T/x.img" 1
refused_opt no-module-restore "needs the kernel module vxcr.ko" \
	env VXCR_VSERVER_DEV= vxrestore --kernel "$T/k.img"
[ ! -e "$T/x.img" ] && ok no-image-left || not_ok no-image-left "$T/x.img exists"
