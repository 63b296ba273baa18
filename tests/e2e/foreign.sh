#!/usr/bin/env bash
# Foreign traps and masks (issue 3, seeds 002-004).
. "$(dirname "$0")/lib.sh"
cbuild "$W/foreign" clang -O2 -fpatchable-function-entry=5 -- "$PROGS/foreign.c"
for mode in handler signal masks rawmask; do
	note "$mode"
	traced "$W/foreign" $mode >"$W/out-$mode" 2>"$W/err-$mode" || { cat "$W/out-$mode" "$W/err-$mode"; fail "$mode"; }
	cat "$W/out-$mode" "$W/err-$mode"
	expect_grep '^OK$' "$W/out-$mode" "$mode"
done
expect_grep 'blocks SIGTRAP' "$W/err-rawmask" "rawmask message"
expect_grep 'refused from now on' "$W/err-rawmask" "rawmask: refused for good"
note "default action: an int3 with no handler kills with SIGTRAP, as untraced"
set +e
"$W/foreign" default >/dev/null 2>&1; plain=$?
traced "$W/foreign" default >"$W/out-default" 2>&1; ours=$?
set -e
expect_eq "$ours" "$plain" "exit status of an unhandled int3"
expect_eq "$ours" "133" "killed by SIGTRAP (128+5)"
