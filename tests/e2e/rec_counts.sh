#!/usr/bin/env bash
# rec_counts.sh - exact call counts in lossless mode: the program counts its
# own calls, fntrace report must show exactly those, for every patch-site
# form, -O0 and -O2, both tracers, and the tricky control flows (threads
# coming and going, longjmp, signal handlers, recursion past the shadow
# stack).
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"

failed=()
for form in clang clang-cet gcc-nop gcc-pie; do
	for opt in -O0 -O2; do
		build_rec "rc-$form$opt" "$form" "$opt"
		for tracer in function_graph function; do
			for args in "count 2000" "threads 10 300" "longjmp 50" "signal 100" "deep 3000" \
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
# pthread_exit from a traced frame: the runtime closes the frames it
# unwinds; the exit of the process from a traced frame keeps every event.
rec -o "$W/p.data" "$W/rc-clang-O2" pexit 5 >/dev/null
"$FNTRACE" replay -i "$W/p.data" >"$W/p.txt"
expect_eq "$(grep -c 'quit_thread(); /\* unwound \*/' "$W/p.txt")" 5 "pthread_exit: quit_thread unwound"
expect_eq "$(grep -c '} /\* quitter (unwound) \*/' "$W/p.txt")" 5 "pthread_exit: quitter unwound"
[ ${#failed[@]} -eq 0 ] || fail "${#failed[@]} cases failed: $(printf '[%s] ' "${failed[@]}")"
echo "rec_counts: ok"
