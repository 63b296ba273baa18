#!/usr/bin/env bash
# rec_nested.sh - traced calls of signal handlers that interrupt the
# tracer's own hooks (issue 9, item 6).  Signals land on worker threads
# without pause while they make traced calls, so most of them interrupt a
# hook; every handler makes traced calls.  Such a call is recorded at a
# nested level of the shadow stack: every one is in the trace, nothing is
# lost, in both tracers and two site forms.  Before, a hook that found the
# guard held skipped the call (about 75% of the handlers' calls were
# counted lost).  With jumps, some handlers leave with siglongjmp from a
# traced call: the trace stays readable, the handlers' calls are all
# there, and only the interrupted hooks' own calls may be lost (counted).
source "$(dirname "$0")/rec_common.bash"

src=$PROGS/rec_nested.c
clang -O2 -g -fpatchable-function-entry=5 -o "$W/clang" "$src" -lpthread
gcc -O2 -g -pg -mfentry -mrecord-mcount -mnop-mcount -fno-pie -c -o "$W/gcc.o" "$src"
gcc -no-pie -o "$W/gcc" "$W/gcc.o" -lpthread

handler_calls() { # OUT: in_handler + handler_leaf as the program counted them
	awk '/^calls (in_handler|handler_leaf) / { s += $3 } END { print s + 0 }' "$1"
}

for form in clang gcc; do
	for tracer in function function_graph; do
		what="$form $tracer"
		"$FNTRACE" record --tracer $tracer -o "$W/n.data" "$W/$form" 2 100000 \
			>"$W/out" 2>"$W/err" || { cat "$W/err"; fail "$what: record"; }
		"$FNTRACE" report -i "$W/n.data" >"$W/rep" 2>/dev/null || fail "$what: report"
		n=$(handler_calls "$W/out")
		note "$what: $n calls in handlers"
		[ "$n" -ge 100 ] || fail "$what: only $n calls in handlers (the signals did not come)"
		expect_eq "$(info_field "$W/n.data" 'lost events')" 0 "$what: lost events"
		expect_counts "$W/out" "$W/rep"

		what="$form $tracer, with jumps"
		"$FNTRACE" record --tracer $tracer -o "$W/j.data" "$W/$form" 2 100000 jump \
			>"$W/out" 2>"$W/err" || { cat "$W/err"; fail "$what: record"; }
		"$FNTRACE" report -i "$W/j.data" >"$W/rep" 2>/dev/null || fail "$what: report"
		"$FNTRACE" replay -i "$W/j.data" >"$W/replay" 2>"$W/rerr" ||
			{ cat "$W/rerr"; fail "$what: replay"; }
		for f in in_handler handler_leaf jumper; do
			expect_eq "$(calls_of "$W/rep" $f)" \
				"$(awk -v f=$f '$1 == "calls" && $2 == f { print $3 }' "$W/out")" \
				"$what: calls of $f"
		done
		jumps=$(awk '$2 == "jumper" { print $3 }' "$W/out")
		lost=$(info_field "$W/j.data" 'lost events')
		note "$what: $jumps jumps, $lost lost"
		# Each jump abandons at most one hook (entry and exit of its call).
		[ "$lost" -le $((2 * jumps)) ] || fail "$what: $lost lost for $jumps jumps"
	done
done
echo "rec_nested: ok"
