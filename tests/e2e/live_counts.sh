#!/usr/bin/env bash
# live_counts.sh - exact call counts of a process recorded from outside
# (tests/progs/live_counts.c, started dormant by 'fntrace run').  The test
# starts 'record -p PID' (no -d), waits until 'ctl -p' says recording,
# sends "go", waits for "done", and ends the recording with SIGINT to the
# record process, which must exit 0 with the trace written: every traced
# function's count is exactly what the program made, nothing is lost, and
# the process is dormant again.  Both tracers, lossless and overwrite (with
# rings too big to wrap), clang and gcc builds (gcc's five 1-byte NOPs are
# converted at start-up).
#
# Then fork and exec while recorded: the child makes M calls right after
# the fork (the fork is followed: they are in the trace with the parent's
# M), then execs the program again, whose runtime starts dormant (it comes
# through LD_PRELOAD and LD_AUDIT); record -p STARTs that image too and its
# Q calls are in the trace:
#   - adopted: the child execs once record -p took it over;
#   - early: the child execs at once (fork and exec, as a shell does),
#     before record -p could take it over; its new image waits until
#     'ctl -p' says it is recorded (before the fix in remote.c's follow()
#     that image stayed dormant and its calls were never recorded);
#   - at once: the child execs at once, and the new image makes its calls
#     without waiting to be recorded.  Nothing can make that reliable
#     from outside: a dormant image traces nothing until the START reaches
#     it.  The fork's calls are checked; how many of the Q were caught is
#     said (0 or all of them, by the race).
# The parent and the child (both images) exit 0.
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"

clang -O1 -g -fpatchable-function-entry=5 -o "$W/lc-clang" "$PROGS/live_counts.c" -lpthread
gcc -O1 -g -fpatchable-function-entry=5 -o "$W/lc-gcc" "$PROGS/live_counts.c" -lpthread

