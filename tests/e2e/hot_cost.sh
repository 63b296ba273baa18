#!/usr/bin/env bash
# hot_cost.sh - what a traced call costs the traced thread, in instructions
# (callgrind: stable on a busy machine, unlike a timing), against bounds
# just above today's figures, so that a change that puts the recorder back
# on the general path (its ops walk and indirect calls) or adds work to
# every call fails here rather than in a benchmark nobody ran.
#
#   function_graph: 442 on the general path, 336 on the direct path
#   function:       246 on the general path, 186 on the direct path
#
# Also: the direct path and the trampolines make no atomic
# read-modify-write (a lock prefix, or xchg with memory, which locks):
# the ring's reservation is an unlocked cmpxchg, atomic against a signal
# handler of the same thread only, which is all it needs.
#
# The callgrind part needs the plain build (valgrind and ASan do not mix).
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"

LIB=$BUILD/libfntrace.so
objdump -d --no-show-raw-insn "$LIB" >"$W/lib.dis"
for f in fnt__direct_entry fnt__direct_exit fnt__tramp_entry fnt__tramp_return; do
	body=$(awk -v f="<$f>:" '$2 == f { on = 1; next } on && /^$/ { exit } on' "$W/lib.dis")
	[ -n "$body" ] || fail "$f not found in $LIB"
	# cmpxchg without lock is the ring's reservation; xchg with a
	# memory operand locks implicitly.
	! grep -qE '\block\b|\bxchg\b.*\(' <<<"$body" ||
		{ grep -E '\block\b|\bxchg\b' <<<"$body"; fail "$f: an atomic read-modify-write"; }
done
note "no atomic read-modify-write in the direct path and the trampolines"

if [ -n "${SAN:-}" ]; then
	note "SAN build: callgrind skipped (valgrind cannot run ASan's runtime)"
	exit 0
fi
clang -O2 -g -fpatchable-function-entry=5 -o "$W/callbench" "$ROOT/bench/callbench.c" -lpthread

# cost TRACER MODE: instructions per call of the thread that runs the loop.
cost() {
	local n a b f
	for n in 2000 12000; do
		rm -f "$W"/cg.out.*
		valgrind --tool=callgrind --trace-children=yes --toggle-collect=run \
			--callgrind-out-file="$W/cg.out.%p" "$FNTRACE" record --tracer "$1" --mode "$2" \
			-o "$W/t.data" "$W/callbench" $n >/dev/null 2>"$W/vg.err" ||
			{ tail -20 "$W/vg.err"; fail "callgrind run of $1 $2 failed"; }
		for f in "$W"/cg.out.*; do
			grep -q "^cmd: *$W/callbench" "$f" && grep '^summary:' "$f" | awk '{print $2}'
		done | head -1 >"$W/cg.$n"
		[ -s "$W/cg.$n" ] || fail "no callgrind output for the traced program"
	done
	a=$(cat "$W/cg.2000"); b=$(cat "$W/cg.12000")
	echo $(((b - a) / 70000))
}

for tm in "function_graph lossless 360" "function_graph overwrite 360" "function lossless 210"; do
	set -- $tm
	got=$(cost "$1" "$2")
	note "$1 $2: $got instructions per call (bound $3)"
	[ "$got" -gt 50 ] || fail "$1 $2: $got instructions per call: the calls were not traced"
	[ "$got" -le "$3" ] || fail "$1 $2: $got instructions per call, more than $3"
done
