#!/usr/bin/env bash
# dump_chrome.sh - 'fntrace dump --chrome' (issue 13): for the tricky
# control flows (threads coming and going, longjmp, coroutines, signal
# handlers, pthread_exit, exit from a traced frame, fork, C++ exceptions)
# and both tracers, the output parses with Python's json, begin and end
# nest on every thread, and the slices of each function are exactly
# report's calls on the same trace.  Then the marks (unwound frames, lost
# events) and the selections (--tid, -F, -N, --time-range, -o).
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"
CHECK=$ROOT/tests/e2e/dump_check.py

build_rec calls clang -O2
check() { # DATA WHAT: dump, report, compare
	"$FNTRACE" report -i "$1" >"$W/report"
	"$FNTRACE" dump --chrome -i "$1" >"$W/out.json" 2>"$W/err" || { cat "$W/err"; fail "$2: dump failed"; }
	[ -s "$W/err" ] && { cat "$W/err"; fail "$2: dump wrote to stderr"; }
	python3 "$CHECK" chrome "$W/out.json" "$W/report" || fail "$2: check failed"
}
for tracer in function_graph function; do
	for args in "count 300" "threads 5 40" "longjmp 20" "deepjmp 6" "coro 50" "signal 30" \
		    "pexit 5" "exit 20" "fork 30" "deep 1500"; do
		note "$tracer $args"
		rec --tracer $tracer -o "$W/t.data" "$W/calls" $args >/dev/null
		check "$W/t.data" "$tracer $args"
	done
done

