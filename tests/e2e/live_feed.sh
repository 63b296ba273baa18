#!/usr/bin/env bash
# live_feed.sh - the streaming printer of 'fntrace live -p' (src/cli/livefeed.c)
# prints what 'fntrace replay' prints.  Until the command feeds it, its unit
# driver does (tests/unit/test_livefeed.c --feed): it walks the records of a
# trace file that 'fntrace record' wrote, in file order, into the printer's
# tap, flushing every few records.  For each tracer (function_graph,
# function, --time-threshold) and for three threads, the lines must be
# replay's: the same functions, nesting, closing comments and number of
# lines (compared per thread: live lines interleave in arrival order), the
# durations within calibration error (live has only the first CLOCK).  An
# entry flushed before its exit came prints as 'f() {' and '} /* f */':
# the only difference allowed, where the driver flushes often.  Then the
# same records damaged at random must never crash the printer (an ASan
# build under make SAN=1).
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"

DRV=$BUILD/tests/unit/test_livefeed
[ -x "$DRV" ] || fail "$DRV is not built (make $O/tests/unit/test_livefeed)"

cat >"$W/prog.c" <<'EOF'
#include <pthread.h>
#include <setjmp.h>
#include <stdlib.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
static volatile long sink;
static jmp_buf jb;

NOINLINE void leaf(void) { sink++; }
NOINLINE void mid(void) { leaf(); sink++; }
NOINLINE void work(int i) { leaf(); if (i & 1) mid(); sink++; }
NOINLINE void recurse(int n) { if (n > 0) recurse(n - 1); sink++; }
NOINLINE void jumper(void) { longjmp(jb, 1); }
NOINLINE void jump_mid(void) { jumper(); sink++; }
NOINLINE void slow(void) { usleep(3000); sink++; }
NOINLINE void *thread_fn(void *arg)
{
	for (int i = 0; i < 40; i++)
		work(i);
	slow();
	return arg;
}

int main(int argc, char **argv)
{
	int nthreads = argc > 1 ? atoi(argv[1]) : 0, rounds = argc > 2 ? atoi(argv[2]) : 20;
	pthread_t t[8];

	for (int i = 0; i < rounds; i++)
		work(i);
	recurse(80);
	if (!setjmp(jb))
		jump_mid();
	slow();
	for (int i = 0; i < nthreads && i < 8; i++)
		pthread_create(&t[i], NULL, thread_fn, NULL);
	for (int i = 0; i < nthreads && i < 8; i++)
		pthread_join(t[i], NULL);
	return 0;
}
EOF
clang -O1 -g -fpatchable-function-entry=5 -o "$W/prog" "$W/prog.c" -lpthread

# graph_norm [TID]: function_graph lines of TID (all without), the duration
# column reduced to D (a duration) or - (none).
graph_norm() {
	awk -v tid="${1:-}" '
		NR == 1 { print; next }
		tid != "" && index($0, sprintf("[%6d] |", tid)) == 0 { next }
		{ d = substr($0, 1, 10); print (d ~ /^ *$/ ? "-" : "D") substr($0, 11) }'
}

