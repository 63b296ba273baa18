#!/usr/bin/env bash
# rec_inputs.sh - inputs that must not make a reading command run forever
# or print without bound: a FIFO given as the trace file is refused at once
# (it used to block in open() waiting for a writer); a trace 20000 calls
# deep replays in output linear in its size (indentation is capped, the
# depth is printed beyond it); a trace without any call reports an empty
# table (under SAN, UBSan once caught qsort(NULL, 0) there).
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"

mkfifo "$W/fifo"
for cmd in replay report info; do
	rc=0
	timeout 10 "$FNTRACE" $cmd -i "$W/fifo" >"$W/out" 2>"$W/err" || rc=$?
	[ $rc -ne 124 ] || fail "$cmd -i FIFO: still waiting after 10 s"
	[ $rc -ne 0 ] || fail "$cmd -i FIFO: exit status 0"
	expect_eq "$(wc -l <"$W/err")" 1 "$cmd -i FIFO: stderr lines ($(cat "$W/err"))"
	expect_grep "^fntrace: '$W/fifo' is not a trace file \(not a regular file\)" "$W/err" "$cmd -i FIFO"
done

build_rec calls clang -O0
depth=20000
rec -o "$W/deep.data" "$W/calls" deep $depth >/dev/null
"$FNTRACE" replay -i "$W/deep.data" >"$W/replay" 2>"$W/replay.err"
lines=$(wc -l <"$W/replay")
bytes=$(wc -c <"$W/replay")
longest=$(awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' "$W/replay")
note "replay of a $depth-deep recursion: $lines lines, $bytes bytes, longest line $longest"
# The runtime times at most 1000 nested levels; deeper calls are one line each.
[ "$lines" -ge "$depth" ] || fail "replay: only $lines lines for $depth nested calls"
[ "$longest" -le 300 ] || fail "replay: a line of $longest bytes (indentation not bounded)"
grep -q "\[depth 65\] recurse() {" "$W/replay" || fail "replay: the depth beyond the indentation limit is not shown"

# A program without traced calls: an empty trace, an empty table.
rec -o "$W/none.data" /bin/true 2>/dev/null
"$FNTRACE" report -i "$W/none.data" >"$W/report" 2>"$W/report.err" ||
	{ cat "$W/report.err" >&2; fail "report on a trace without calls failed"; }
! grep -q "runtime error" "$W/report.err" || { cat "$W/report.err" >&2; fail "report: UBSan"; }
echo "rec_inputs: ok"