PID= RP= CHILD=
cleanup() {
	[ -n "$CHILD" ] && kill -KILL "$CHILD" 2>/dev/null
	[ -n "$RP" ] && kill -KILL "$RP" 2>/dev/null
	[ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null
	return 0
}
trap cleanup EXIT

n=0
# launch PROG ARGS...: starts PROG dormant with fresh FIFOs: fd 3 writes
# its commands, fd 4 reads what it says; waits for "ready".
launch() {
	local prog=$1; shift
	n=$((n + 1))
	IN=$W/in.$n OUT=$W/out.$n
	mkfifo "$IN" "$OUT"
	exec 3<>"$IN" 4<>"$OUT"
	"$FNTRACE" run "$prog" "$1" "$IN" "$OUT" "${@:2}" 2>"$W/prog.err" &
	PID=$!
	expect_eq "$(hear)" ready "$case: the program started"
}
# hear: the program's next line (20 s at most).
hear() {
	local line
	read -r -t 20 line <&4 || fail "$case: the program said nothing for 20 s"
	echo "$line"
}
# ctl_state PID: the state 'ctl -p' reports.
ctl_state() { "$FNTRACE" ctl -p "$1" 2>/dev/null | awk '$1 == "state" { print $2 }'; }
# wait_state PID STATE: until 'ctl -p PID' says STATE (10 s at most).
wait_state() {
	for i in $(seq 500); do
		[ "$(ctl_state "$1")" = "$2" ] && return 0
		[ -z "$RP" ] || kill -0 "$RP" 2>/dev/null || { cat "$W/rec.err"; fail "$case: record -p ended"; }
		sleep 0.02
	done
	fail "$case: process $1 is not '$2' after 10 s"
}
# record_bg ARGS...: record -p PID ARGS in the background, until recording.
record_bg() {
	"$FNTRACE" record -p "$PID" "$@" -o "$W/t.data" 2>"$W/rec.err" &
	RP=$!
	wait_state "$PID" recording
}
# end_record: SIGINT to record -p: exit 0, nothing said, a trace.
end_record() {
	local rc=0
	kill -INT "$RP"
	wait "$RP" || rc=$?
	RP=
	[ $rc -eq 0 ] || { cat "$W/rec.err"; fail "$case: record -p exited with $rc after SIGINT"; }
	if [ -s "$W/rec.err" ]; then cat "$W/rec.err"; fail "$case: record -p wrote to stderr"; fi
	[ -s "$W/t.data" ] || fail "$case: no trace file"
	"$FNTRACE" report -i "$W/t.data" >"$W/report"
	expect_eq "$(info_field "$W/t.data" 'lost events')" 0 "$case: lost events"
}
# finish: "quit", and the program exits 0.
finish() {
	local rc=0 st
	st=$("$FNTRACE" ctl -p "$PID")
	grep -qE '^state +dormant$' <<<"$st" || { echo "$st"; fail "$case: not dormant after the recording"; }
	grep -qE '^enabled +0$' <<<"$st" || { echo "$st"; fail "$case: sites enabled after the recording"; }
	echo quit >&3
	wait "$PID" || rc=$?
	PID=
	exec 3>&- 4<&-
	[ $rc -eq 0 ] || { cat "$W/prog.err"; fail "$case: the program exited with $rc"; }
	if [ -s "$W/prog.err" ]; then cat "$W/prog.err"; fail "$case: the program wrote to stderr"; fi
}
# expect_calls FUNC N...: exact counts in the report.
expect_calls() {
	while [ $# -gt 0 ]; do
		expect_eq "$(calls_of "$W/report" "$1")" "$2" "$case: calls of $1"
		shift 2
	done
}

for cc in clang gcc; do
	for tracer in function_graph function; do
		for mode in lossless overwrite; do
			case="$cc $tracer $mode"
			note "$case"
			launch "$W/lc-$cc" counts
			record_bg --tracer $tracer --mode $mode --buffer-size 64M
			echo go >&3
			expect_eq "$(hear)" done "$case: the calls were made"
			end_record
			# N_A f_a, N_B f_b and f_leaf, N_REC f_rec of 11 levels, N_T t_fn.
			expect_calls f_a 1000 f_b 2500 f_leaf 2500 f_rec 77 t_fn 300
			expect_eq "$(info_field "$W/t.data" threads)" 2 "$case: threads"
			finish
		done
	done
done

M=400 Q=250
# fork_case HOW TRACER CC: the fork and exec scenarios above.
fork_case() {
	local how=$1 tracer=$2 cc=$3 child e
	case="fork, exec $how ($tracer, $cc)"
	note "$case"
	launch "$W/lc-$cc" fork $M $Q "$([ "$how" = adopted ] && echo wait || echo now)"
	record_bg --tracer $tracer
	echo go >&3
	if [ "$how" = "at once" ]; then echo go2 >&3; fi
	child=$(hear)
	[ "${child%% *}" = child ] || fail "$case: the child said '$child'"
	child=${child#child } CHILD=${child#child }
	if [ "$how" = adopted ]; then
		# Taken over: the child's agent names record -p as its owner.
		for i in $(seq 500); do
			grep -qE "^owner_pid +$RP\$" <<<"$("$FNTRACE" ctl -p "$child" 2>/dev/null)" && break
			sleep 0.02
		done
		grep -qE "^owner_pid +$RP\$" <<<"$("$FNTRACE" ctl -p "$child")" || fail "$case: child $child not taken over"
		echo exec >&3
	fi
	expect_eq "$(hear)" "image2 $child" "$case: the child exec'd"
	if [ "$how" != "at once" ]; then
		wait_state "$child" recording
		echo go2 >&3
	fi
	expect_eq "$(hear)" image2-done "$case: the exec'd image made its calls"
	expect_eq "$(hear)" "child-status 0" "$case: the child's exit status"
	CHILD=
	expect_eq "$(hear)" done "$case: the parent went on"
	end_record
	expect_calls c_fn $M p_fn $M
	e=$(calls_of "$W/report" e_fn)
	if [ "$how" = "at once" ]; then
		[ "$e" -le $Q ] || fail "$case: $e calls of e_fn, of $Q"
		note "$case: $e of the $Q calls of the image exec'd at once were recorded"
	else
		expect_eq "$e" $Q "$case: calls of e_fn in the exec'd image"
	fi
	expect_eq "$(info_field "$W/t.data" processes)" 2 "$case: processes"
	finish
}
fork_case adopted function_graph clang
fork_case adopted function gcc
fork_case early function_graph clang
fork_case early function gcc
fork_case "at once" function_graph clang
echo "live_counts: ok"
