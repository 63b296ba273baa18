#!/usr/bin/env bash
# attach_malloc.sh - the malloc deadlock trap of attaching.  The target
# (tests/progs/attach_target.c) runs malloc, calloc, realloc and free in
# tight loops in every thread, main included (the thread fntrace hijacks),
# and calls traced functions, checking every block's contents (and, with
# -m, the results of traced calls and of a register-heavy loop).  A loader
# that took a malloc lock on an interrupted thread, or ran in the C library
# beside a thread that believes itself alone (and so takes no lock), hangs
# the attach or the process, or corrupts the heap (the target's checks or
# glibc's abort say so).
#
# Every round uses a fresh process: the runtime stays loaded after an
# attach, so only a fresh process goes through the injection.  A round:
# start the target, 'fntrace ctl -p PID' under timeout: it must attach
# within LIMIT_MS, say "state dormant", and leave the process alive with
# every thread making progress; then SIGHUP, and the target exits 0 with
# nothing on stderr (all its checks passed).
#   - ROUNDS rounds with 4 threads (-t 3), half -m (malloc churn with
#     traced calls and the register loop), half -M (churn only);
#   - REC rounds of 'record -p PID -d 200ms': the report shows calls of
#     every thread's functions, step and mix pair up, nothing is lost, and
#     the process is dormant again;
#   - ONE rounds with a one-thread process in a tight malloc loop (-t 0 -M,
#     and -m), where attach.c hijacks only at a safe point: half of them
#     with two busy loops competing for the CPUs, so that the loader may
#     start late, when the thread runs malloc again.
# The attach times (max, mean) are printed.
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"
source "$ROOT/tests/e2e/attach_common.bash"

ROUNDS=${ROUNDS:-200} REC=${REC:-6} ONE=${ONE:-40}
LIMIT_MS=5000
clang -O2 -g -fpatchable-function-entry=5 -o "$W/target" "$PROGS/attach_target.c" -lpthread

P= HOGS=
cleanup() {
	set +e
	[ -n "$P" ] && kill -KILL "$P" 2>/dev/null
	for h in $HOGS; do kill -KILL "$h" 2>/dev/null; done
	return 0
}
trap cleanup EXIT

now_ms() { echo $(($(date +%s%N) / 1000000)); }
counters() { od -An -v -tu8 -w8 -N $((8 * $2)) "$1" | tr -s ' \n' ' '; }
# start ARGS...: a fresh target; waits for "ready" (20 s at most); sets P.
start() {
	rm -f "$W/t.out" "$W/t.err" "$W/t.prog"
	"$W/target" "$@" -p "$W/t.prog" >"$W/t.out" 2>"$W/t.err" &
	P=$!
	for ((i = 0; i < 1000; i++)); do
		grep -q '^ready$' "$W/t.out" 2>/dev/null && return 0
		kill -0 "$P" 2>/dev/null || { cat "$W/t.err"; fail "$case: the target ended at start"; }
		sleep 0.02
	done
	fail "$case: the target did not start in 20 s"
}
# alive: the target runs, and is not stopped.
alive() {
	local s
	kill -0 "$P" 2>/dev/null || { cat "$W/t.err"; fail "$case: the target died"; }
	s=$(for t in /proc/"$P"/task/*; do awk '{ print $3 }' "$t/stat" 2>/dev/null || true; done | sort -u | tr -d '\n')
	case "$s" in *[tTZX]*) cat "$W/t.err"; fail "$case: a thread of the target is in state $s" ;; esac
}
# progress N: every one of the target's N threads makes progress (10 s at
# most).
progress() {
	local a b ok k
	read -ra a <<<"$(counters "$W/t.prog" "$1")"
	for ((i = 0; i < 500; i++)); do
		alive
		read -ra b <<<"$(counters "$W/t.prog" "$1")"
		ok=1
		for ((k = 0; k < $1; k++)); do [ "${b[k]}" -gt "${a[k]}" ] || ok=0; done
		[ $ok = 1 ] && return 0
		sleep 0.02
	done
	fail "$case: not every thread made progress in 10 s after the attach (${a[*]} -> ${b[*]})"
}
# finish: SIGHUP; the target exits 0 within 10 s and said nothing.
finish() {
	hup_and_reap 10
	P=
	[ -s "$W/t.err" ] && { cat "$W/t.err"; fail "$case: the target wrote to stderr"; }
	expect_grep '^rounds [1-9][0-9]*$' "$W/t.out" "$case: the target's last line"
}
MAX=0 SUM=0 N=0
# attach: 'ctl -p' attaches within LIMIT_MS and says dormant.
attach() {
	local t0 t1 rc=0 ms
	t0=$(now_ms)
	timeout -k 2 30 "$FNTRACE" ctl -p "$P" >"$W/ctl.out" 2>"$W/ctl.err" || rc=$?
	t1=$(now_ms)
	ms=$((t1 - t0))
	[ $rc -ne 124 ] && [ $rc -ne 137 ] || fail "$case: ctl -p hung (killed after 30 s)"
	[ $rc -eq 0 ] || { cat "$W/ctl.err"; fail "$case: ctl -p: status $rc"; }
	expect_grep '^state +dormant$' "$W/ctl.out" "$case: ctl -p"
	[ $ms -le $LIMIT_MS ] || fail "$case: the attach took $ms ms (more than $LIMIT_MS)"
	grep -q libfntrace "/proc/$P/maps" || fail "$case: no libfntrace in the process after the attach"
	[ $ms -gt $MAX ] && MAX=$ms
	SUM=$((SUM + ms)) N=$((N + 1))
	return 0
}
# round NTHREADS ARGS...
round() {
	local n=$1; shift
	start "$@"
	attach
	alive
	# The agent is added; the loader's thread ends (5 s at most).
	for ((i = 0; i < 250; i++)); do [ "$(ls "/proc/$P/task" | wc -l)" = $((n + 1)) ] && break; sleep 0.02; done
	expect_eq "$(ls "/proc/$P/task" | wc -l)" $((n + 1)) "$case: threads after the attach (the agent added)"
	expect_eq "$(cat /proc/"$P"/task/*/comm | grep -c '^fntrace-agent$')" 1 "$case: agent threads"
	progress "$n"
	finish
}

