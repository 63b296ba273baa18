# attach_common.bash - shell helpers of the attach tests that drive the
# target tests/progs/attach_target.c (attach_faults, attach_malloc):
# sourced after rec_common.bash.  They use $P (the target's pid), $case
# and $W.

# dump_threads: where the target's threads are (for a failure).
dump_threads() {
	local t
	for t in /proc/"$P"/task/*; do
		echo "thread ${t##*/} $(cat "$t/comm" 2>/dev/null) state $(awk '{ print $3 }' "$t/stat" 2>/dev/null)" \
			"wchan $(cat "$t/wchan" 2>/dev/null) $(grep -h '^SigBlk' "$t/status" 2>/dev/null)"
	done >&2
	if command -v gdb >/dev/null; then
		timeout -k 5 60 gdb -q -batch -nx -p "$P" -ex 'thread apply all bt 12' 2>&1 | grep -E '^(Thread|#)' >&2 || true
	fi
	return 0
}

# hup_and_reap SECONDS: SIGHUP to the target, which must end (exit, or be a
# zombie) within SECONDS and exit 0; a target that does not is shown
# (dump_threads).
hup_and_reap() {
	local secs=$1 rc=0 ended=0 i
	kill -HUP "$P"
	for ((i = 0; i < secs * 50; i++)); do
		if ! kill -0 "$P" 2>/dev/null || [ "$(awk '{ print $3 }' "/proc/$P/stat" 2>/dev/null)" = Z ]; then
			ended=1
			break
		fi
		sleep 0.02
	done
	[ $ended = 1 ] || { dump_threads; fail "$case: the target did not end in $secs s after SIGHUP"; }
	wait "$P" || rc=$?
	[ $rc -eq 0 ] || { cat "$W/t.err"; fail "$case: the target exited with $rc"; }
}
