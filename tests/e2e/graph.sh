#!/usr/bin/env bash
# graph.sh - 'fntrace graph [FUNC]' (issue 13): the calls on the paths of
# each function add up to report's calls, for the tricky control flows;
# the tree is drawn as uftrace draws it; FUNC gives the backtraces of its
# outermost calls and the tree below them, merged; -f picks the fields;
# bad input gives one clear line.
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"
CHECK=$ROOT/tests/e2e/flame_check.py

build_rec calls clang -O2
for args in "count 300" "threads 5 40" "longjmp 20" "deepjmp 6" "coro 50" "signal 30" "fork 30" \
	    "deep 1500"; do
	note "$args"
	rec -o "$W/t.data" "$W/calls" $args >/dev/null
	"$FNTRACE" report -i "$W/t.data" >"$W/report"
	"$FNTRACE" graph -i "$W/t.data" >"$W/graph"
	python3 "$CHECK" graph "$W/graph" "$W/report" || fail "$args: calls"
done

note "the tree"
rec -o "$W/c.data" "$W/calls" count 100 >/dev/null
"$FNTRACE" graph -f none -i "$W/c.data" >"$W/graph"
cat >"$W/want" <<'TREE'
(1) calls
(1) main
 +-(100) leaf
 |
 +-(100) mid
 | (100) leaf
 |
 +-(1) report
TREE
diff -u "$W/want" <(sed -n '/FUNCTION CALL GRAPH/,$p' "$W/graph" | tail -n +3) || fail "graph -f none"
# The time of a path is report's total when the function has one path.
"$FNTRACE" report -i "$W/c.data" >"$W/report"
"$FNTRACE" graph -i "$W/c.data" >"$W/graph"
want=$(awk '$NF == "mid" { print $1, $2 }' "$W/report")
expect_grep "^ *$want :  \\+-\\(100\\) mid\$" "$W/graph" "mid's time"
"$FNTRACE" graph -f total,self -i "$W/c.data" >"$W/graph"
want=$(awk '$NF == "mid" { print $1 " " $2 " +" $3 " " $4 }' "$W/report")
expect_grep "^ *$want :  \\+-\\(100\\) mid\$" "$W/graph" "-f total,self"

note "FUNC"
"$FNTRACE" graph mid -i "$W/c.data" >"$W/mid"
expect_grep '^ backtrace #0: hit 100, time ' "$W/mid" "mid: backtrace"
expect_eq "$(grep -c 'backtrace #' "$W/mid")" 1 "mid: one backtrace"
expect_eq "$(grep '^   \[' "$W/mid" | awk '{ print $2 }' | tr '\n' ' ')" "main mid " "mid: the path"
expect_eq "$(sed -n '/FUNCTION CALL GRAPH/,$p' "$W/mid" | tail -n +3 | sed 's/.*: //' | tr '\n' ' ')" \
	"(100) mid (100) leaf " "mid: the tree below"
"$FNTRACE" graph leaf -i "$W/c.data" >"$W/leaf"
expect_eq "$(grep -c 'backtrace #' "$W/leaf")" 2 "leaf: two backtraces"
expect_grep ': \(200\) leaf$' "$W/leaf" "leaf: merged over its paths"
# A glob, as -F takes, and options after FUNC.
"$FNTRACE" graph 'm*' -i "$W/c.data" >"$W/glob"
expect_grep ': \(1\) main$' "$W/glob" "glob: main"
expect_eq "$(grep -c 'backtrace #' "$W/glob")" 1 "glob: main holds mid: one outermost match"
"$FNTRACE" graph nosuch -i "$W/c.data" >"$W/none"
expect_grep 'no call of a matching function' "$W/none" "no match"
# Recursion: the outermost call's tree holds the inner ones.
rec -o "$W/d.data" "$W/calls" deep 50 >/dev/null
"$FNTRACE" graph -f none recurse -i "$W/d.data" >"$W/deep"
expect_eq "$(grep -c 'backtrace #' "$W/deep")" 1 "recursion: one outermost backtrace"
expect_eq "$(grep -c '^(1) recurse$' "$W/deep")" "$(calls_of <("$FNTRACE" report -i "$W/d.data") recurse)" \
	"recursion: every level once, below the outermost"

note "bad input"
rec -o "$W/big.data" "$W/calls" threads 4 2000 >/dev/null
bad_traces "$W/big.data"
expect_rc graph 0 "truncated" -i "$W/cut.data"
expect_grep '^# partial: ' "$W/out" "truncated: marked partial"
expect_rc graph 1 "corrupted" -i "$W/bad.data"
expect_rc graph 1 "junk" -i "$W/junk.data"
expect_rc graph 1 "missing" -i "$W/nosuch.data"
expect_rc graph 2 "bad fields" -f max -i "$W/c.data"
expect_rc graph 2 "bad FUNC glob" 'a[' -i "$W/c.data"
expect_rc graph 2 "two FUNCs" mid leaf -i "$W/c.data"
echo "graph: ok"