SECONDS=0
for ((r = 1; r <= ROUNDS; r++)); do
	mode=$([ $((r % 2)) = 0 ] && echo -m || echo -M)
	case="round $r (4 threads, $mode)"
	round 4 -t 3 "$mode"
	[ $((r % 50)) = 0 ] && note "$r rounds of 4 threads: max attach $MAX ms, mean $((SUM / N)) ms (${SECONDS} s)"
done
note "4 threads: $ROUNDS fresh processes attached, every thread going on after it: max $MAX ms, mean $((SUM / N)) ms"

MAX1=$MAX
MAX=0 SUM=0 N=0
for ((r = 1; r <= REC; r++)); do
	mode=$([ $((r % 2)) = 0 ] && echo -m || echo -M)
	case="record -p, round $r (4 threads, $mode)"
	start -t 3 "$mode"
	progress 4
	t0=$(now_ms)
	rc=0
	timeout -k 2 60 "$FNTRACE" record -p "$P" -d 200ms -o "$W/r.data" 2>"$W/r.err" || rc=$?
	ms=$(($(now_ms) - t0))
	[ $rc -eq 0 ] || { cat "$W/r.err"; fail "$case: record -p: status $rc"; }
	[ -s "$W/r.err" ] && { cat "$W/r.err"; fail "$case: record -p wrote to stderr"; }
	"$FNTRACE" report -i "$W/r.data" >"$W/r.report"
	cw=$(calls_of "$W/r.report" c_work) ch=$(calls_of "$W/r.report" check)
	[ "$cw" -gt 0 ] && [ "$ch" -gt 0 ] || fail "$case: c_work $cw, check $ch calls recorded"
	if [ "$mode" = -m ]; then
		st=$(calls_of "$W/r.report" step) mx=$(calls_of "$W/r.report" mix)
		[ "$st" -gt 0 ] || fail "$case: no call of step recorded"
		# a call in flight at the start or the end may lack its pair
		d=$((st - mx)); d=${d#-}
		[ $d -le 8 ] || fail "$case: step $st and mix $mx calls"
	fi
	expect_eq "$(info_field "$W/r.data" threads)" 4 "$case: threads recorded"
	expect_eq "$(info_field "$W/r.data" 'lost events')" 0 "$case: lost events"
	"$FNTRACE" ctl -p "$P" >"$W/ctl.out"
	expect_grep '^state +dormant$' "$W/ctl.out" "$case: after the recording"
	expect_grep '^enabled +0$' "$W/ctl.out" "$case: after the recording"
	progress 4
	finish
	note "$case: $ms ms, c_work $cw, check $ch calls recorded"
done

MAX=0 SUM=0 N=0
for ((r = 1; r <= ONE; r++)); do
	mode=$([ $((r % 4)) = 0 ] && echo -m || echo -M)
	hogs=$([ $((r % 2)) = 0 ] && echo 2 || echo 0)
	case="one thread, round $r ($mode, $hogs busy loops)"
	HOGS=
	for ((h = 0; h < hogs; h++)); do
		(while :; do :; done) &
		HOGS="$HOGS $!"
	done
	round 1 -t 0 "$mode"
	for h in $HOGS; do kill -KILL "$h"; wait "$h" 2>/dev/null || true; done
	HOGS=
done
note "one thread: $ONE fresh processes attached: max $MAX ms, mean $((SUM / N)) ms"
note "total ${SECONDS} s"
echo "attach_malloc: ok"