note "C++ exceptions"
n=40
clang++ -O2 -g -fpatchable-function-entry=5 -o "$W/exc" "$PROGS/rec_exc.cc"
rec -o "$W/x.data" "$W/exc" $n >/dev/null
check "$W/x.data" "exceptions"
unwound=$(python3 -c 'import json,sys
ev = json.load(open(sys.argv[1]))["traceEvents"]
print(sum(1 for e in ev if e["ph"] == "E" and e.get("args", {}).get("unwound") and e["name"].startswith("middle")))' "$W/out.json")
expect_eq "$unwound" $((n / 2)) "exceptions: middle ends unwound"

note "longjmp: unwound frames end where they were unwound"
rec -o "$W/j.data" "$W/calls" longjmp 3 >/dev/null
check "$W/j.data" "longjmp 3"
expect_eq "$(grep -c '"ph":"E".*"name":"jump_b","args":{"unwound":true}' "$W/out.json")" 3 "longjmp: jump_b unwound"

note "lost events: instant events where they were lost"
rec --mode overwrite --buffer-size 64K -o "$W/l.data" "$W/calls" count 200000 >/dev/null 2>&1 || true
lost=$(info_field "$W/l.data" 'lost events')
if [ "${lost:-0}" -gt 0 ]; then
	check "$W/l.data" "lost events"
	sum=$(python3 -c 'import json,sys
ev = json.load(open(sys.argv[1]))["traceEvents"]
print(sum(e["args"]["lost"] for e in ev if e["ph"] == "i"))' "$W/out.json")
	[ "$sum" -gt 0 ] || fail "lost events: $lost lost, no instant event"
	note "$lost lost, $sum in instant events"
else
	note "no event lost in overwrite mode here: the marks are not checked"
fi

note "--tid, -F, -N"
rec -o "$W/s.data" "$W/calls" threads 3 20 >/dev/null
main_tid=$(python3 -c 'import json,sys
ev = json.load(open(sys.argv[1]))["traceEvents"]
print(next(e["tid"] for e in ev if e["ph"] == "B" and e["name"] == "main"))' <(
	"$FNTRACE" dump --chrome -i "$W/s.data"))
"$FNTRACE" dump --chrome --tid "$main_tid" -i "$W/s.data" >"$W/tid.json"
python3 "$CHECK" calls "$W/tid.json" >"$W/tid.calls"
expect_eq "$(python3 -c 'import json,sys
ev = json.load(open(sys.argv[1]))["traceEvents"]
print(sorted({e["tid"] for e in ev}))' "$W/tid.json")" "[$main_tid]" "--tid: threads"
expect_grep '^main 1$' "$W/tid.calls" "--tid: main"
! grep -q '^thread_fn' "$W/tid.calls" || fail "--tid: other threads' calls"

rec -o "$W/c.data" "$W/calls" count 50 >/dev/null
"$FNTRACE" dump --chrome -F mid -i "$W/c.data" >"$W/f.json"
python3 "$CHECK" calls "$W/f.json" >"$W/f.calls"
expect_eq "$(cat "$W/f.calls" | tr '\n' ' ')" "leaf 50 mid 50 " "-F mid: mid and what it calls"
"$FNTRACE" dump --chrome -N mid -i "$W/c.data" >"$W/n.json"
python3 "$CHECK" calls "$W/n.json" >"$W/n.calls"
expect_eq "$(grep -c '^mid' "$W/n.calls" || true)" 0 "-N mid: no mid"
expect_grep '^leaf 50$' "$W/n.calls" "-N mid: leaf outside mid stays"
expect_grep '^main 1$' "$W/n.calls" "-N mid: main"

note "--time-range"
"$FNTRACE" dump --chrome -i "$W/c.data" >"$W/all.json"
# Times are read back from the JSON's microseconds with three decimals:
# round(), not int(), to nanoseconds (16483.009 * 1000 is 16483008.99...,
# and a range meant to end 1 ns after a call's begin then ended on it).
read -r t0 t1 < <(python3 -c 'import json,sys
ev = [e for e in json.load(open(sys.argv[1]))["traceEvents"] if e["ph"] == "B" and e["name"] == "mid"]
print(round(float(ev[10]["ts"]) * 1000), round(float(ev[20]["ts"]) * 1000))' "$W/all.json")
"$FNTRACE" dump --chrome --time-range="${t0}ns~${t1}ns" -i "$W/c.data" >"$W/r.json"
python3 "$CHECK" calls "$W/r.json" >"$W/r.calls"
expect_grep '^mid 10$' "$W/r.calls" "--time-range: mid 10 to 19"
python3 -c 'import json,sys
ev = json.load(open(sys.argv[1]))["traceEvents"]
t0, t1 = int(sys.argv[2]) / 1000, int(sys.argv[3]) / 1000
bad = [e for e in ev if e["ph"] in "BX" and not t0 <= float(e["ts"]) < t1]
assert not bad, bad[:3]
bad = [e for e in ev if e["ph"] == "E" and float(e["ts"]) > t1]
assert not bad, bad[:3]' "$W/r.json" "$t0" "$t1" || fail "--time-range: an event outside the range"
# The same range, relative (END as +DURATION) and in seconds.
"$FNTRACE" dump --chrome --time-range="${t0}ns~+$((t1 - t0))ns" -i "$W/c.data" >"$W/r2.json"
cmp "$W/r.json" "$W/r2.json" || fail "--time-range START~+DURATION differs from START~END"
secs=$(printf '%d.%09d~%d.%09d' $((t0 / 1000000000)) $((t0 % 1000000000)) $((t1 / 1000000000)) $((t1 % 1000000000)))
"$FNTRACE" dump --chrome --time-range="$secs" -i "$W/c.data" >"$W/r3.json"
cmp "$W/r.json" "$W/r3.json" || fail "--time-range in seconds ($secs) differs"
# main began before the range: the calls in it are shown without it.
! grep -q '"name":"main"' "$W/r.json" || fail "--time-range: main began before the range"
# An open end: everything from START on; main is still cut nowhere.
"$FNTRACE" dump --chrome --time-range="${t0}ns~" -i "$W/c.data" >"$W/r4.json"
python3 "$CHECK" calls "$W/r4.json" >"$W/r4.calls"
expect_grep '^mid 40$' "$W/r4.calls" "--time-range START~: mid"
# A range ending inside a call: it ends there, marked.
mid_b=$(python3 -c 'import json,sys
ev = [e for e in json.load(open(sys.argv[1]))["traceEvents"] if e["ph"] == "B" and e["name"] == "mid"]
print(round(float(ev[5]["ts"]) * 1000) + 1)' "$W/all.json")
"$FNTRACE" dump --chrome --time-range="~${mid_b}ns" -i "$W/c.data" >"$W/r5.json"
python3 "$CHECK" calls "$W/r5.json" >/dev/null || fail "--time-range cut: nesting"
expect_grep '"name":"mid","args":\{"cut_by_time_range":true\}' "$W/r5.json" "--time-range: the cut call is marked"
expect_grep '"name":"main","args":\{"cut_by_time_range":true\}' "$W/r5.json" "--time-range: main is cut"

note "-o FILE"
"$FNTRACE" dump --chrome -i "$W/c.data" -o "$W/o.json" >"$W/stdout"
[ ! -s "$W/stdout" ] || fail "-o: wrote to stdout"
cmp "$W/o.json" "$W/all.json" || fail "-o: differs from stdout"
echo "dump_chrome: ok"
