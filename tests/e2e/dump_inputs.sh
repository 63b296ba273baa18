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

# dump_rc EXPECTED WHAT ARGS...: runs dump, checks the status, and that
# stderr is one line (no crash: a signal would give 128+).
dump_rc() {
	local want=$1 what=$2 rc=0; shift 2
	"$FNTRACE" dump "$@" >"$W/out" 2>"$W/err" || rc=$?
	expect_eq "$rc" "$want" "$what: status ($(cat "$W/err"))"
	expect_eq "$(wc -l <"$W/err")" 1 "$what: stderr lines"
	expect_grep '^fntrace: ' "$W/err" "$what: message"
}

for frac in 2 3 7; do
	head -c $((size * (frac - 1) / frac)) "$W/t.data" >"$W/cut.data"
	note "cut at $((size * (frac - 1) / frac)) of $size bytes"
	dump_rc 0 "truncated (--chrome)" --chrome -i "$W/cut.data"
	expect_grep 'truncated|cut|incomplete' "$W/err" "truncated: warning"
	python3 "$CHECK" calls "$W/out" >/dev/null || fail "truncated: nesting"
	python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
assert d["otherData"]["partial"], d["otherData"]' "$W/out" || fail "truncated: not marked partial"
	dump_rc 0 "truncated (--folded)" --folded -i "$W/cut.data"
	[ -s "$W/out" ] || fail "truncated (--folded): no output"
done

# A changed byte in the middle: a record's CRC no longer matches.
cp "$W/t.data" "$W/bad.data"
printf '\xff\xfe\xfd\xfc' | dd of="$W/bad.data" bs=1 seek=$((size / 2)) conv=notrunc status=none
dump_rc 1 "corrupted" --chrome -i "$W/bad.data"
[ ! -s "$W/out" ] || fail "corrupted: wrote output"
# Not a trace at all.
head -c 4096 /dev/urandom >"$W/junk.data"
dump_rc 1 "junk" --chrome -i "$W/junk.data"
dump_rc 1 "missing file" --chrome -i "$W/nosuch.data"
dump_rc 1 "unwritable output" --chrome -i "$W/t.data" -o "$W/nosuch/out.json"
expect_grep "cannot write '$W/nosuch/out.json'" "$W/err" "unwritable output"

dump_rc 2 "no format" -i "$W/t.data"
dump_rc 2 "two formats" --chrome --folded -i "$W/t.data"
for r in "abc~" "5ms~2ms" "1x~2" "1~2~3" "nonsense"; do
	dump_rc 2 "range '$r'" --chrome --time-range="$r" -i "$W/t.data"
done
dump_rc 2 "bad weight" --folded --weight max -i "$W/t.data"
dump_rc 2 "bad filter" --chrome -F 'a[' -i "$W/t.data"
dump_rc 2 "bad tid" --chrome --tid x -i "$W/t.data"
dump_rc 2 "extra argument" --chrome -i "$W/t.data" extra
echo "dump_inputs: ok"