# merge_split: "f() {" directly followed by its "} /* f */" (an entry a
# flush printed before its exit came) as the one line "f();".
merge_split() {
	awk '
		function parts(s,   k) { k = index(s, "] | "); P = substr(s, 2, k + 2); B = substr(s, k + 4) }
		function emit() { if (held != "") print held; held = "" }
		{
			if (held != "") {
				parts(held); hp = P; hb = B
				parts($0)
				if (P == hp) {
					in_ = substr(hb, 1, length(hb) - 4)
					match(in_, /^ *(\[depth [0-9]+\] )?/)
					ind = substr(in_, 1, RLENGTH); name = substr(in_, RLENGTH + 1)
					if (B == ind "} /* " name " */") {
						print substr($0, 1, 1) P ind name "();"; held = ""; next
					}
					if (B == ind "} /* " name " (unwound) */") {
						print substr($0, 1, 1) P ind name "(); /* unwound */"; held = ""; next
					}
				}
				emit()
			}
			if (NR > 1 && $0 ~ /\(\) \{$/) { held = $0; next }
			print
		}
		END { emit() }'
}

# durations_close A B: the duration columns of A and B, line by line, agree
# within 1% + 20 ns (live converts ticks with the first CLOCK, replay with
# the last).
durations_close() {
	paste -d '\t' <(cut -c1-10 "$1") <(cut -c1-10 "$2") | awk -F '\t' '
		function ns(s,   v, u) {
			v = s + 0; u = substr(s, 9, 2)
			return u == "us" ? v * 1e3 : u == "ms" ? v * 1e6 : u == " s" ? v * 1e9 : -1
		}
		NR == 1 || ($1 ~ /^ *$/ && $2 ~ /^ *$/) { next }
		{
			a = ns($1); b = ns($2); m = a > b ? a : b; d = a > b ? a - b : b - a
			if (a < 0 || b < 0 || d > m / 100 + 20) { print "line " NR ": " $1 " vs " $2; bad++ }
			n++
		}
		END { if (bad) exit 1; print n " durations agree" }'
}

# same WHAT EXPECTED ACTUAL
same() { diff -u "$2" "$3" >"$W/diff" || { head -40 "$W/diff" >&2; fail "$1: live differs from replay"; }; }

note "function_graph, one thread"
"$FNTRACE" record -o "$W/g.data" "$W/prog" >/dev/null 2>"$W/rec.err" ||
	{ cat "$W/rec.err" >&2; fail "record failed"; }
"$FNTRACE" replay -i "$W/g.data" >"$W/g.replay"
# The program did what the comparison relies on.
expect_eq "$(grep -c 'leaf();$' "$W/g.replay")" 30 "replay: leaf calls"
expect_eq "$(grep -c 'recurse() {$' "$W/g.replay")" 80 "replay: recurse levels opened"
expect_grep '\[depth 65\] recurse\(\) \{' "$W/g.replay" "replay: indentation capped"
expect_grep 'jump_mid \(unwound\)' "$W/g.replay" "replay: unwound frame"
expect_grep 'slow\(\);' "$W/g.replay" "replay: slow"
"$DRV" --feed "$W/g.data" >"$W/g.live" 2>"$W/feed.err" || { cat "$W/feed.err" >&2; fail "driver failed"; }
same "graph, flushed at the end" <(graph_norm <"$W/g.replay") <(graph_norm <"$W/g.live")
expect_eq "$(wc -l <"$W/g.live")" "$(wc -l <"$W/g.replay")" "graph: lines"
durations_close "$W/g.replay" "$W/g.live" || fail "graph: durations differ"
# Many chunks (a small ring fills and is drained again and again), a flush
# after each record: entries whose exit is in the next chunk print open.
"$FNTRACE" record --buffer-size 16K -o "$W/s.data" "$W/prog" 0 3000 >/dev/null 2>&1 || fail "record (small ring) failed"
"$FNTRACE" replay -i "$W/s.data" >"$W/s.replay"
"$DRV" --feed "$W/s.data" --every 1 --split >"$W/s.live" 2>"$W/feed.err" || fail "driver --every 1 failed"
chunks=$(sed -n 's/.* records, \([0-9]*\) chunks.*/\1/p' "$W/feed.err")
[ "$chunks" -ge 4 ] || fail "small ring: only $chunks chunks"
same "graph, flushed after every record" <(graph_norm <"$W/s.replay" | merge_split) \
	<(graph_norm <"$W/s.live" | merge_split)
note "small ring: $chunks chunks, $(($(wc -l <"$W/s.live") - $(wc -l <"$W/s.replay"))) calls split by a flush"

note "overwrite mode: lost events, a resynchronized chunk"
"$FNTRACE" record --mode overwrite --buffer-size 16K -o "$W/o.data" "$W/prog" 0 3000 >/dev/null 2>&1 ||
	fail "record --mode overwrite failed"
"$FNTRACE" replay -i "$W/o.data" >"$W/o.replay"
expect_grep '/\* LOST [0-9]+ events \*/' "$W/o.replay" "overwrite: replay shows the loss"
"$DRV" --feed "$W/o.data" --every 1 --split >"$W/o.live" 2>/dev/null || fail "driver (overwrite) failed"
same "overwrite" <(graph_norm <"$W/o.replay" | merge_split) <(graph_norm <"$W/o.live" | merge_split)

note "colours"
"$DRV" --feed "$W/g.data" --color >"$W/gc.live" 2>/dev/null || fail "driver --color failed"
grep -qF $'\033[31m' "$W/gc.live" || fail "colour: the 3 ms call is not red"
expect_eq "$(sed 's/\x1b\[[0-9]*m//g' "$W/gc.live" | md5sum)" "$(md5sum <"$W/g.live")" "colour: uncoloured lines"

note "function tracer"
"$FNTRACE" record --tracer function -o "$W/f.data" "$W/prog" >/dev/null 2>&1 || fail "record --tracer function failed"
"$FNTRACE" replay -i "$W/f.data" >"$W/f.replay"
expect_grep '\| leaf <- mid$' "$W/f.replay" "replay: callers named"
"$DRV" --feed "$W/f.data" --every 2 --split >"$W/f.live" 2>/dev/null || fail "driver (function) failed"
# Timestamps differ by the calibration: compared apart, loosely.
strip_ts() { sed -E '2,$s/^ *[0-9]+\.[0-9]{9} //'; }
same "function" <(strip_ts <"$W/f.replay") <(strip_ts <"$W/f.live")
paste -d ' ' <(sed 1d "$W/f.replay" | awk '{ print $1 }') <(sed 1d "$W/f.live" | awk '{ print $1 }') |
	awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > $1 / 100 + 1e-6) { print; bad++ } } END { exit bad > 0 }' ||
	fail "function: timestamps differ"

