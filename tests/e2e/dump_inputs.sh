#!/usr/bin/env bash
# dump_inputs.sh - 'fntrace dump' on bad input (issue 13): a trace cut
# short gives a marked partial output that is still whole JSON with well
# nested calls; a corrupted one, a missing one, bad options and an output
# that cannot be written give one clear line and a failure status, never
# a crash.
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"
CHECK=$ROOT/tests/e2e/dump_check.py

build_rec calls clang -O2
rec -o "$W/t.data" "$W/calls" threads 4 2000 >/dev/null
size=$(stat -c %s "$W/t.data")

for frac in 2 3 7; do
	head -c $((size * (frac - 1) / frac)) "$W/t.data" >"$W/cut.data"
	note "cut at $((size * (frac - 1) / frac)) of $size bytes"
	expect_rc dump 0 "truncated (--chrome)" --chrome -i "$W/cut.data"
	expect_grep 'truncated|cut|incomplete' "$W/err" "truncated: warning"
	python3 "$CHECK" calls "$W/out" >/dev/null || fail "truncated: nesting"
	python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
assert d["otherData"]["partial"], d["otherData"]' "$W/out" || fail "truncated: not marked partial"
	expect_rc dump 0 "truncated (--folded)" --folded -i "$W/cut.data"
	[ -s "$W/out" ] || fail "truncated (--folded): no output"
done

# A changed byte in the middle: a record's CRC no longer matches.
cp "$W/t.data" "$W/bad.data"
printf '\xff\xfe\xfd\xfc' | dd of="$W/bad.data" bs=1 seek=$((size / 2)) conv=notrunc status=none
expect_rc dump 1 "corrupted" --chrome -i "$W/bad.data"
[ ! -s "$W/out" ] || fail "corrupted: wrote output"
# Not a trace at all.
head -c 4096 /dev/urandom >"$W/junk.data"
expect_rc dump 1 "junk" --chrome -i "$W/junk.data"
expect_rc dump 1 "missing file" --chrome -i "$W/nosuch.data"
expect_rc dump 1 "unwritable output" --chrome -i "$W/t.data" -o "$W/nosuch/out.json"
expect_grep "cannot write '$W/nosuch/out.json'" "$W/err" "unwritable output"

expect_rc dump 2 "no format" -i "$W/t.data"
expect_rc dump 2 "two formats" --chrome --folded -i "$W/t.data"
for r in "abc~" "5ms~2ms" "1x~2" "1~2~3" "nonsense"; do
	expect_rc dump 2 "range '$r'" --chrome --time-range="$r" -i "$W/t.data"
done
expect_rc dump 2 "bad weight" --folded --weight max -i "$W/t.data"
expect_rc dump 2 "bad filter" --chrome -F 'a[' -i "$W/t.data"
expect_rc dump 2 "bad tid" --chrome --tid x -i "$W/t.data"
expect_rc dump 2 "extra argument" --chrome -i "$W/t.data" extra
echo "dump_inputs: ok"
