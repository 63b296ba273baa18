#!/usr/bin/env bash
# Corruption (issue 3): bytes changed behind our back are reported with
# site, object, expected and actual bytes and phase; patching stops for
# good; the program finishes correctly.
. "$(dirname "$0")/lib.sh"
for cc in clang gcc; do
	if [ $cc = clang ]; then fl="-O2 -fpatchable-function-entry=5"; else fl="-O2 -fno-pie -no-pie -pg -mfentry -mrecord-mcount -mnop-mcount"; fi
	cbuild "$W/corrupt-$cc" $cc $fl -- "$PROGS/corrupt.c"
	for mode in before enabled; do
		note "$cc, corrupted $mode"
		traced "$W/corrupt-$cc" $mode >"$W/out" 2>"$W/err"
		cat "$W/out" "$W/err"
		expect_grep '^OK$' "$W/out" "$cc $mode"
		expect_grep '^fntrace: site bug: .* at victim \(0x[0-9a-f]+\) in .*corrupt-'$cc': expected \[.*\], found \[.*\], during' "$W/err" "report line"
		expect_grep '^fntrace: patching is disabled for good' "$W/err" "kill switch line"
		[ "$(grep -c 'site bug' "$W/err")" = 1 ] || fail "the report must be printed once"
	done
done
note "a traced object's text unmapped behind our back"
echo 'int plugin_fn(int x) { return x + 1; }' >"$W/plugin.c"
clang -O2 -fPIC -shared -fpatchable-function-entry=5 -o "$W/plugin.so" "$W/plugin.c"
traced "$W/corrupt-clang" unmapped "$W/plugin.so" >"$W/out" 2>"$W/err"
cat "$W/out" "$W/err"
expect_grep '^OK$' "$W/out" "unmapped"
expect_grep '^fntrace: site bug: the text of .*plugin.so is not mapped any more' "$W/err" "unmapped report"