note "--time-threshold"
"$FNTRACE" record -t 1ms -o "$W/t.data" "$W/prog" >/dev/null 2>&1 || fail "record -t failed"
"$FNTRACE" replay -i "$W/t.data" >"$W/t.replay"
expect_grep '\| +slow\(\);' "$W/t.replay" "replay -t: slow"
"$DRV" --feed "$W/t.data" --every 1 >"$W/t.live" 2>/dev/null || fail "driver (threshold) failed"
same "threshold" <(graph_norm <"$W/t.replay") <(graph_norm <"$W/t.live")
durations_close "$W/t.replay" "$W/t.live" || fail "threshold: durations differ"

note "three threads, per thread"
"$FNTRACE" record -o "$W/m.data" "$W/prog" 3 >/dev/null 2>&1 || fail "record (threads) failed"
"$FNTRACE" replay -i "$W/m.data" >"$W/m.replay"
"$DRV" --feed "$W/m.data" --every 5 --split >"$W/m.live" 2>/dev/null || fail "driver (threads) failed"
tids=$(sed 1d "$W/m.replay" | sed -E 's/^.{10} \[ *([0-9]+)\].*/\1/' | sort -u)
expect_eq "$(echo "$tids" | wc -l)" 4 "threads: TIDs in replay"
for t in $tids; do
	same "thread $t" <(graph_norm "$t" <"$W/m.replay" | merge_split) \
		<(graph_norm "$t" <"$W/m.live" | merge_split)
done

note "damaged records"
rounds=2000
[ -n "${SAN:-}" ] && rounds=500
for f in g s o f t m; do
	seed=$RANDOM
	"$DRV" --mutate "$W/$f.data" "$seed" $rounds >"$W/mut.out" 2>&1 ||
		{ tail -30 "$W/mut.out" >&2; fail "damaged records of $f.data (seed $seed): the printer crashed"; }
done
note "live feed: ok ($(wc -l <"$W/g.live") lines, $(grep -c . "$W/m.live") with threads)"
