#!/usr/bin/env bash
# flamegraph.sh - 'fntrace flamegraph' (issue 13): for the tricky control
# flows the SVG is well-formed XML (Python's parser) whose frames carry
# exactly report's calls of each function, in the normal and the inverted
# view; --weight and --inverted change what they should; frames are
# coloured by object; -F and --tid select; bad input gives one clear line.
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"
CHECK=$ROOT/tests/e2e/flame_check.py

build_rec calls clang -O2
for args in "count 300" "threads 5 40" "longjmp 20" "deepjmp 6" "coro 50" "signal 30" "fork 30" \
	    "deep 1500"; do
	note "$args"
	rec -o "$W/t.data" "$W/calls" $args >/dev/null
	"$FNTRACE" report -i "$W/t.data" >"$W/report"
	"$FNTRACE" flamegraph --min-width 0 -i "$W/t.data" -o "$W/t.svg"
	python3 "$CHECK" calls "$W/t.svg" "$W/report" || fail "$args: calls"
	"$FNTRACE" flamegraph --inverted --min-width 0 -i "$W/t.data" -o "$W/i.svg"
	python3 "$CHECK" roots "$W/i.svg" "$W/report" || fail "$args: inverted roots"
	# The default leaves out frames under 0.1 px: still well formed.
	"$FNTRACE" flamegraph -i "$W/t.data" >"$W/d.svg"
	python3 "$CHECK" frames "$W/d.svg" >/dev/null || fail "$args: default"
done

note "--weight"
rec -o "$W/c.data" "$W/calls" count 100 >/dev/null
"$FNTRACE" report -i "$W/c.data" >"$W/report"
frames() { python3 "$CHECK" frames "$1"; }
"$FNTRACE" flamegraph --min-width 0 --weight calls -i "$W/c.data" -o "$W/calls.svg"
frames "$W/calls.svg" >"$W/calls.frames"
# Widths by calls: mid holds its 100 calls and its leaf's 100, twice the
# leaf called by main.
mid=$(awk '$1 == 1 && $2 == "mid" { print $5 }' "$W/calls.frames")
leaf=$(awk '$1 == 1 && $2 == "leaf" { print $5 }' "$W/calls.frames")
expect_eq "$(awk -v a="$mid" -v b="$leaf" 'BEGIN { printf "%.2f", a / b }')" 2.00 "calls: mid twice leaf"
# Widths by time: main spans the view; self and total draw the same
# frames in the normal view.
"$FNTRACE" flamegraph --min-width 0 --weight self -i "$W/c.data" -o "$W/self.svg"
"$FNTRACE" flamegraph --min-width 0 --weight total -i "$W/c.data" -o "$W/total.svg"
frames "$W/self.svg" >"$W/self.frames"
frames "$W/total.svg" >"$W/total.frames"
expect_eq "$(awk '$2 == "main" { print $4, $5 }' "$W/self.frames")" "10.00 1180.00" "time: main spans the view"
cmp -s "$W/self.frames" "$W/total.frames" || fail "self and total differ in the normal view"
cmp -s "$W/self.frames" "$W/calls.frames" && fail "calls draws what time draws"
# Inverted: a root per function, as wide as its self (or total) time.
for w in self total; do
	"$FNTRACE" flamegraph --inverted --min-width 0 --weight $w -i "$W/c.data" -o "$W/inv.svg"
	frames "$W/inv.svg" >"$W/inv.frames"
	col=$([ $w = self ] && echo 3 || echo 1)
	python3 - "$W/inv.frames" "$W/report" $col <<'PY' || fail "inverted --weight $w: root widths"
import sys
frames = [l.split() for l in open(sys.argv[1])]
roots = {f[1]: float(f[4]) for f in frames if f[0] == "0"}
col = int(sys.argv[3]) - 1
unit = {"us": 1e3, "ms": 1e6, "s": 1e9}
want = {}
for line in open(sys.argv[2]):
    p = line.split()
    if len(p) == 13 and p[1] in unit:
        want[p[12]] = float(p[2 * col]) * unit[p[2 * col + 1]]
total = sum(want.values())
for name, w in want.items():
    if abs(roots[name] - 1180 * w / total) > 1.0:
        sys.exit("%s: width %.2f, want %.2f" % (name, roots[name], 1180 * w / total))
