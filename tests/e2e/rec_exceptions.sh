#!/usr/bin/env bash
# rec_exceptions.sh - C++ exceptions thrown through traced frames: the
# program behaves as untraced, the counts are exact, and the replay closes
# the unwound frames (names demangled).
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"

n=40
# clang's entry NOPs (returns hooked), and gcc's with exit sites (calls
# closed at their exit sites, the unwound ones by the unwinder's hooks).
for form in clang gcc-exit; do
for opt in -O0 -O2; do
	if [ $form = clang ]; then
		clang++ $opt -g -fpatchable-function-entry=5 -o "$W/exc$opt" "$PROGS/rec_exc.cc"
	else
		g++ $opt -g -pg -mfentry -mrecord-mcount -mnop-mcount -minstrument-return=nop5 \
			-mrecord-return -fno-pie -c -o "$W/exc$opt.o" "$PROGS/rec_exc.cc"
		g++ -no-pie -o "$W/exc$opt" "$W/exc$opt.o"
	fi
	"$W/exc$opt" $n >"$W/plain.out"
	for tracer in function_graph function; do
		note "$form $opt $tracer"
		rec --tracer $tracer -o "$W/x.data" "$W/exc$opt" $n >"$W/out"
		diff -u "$W/plain.out" "$W/out" || fail "$form $opt $tracer: output differs from the untraced run"
		"$FNTRACE" report -i "$W/x.data" >"$W/report"
		expect_counts "$W/out" "$W/report"
	done
	"$FNTRACE" replay -i "$W/x.data" >/dev/null
	rec -o "$W/g.data" "$W/exc$opt" $n >/dev/null
	"$FNTRACE" replay -i "$W/g.data" >"$W/g.txt"
	expect_eq "$(grep -c 'thrower(); /\* unwound \*/' "$W/g.txt")" $((n / 2)) "$opt: unwound thrower"
	expect_eq "$(grep -c '} /\* middle (unwound) \*/' "$W/g.txt")" $((n / 2)) "$opt: unwound middle"
	expect_eq "$(grep -c '} /\* outer \*/' "$W/g.txt")" $n "$form $opt: outer returns normally"
done
done
echo "rec_exceptions: ok"
