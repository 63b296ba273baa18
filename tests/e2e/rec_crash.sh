#!/usr/bin/env bash
# rec_crash.sh - a program killed by SIGKILL or crashing with SIGSEGV: the
# trace holds every event up to the end (the rings live in shared memory,
# drained after the process is gone), and fntrace exits with 128+signal,
# as the program's own death.
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"

build_rec rc clang -O2
for how in kill:137 segv:139 abort:134; do
	mode=${how%%:*} want=${how##*:}
	for tracer in function_graph function; do
		t="$mode $tracer"
		note "$t"
		set +e
		"$FNTRACE" record --tracer $tracer -o "$W/$mode.data" "$W/rc" $mode 5000 >"$W/out" 2>"$W/err"
		rc=$?
		set -e
		expect_eq "$rc" "$want" "$t: exit status"
		"$FNTRACE" report -i "$W/$mode.data" >"$W/report"
		# Every call made before the signal is in the file.
		expect_counts "$W/out" "$W/report"
		expect_eq "$(calls_of "$W/report" main)" 1 "$t: main entered"
		expect_eq "$(info_field "$W/$mode.data" 'lost events')" 0 "$t: lost events"
		"$FNTRACE" info -i "$W/$mode.data" >"$W/info"
		expect_grep "exit status  : killed by signal $((want - 128))" "$W/info" "$t: info"
	done
done

# The program's own stdout and stderr are untouched (nothing of fntrace's).
"$FNTRACE" record -o "$W/c.data" "$W/rc" count 3 >"$W/out" 2>"$W/err"
expect_eq "$(cat "$W/out")" "$(printf 'calls leaf 6\ncalls mid 3')" "program stdout"
expect_eq "$(cat "$W/err")" "" "stderr of a clean run"

# An exit status of the program's own is passed through.
set +e
"$FNTRACE" record -o "$W/s.data" sh -c 'exit 42'
rc=$?
set -e
expect_eq "$rc" 42 "exit status passed through"
# Ctrl-C: SIGINT to the whole process group.  The program dies of it,
# fntrace outlives it, writes a complete file and exits with 130.
set -m	# the background job gets its own process group, as in a terminal
"$FNTRACE" record -o "$W/int.data" "$W/rc" count 100000000 >/dev/null 2>"$W/int.err" &
pid=$!
sleep 1
kill -INT -- -$pid
set +e
wait $pid
rc=$?
set -e +m
expect_eq "$rc" 130 "Ctrl-C: exit status"
"$FNTRACE" info -i "$W/int.data" >"$W/info" 2>"$W/err"
[ ! -s "$W/err" ] || fail "Ctrl-C: the file is not complete: $(cat "$W/err")"
expect_grep 'exit status  : killed by signal 2' "$W/info" "Ctrl-C: info"
expect_eq "$(info_field "$W/int.data" 'lost events')" 0 "Ctrl-C: lost events"
rm -f "$W/int.data"

# live: the program's output, then the replay; the program's status.
set +e
"$FNTRACE" live "$W/rc" segv 3 >"$W/live.out" 2>"$W/live.err"
rc=$?
set -e
expect_eq "$rc" 139 "live: exit status"
expect_grep '^calls mid 3$' "$W/live.out" "live: program output"
expect_eq "$(grep -c '|   mid() {' "$W/live.out")" 3 "live: replay of the calls"
ls /tmp/fntrace-live-* 2>/dev/null | grep -q . && fail "live left its temporary file" || true
echo "rec_crash: ok"
