#!/usr/bin/env bash
# dump_folded.sh - 'fntrace dump --folded' (issue 13): with --weight calls
# the calls of each function (the last frames, summed over paths) are
# report's calls; with --weight total a root path's value is its total
# time; with the default self weight the values add up to the roots'
# totals (a flame graph's widths), and the paths are the call paths.
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"
CHECK=$ROOT/tests/e2e/dump_check.py

build_rec calls clang -O2
for args in "count 300" "threads 5 40" "longjmp 20" "coro 50" "fork 30"; do
	note "$args"
	rec -o "$W/t.data" "$W/calls" $args >/dev/null
	"$FNTRACE" report -i "$W/t.data" >"$W/report"
	"$FNTRACE" dump --folded --weight calls -i "$W/t.data" >"$W/calls.folded"
	python3 "$CHECK" folded "$W/calls.folded" "$W/report" || fail "$args: calls"
	"$FNTRACE" dump --folded --weight total -i "$W/t.data" >"$W/total.folded"
	"$FNTRACE" dump --folded -i "$W/t.data" >"$W/self.folded"
	roots=$(awk '$1 !~ /;/ { s += $2 } END { print s + 0 }' "$W/total.folded")
	selfsum=$(awk '{ s += $NF } END { print s + 0 }' "$W/self.folded")
	expect_eq "$selfsum" "$roots" "$args: self values add up to the roots' totals"
	[ "$roots" -gt 0 ] || fail "$args: no time"
done

rec -o "$W/c.data" "$W/calls" count 100 >/dev/null
"$FNTRACE" dump --folded --weight calls -i "$W/c.data" >"$W/c.folded"
expect_grep '^main;mid;leaf 100$' "$W/c.folded" "paths: leaf under mid"
expect_grep '^main;leaf 100$' "$W/c.folded" "paths: leaf under main"
expect_grep '^main;mid 100$' "$W/c.folded" "paths: mid"
# main's total time, as report rounds it to the microsecond.
"$FNTRACE" report -i "$W/c.data" >"$W/report"
"$FNTRACE" dump --folded --weight total -i "$W/c.data" >"$W/t.folded"
want=$(awk '$NF == "main" { print $1, $2 }' "$W/report")
got=$(awk '$1 == "main" { v = $2 / 1000; u = "us"; if (v >= 1000) { v /= 1000; u = "ms" } printf "%.3f %s\n", v, u }' "$W/t.folded")
expect_eq "$got" "$want" "total weight of main"
# -F: paths start at the matching function.
"$FNTRACE" dump --folded --weight calls -F mid -i "$W/c.data" >"$W/f.folded"
expect_eq "$(sort "$W/f.folded" | tr '\n' ' ')" "mid 100 mid;leaf 100 " "-F mid"
echo "dump_folded: ok"
