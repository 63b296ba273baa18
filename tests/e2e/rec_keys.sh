#!/usr/bin/env bash
# rec_keys.sh - traced calls made while a thread exits, from the program's
# own pthread key destructors (which run after the runtime's and the
# recorder's), over three destructor rounds: every one recorded, none
# lost, both tracers.  Before, the runtime gave up the thread's record at
# its own key destructor for good, and every later call was counted lost
# (3672 of 4885 events here): a likely part of googletest's stress test
# losing events in lossless mode with rings to spare.
source "$(dirname "$0")/rec_common.bash"

clang -O2 -g -fpatchable-function-entry=5 -o "$W/keys" "$PROGS/rec_keys.c" -lpthread
for tracer in function function_graph; do
	"$FNTRACE" record --tracer $tracer -o "$W/k.data" "$W/keys" 8 100 >"$W/out" 2>"$W/err" ||
		{ cat "$W/err"; fail "$tracer: record"; }
	cat "$W/err"
	# main; per thread (12): thread_fn, 100 leaf, and 3 rounds of dtor,
	# in_dtor and 100 leaf.
	total=$((1 + 12 * (1 + 100 + 3 * (2 + 100))))
	[ "$tracer" = function ] || total=$((2 * total))
	expect_eq "$(info_field "$W/k.data" 'lost events')" 0 "$tracer: lost events"
	expect_eq "$(info_field "$W/k.data" events)" "$total" "$tracer: events"
	"$FNTRACE" report -i "$W/k.data" >"$W/rep" 2>/dev/null || fail "$tracer: report"
	expect_counts "$W/out" "$W/rep"
done
echo "rec_keys: ok"
