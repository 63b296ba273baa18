#!/usr/bin/env bash
# rec_counts.sh - exact call counts in lossless mode: the program counts its
# own calls, fntrace report must show exactly those, for every patch-site
# form, -O0 and -O2, both tracers, and the tricky control flows (threads
# coming and going, longjmp, coroutines, signal handlers, recursion past
# the shadow stack).
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"

failed=()
for form in clang clang-cet gcc-nop gcc-exit gcc-pie; do
	for opt in -O0 -O2; do
		build_rec "rc-$form$opt" "$form" "$opt"
		for tracer in function_graph function; do
			for args in "count 2000" "threads 10 300" "longjmp 50" "deepjmp 30" "coro 300" "signal 100" "deep 3000" \
				    "pexit 20" "exit 100"; do
				t="$form$opt $tracer $args"
				note "$t"
				# Each case in a subshell: one failure does not hide the others.
				( data=$W/t.data
				"$FNTRACE" record --tracer "$tracer" --buffer-size 64K -o "$data" \
					"$W/rc-$form$opt" $args >"$W/out" 2>"$W/err" ||
					{ rc=$?; cat "$W/err"; fail "$t: record failed (status $rc)"; }
				[ -s "$W/err" ] && { cat "$W/err"; fail "$t: record wrote to stderr"; }
				"$FNTRACE" report -i "$data" >"$W/report"
				expect_counts "$W/out" "$W/report"
				expect_eq "$(info_field "$data" 'lost events')" 0 "$t: lost events"
				) || failed+=("$t")
			done
		done
	done
done


# longjmp: the unwound frames are closed in the graph.
"$FNTRACE" record -o "$W/j.data" "$W/rc-clang-O2" longjmp 3 >/dev/null
"$FNTRACE" replay -i "$W/j.data" >"$W/j.txt"
expect_eq "$(grep -c 'jump_b (unwound)' "$W/j.txt")" 3 "unwound jump_b frames"
expect_grep '\} /\* main \*/' "$W/j.txt" "main closes after the longjmps"
# Signals raining on two threads: handlers write into the rings while the
# interrupted writers are mid-event.  The runtime does not report calls made
# while a callback runs on the thread (its recursion guard); the recorder
# counts those as lost, so: events + lost == every event the program made.
for tracer in function_graph function; do
	rec --tracer $tracer -o "$W/storm.data" "$W/rc-clang-O2" sigstorm 200000 >"$W/out"
	"$FNTRACE" report -i "$W/storm.data" >"$W/report"
	expect_eq "$(calls_of "$W/report" mid)" 400000 "sigstorm $tracer: mid"
	expect_eq "$(calls_of "$W/report" storm_fn)" 2 "sigstorm $tracer: storm_fn"
	h=$(sed -n 's/^calls storm_handler //p' "$W/out")
	# How many signals land depends on the machine's load; one is enough
	# for the accounting to be checked.
	[ "$h" -gt 0 ] || fail "sigstorm: no signal handled"
	per=2; [ $tracer = function ] && per=1
	events=$(info_field "$W/storm.data" events)
	lost=$(info_field "$W/storm.data" 'lost events')
	# main, report, 2 storm_fn, 400000 mid and leaf, h storm_handler and leaf
	expect_eq "$((events + lost))" "$((per * (4 + 800000 + 2 * h)))" "sigstorm $tracer: events + lost"
	note "sigstorm $tracer: $h handlers, $lost events lost to the recursion guard"
done

# Jumps out of frames deeper than the tracer's own stack use (their slots
# keep the trampoline's address): every abandoned frame is closed at the
# jump, and the next call is a child of the frame that called setjmp, not
# of the dead frames.  By turns longjmp, _longjmp and siglongjmp, and
# __longjmp_chk from a fortified build.
build_rec rc-fortify clang "-O2 -D_FORTIFY_SOURCE=2"
nm -D "$W/rc-fortify" | grep -q __longjmp_chk || fail "the fortified build does not call __longjmp_chk"
for prog in rc-clang-O2 rc-gcc-pie-O2 rc-fortify; do
	"$FNTRACE" record -o "$W/dj.data" "$W/$prog" deepjmp 6 >/dev/null
	"$FNTRACE" replay -i "$W/dj.data" >"$W/dj.txt"
	expect_eq "$(grep -c '|   leaf();' "$W/dj.txt")" 6 "$prog deepjmp: leaf right under main"
	expect_eq "$(grep -c 'leaf();' "$W/dj.txt")" 6 "$prog deepjmp: every leaf"
	expect_eq "$(grep -cE 'dive\(\); /\* unwound|dive \(unwound\)' "$W/dj.txt")" 126 "$prog deepjmp: unwound dive frames"
	expect_grep '^ *[0-9.]+ [mun]s \[ *[0-9]+\] \| \} /\* main \*/' "$W/dj.txt" "$prog deepjmp: main closes"
done

# A signal handler that leaves with siglongjmp, over and over, mostly out
# of the tracer's hooks: the hook it abandoned must not keep the thread
# untraced (its recursion guard and ring write are recovered), so every
# call after the storm is recorded, and losses stay about one per jump.
for tracer in function_graph function; do
	rec --tracer $tracer -o "$W/sj.data" "$W/rc-clang-O2" sigjmp 300 >"$W/out"
	"$FNTRACE" report -i "$W/sj.data" >"$W/report"
	expect_eq "$(calls_of "$W/report" after_jump)" 300 "sigjmp $tracer: after_jump"
	lost=$(info_field "$W/sj.data" 'lost events')
	[ "$lost" -le 2000 ] || fail "sigjmp $tracer: $lost events lost for 300 jumps"
	"$FNTRACE" replay -i "$W/sj.data" >"$W/sj.txt" || fail "sigjmp $tracer: replay failed"
	if [ $tracer = function_graph ]; then
		# main > mid > leaf, or main > jumper: never deeper (no dead frames).
		depth=$(sed -n 's/^[^|]*| \( *\).*/\1/p' "$W/sj.txt" | awk '{ if (length($0) > m) m = length($0) } END { print m / 2 }')
		[ "$depth" -le 3 ] || fail "sigjmp: calls nested $depth deep in dead frames"
	fi
	note "sigjmp $tracer: $lost events lost"
done

# pthread_exit from a traced frame: the runtime closes the frames it
# unwinds; the exit of the process from a traced frame keeps every event.
rec -o "$W/p.data" "$W/rc-clang-O2" pexit 5 >/dev/null
"$FNTRACE" replay -i "$W/p.data" >"$W/p.txt"
expect_eq "$(grep -c 'quit_thread(); /\* unwound \*/' "$W/p.txt")" 5 "pthread_exit: quit_thread unwound"
expect_eq "$(grep -c '} /\* quitter (unwound) \*/' "$W/p.txt")" 5 "pthread_exit: quitter unwound"
[ ${#failed[@]} -eq 0 ] || fail "${#failed[@]} cases failed: $(printf '[%s] ' "${failed[@]}")"
echo "rec_counts: ok"