PY
done
cmp -s <(awk '$1 == 0' "$W/inv.frames") <("$FNTRACE" flamegraph --inverted --min-width 0 \
	-i "$W/c.data" | python3 "$CHECK" frames /dev/stdin | awk '$1 == 0') &&
	fail "inverted: self and total draw the same roots"
# Inverted: the callers of leaf are main (directly) and mid (from main).
"$FNTRACE" flamegraph --inverted --min-width 0 --weight calls -i "$W/c.data" -o "$W/inv.svg"
frames "$W/inv.svg" | awk '{ print $1, $2, $3 }' >"$W/inv.frames"
for want in "0 leaf 200" "1 main 100" "1 mid 100" "2 main 100" "0 mid 100"; do
	expect_grep "^$want\$" "$W/inv.frames" "inverted: $want"
done

note "colours by object"
build_flame
rec -o "$W/f.data" "$W/flame" 30 >/dev/null
"$FNTRACE" report -i "$W/f.data" >"$W/report"
"$FNTRACE" flamegraph --min-width 0 -i "$W/f.data" -o "$W/f.svg"
python3 "$CHECK" calls "$W/f.svg" "$W/report" || fail "flame: calls"
expect_grep 'data-p="[^"]*/flame">flame \(program\)<' "$W/f.svg" "legend: the program"
expect_grep 'data-p="[^"]*/libflame.so">libflame.so<' "$W/f.svg" "legend: the library"
frames "$W/f.svg" >"$W/f.frames"
python3 - "$W/f.frames" <<'PY' || fail "colours by object"
import re, sys
objs = {}
for l in open(sys.argv[1]):
    d, name, calls, x, w, fill, obj = l.split()
    if d == "-1":
        continue
    r, g, b = map(int, re.findall(r"\d+", fill))
    lib = name.startswith("lib_")
    objs.setdefault(lib, set()).add(obj)
    # The program is warm (red above 200), the library aqua (red below 120).
    if lib != (r < 120):
        sys.exit("%s: fill %s" % (name, fill))
assert len(objs[True]) == 1 and len(objs[False]) == 1 and objs[True] != objs[False], objs
PY

note "-F, --tid, --title"
"$FNTRACE" flamegraph --min-width 0 -F mid --title 'mid <&> only' -i "$W/c.data" -o "$W/F.svg"
expect_eq "$(frames "$W/F.svg" | awk '{ print $1, $2, $3 }' | tr '\n' ' ')" "-1 all 100 0 mid 100 1 leaf 100 " "-F mid"
expect_grep '>mid &lt;&amp;&gt; only<' "$W/F.svg" "--title escaped"
rec -o "$W/s.data" "$W/calls" threads 3 20 >/dev/null
tid=$("$FNTRACE" dump --chrome -i "$W/s.data" | python3 -c 'import json,sys
print(next(e["tid"] for e in json.load(sys.stdin)["traceEvents"] if e["ph"] == "B" and e["name"] == "main"))')
"$FNTRACE" flamegraph --min-width 0 --tid "$tid" -i "$W/s.data" -o "$W/tid.svg"
frames "$W/tid.svg" >"$W/tid.frames"
expect_grep '^0 main 1 ' "$W/tid.frames" "--tid: main"
! grep -q 'thread_fn' "$W/tid.frames" || fail "--tid: other threads"

note "bad input"
rec -o "$W/big.data" "$W/calls" threads 4 2000 >/dev/null
bad_traces "$W/big.data"
expect_rc flamegraph 0 "truncated" --min-width 0 -i "$W/cut.data"
python3 "$CHECK" frames "$W/out" >/dev/null || fail "truncated: not well formed"
expect_grep 'partial: ' "$W/out" "truncated: marked partial"
expect_rc flamegraph 1 "corrupted" -i "$W/bad.data"
expect_rc flamegraph 1 "junk" -i "$W/junk.data"
expect_rc flamegraph 1 "missing" -i "$W/nosuch.data"
expect_rc flamegraph 1 "unwritable" -i "$W/c.data" -o "$W/nosuch/x.svg"
expect_rc flamegraph 2 "bad weight" --weight max -i "$W/c.data"
expect_rc flamegraph 2 "bad min-width" --min-width -1 -i "$W/c.data"
expect_rc flamegraph 2 "bad range" --time-range 5ms~2ms -i "$W/c.data"
expect_rc flamegraph 2 "extra argument" -i "$W/c.data" extra
echo "flamegraph: ok"
