#!/usr/bin/env bash
# rec_modes.sh - the three ring modes with a small ring and many events:
# lossless loses nothing; drop and overwrite lose events, count them
# exactly (events in the file + lost == events the program made), show
# them in the replay, and keep the oldest (drop) or the newest (overwrite).
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"

build_rec rc clang -O2
n=200000
# function_graph events: main, report, n x (leaf, mid, leaf): 2 each.
total=$((2 * (2 + 3 * n)))

for mode in lossless drop overwrite; do
	note "$mode"
	"$FNTRACE" record --mode $mode --buffer-size 16K -o "$W/$mode.data" "$W/rc" count $n \
		>"$W/out" 2>"$W/err"
	events=$(info_field "$W/$mode.data" events)
	lost=$(info_field "$W/$mode.data" 'lost events')
	note "$mode: events $events lost $lost"
	expect_eq "$((events + lost))" "$total" "$mode: events + lost"
	"$FNTRACE" replay -i "$W/$mode.data" >"$W/$mode.txt"
	case $mode in
	lossless)
		expect_eq "$lost" 0 "lossless: lost"
		"$FNTRACE" report -i "$W/$mode.data" >"$W/report"
		expect_counts "$W/out" "$W/report"
		[ -s "$W/err" ] && fail "lossless: stderr: $(cat "$W/err")" ;;
	drop)
		[ "$lost" -gt 0 ] || fail "drop: nothing lost with a 16K ring"
		expect_grep '/\* LOST [0-9]+ events \*/' "$W/$mode.txt" "drop: lost marker in replay"
		expect_grep 'events lost' "$W/err" "drop: record says events were lost"
		# The oldest are kept: the replay starts with main's entry.
		expect_eq "$(sed -n 2p "$W/$mode.txt" | sed 's/.*| //')" "main() {" "drop: first event" ;;
	overwrite)
		[ "$lost" -gt 0 ] || fail "overwrite: nothing lost with a 16K ring"
		expect_eq "$(sed -n 2p "$W/$mode.txt" | sed 's/.*| //')" "/* LOST $lost events */" \
			"overwrite: lost marker first"
		# The newest are kept: the replay ends with main's exit.
		expect_grep '\} /\* main \*/' "$W/$mode.txt" "overwrite: main's exit kept"
		[ "$events" -lt 2100 ] || fail "overwrite: more events ($events) than a 16K ring holds" ;;
	esac
done

# Threads that come and go in overwrite mode: each thread's ring is kept.
"$FNTRACE" record --mode overwrite --buffer-size 16K -o "$W/ot.data" "$W/rc" threads 20 5000 >/dev/null
expect_eq "$(info_field "$W/ot.data" threads)" 81 "overwrite: every thread kept"
events=$(info_field "$W/ot.data" events)
lost=$(info_field "$W/ot.data" 'lost events')
# main, report, 80 thread_fn, 80 x 5000 leaf: 2 events each.
expect_eq "$((events + lost))" "$((2 * (2 + 80 + 80 * 5000)))" "overwrite threads: events + lost"
# Fewer rings than threads over time, lossless: the rings of exited
# threads are recycled, and a thread waits for one rather than lose.
FNTRACE_RINGS=2 "$FNTRACE" record -o "$W/recycle.data" "$W/rc" threads 25 1000 >"$W/out" 2>"$W/err"
expect_eq "$(info_field "$W/recycle.data" 'lost events')" 0 "recycled rings: lost"
expect_eq "$(info_field "$W/recycle.data" threads)" 101 "recycled rings: threads"
"$FNTRACE" report -i "$W/recycle.data" >"$W/report"
expect_counts "$W/out" "$W/report"

# More threads alive at once than rings: the extra threads wait a while,
# then their events are lost, counted, and said so on stderr (once per
# thread, not per event).
FNTRACE_RINGS=2 "$FNTRACE" record -o "$W/few.data" "$W/rc" together 300000 >/dev/null 2>"$W/err"
lost=$(info_field "$W/few.data" 'lost events')
[ "$lost" -gt 0 ] || fail "2 rings for 5 threads: nothing lost"
expect_grep 'no free ring for thread' "$W/err" "no free ring warning"
events=$(info_field "$W/few.data" events)
expect_eq "$((events + lost))" "$((2 * (2 + 4 + 4 * 300000)))" "few rings: events + lost"
echo "rec_modes: ok"
