#!/usr/bin/env bash
# fntrace --version and fntrace help COMMAND (issue 10, item 3).
. "$(dirname "$0")/lib.sh"
"$FNTRACE" --version >"$W/v"
expect_grep '^fntrace [0-9]+\.[0-9]+.* \(library API [0-9]+, trace file format [0-9]+\)$' "$W/v" "--version"
[ "$(wc -l <"$W/v")" -eq 1 ] || fail "--version: more than one line"
expect_eq "$("$FNTRACE" version)" "$(cat "$W/v")" "fntrace version"
# help COMMAND is COMMAND --help, for every command the usage lists.
"$FNTRACE" help >"$W/usage"
cmds=$(sed -n 's/^  \([a-z]*\) .*/\1/p' "$W/usage")
[ -n "$cmds" ] || fail "no commands in the usage"
for c in $cmds; do
	"$FNTRACE" help "$c" >"$W/h.$c" || fail "help $c: status"
	"$FNTRACE" "$c" --help >"$W/o.$c" || fail "$c --help: status"
	diff "$W/o.$c" "$W/h.$c" >/dev/null || fail "help $c differs from $c --help"
	expect_grep "^usage: fntrace $c" "$W/h.$c" "help $c"
done
rc=0; "$FNTRACE" help nosuch 2>"$W/err" >/dev/null || rc=$?
expect_eq $rc 2 "help nosuch: status"
expect_grep "unknown command 'nosuch'" "$W/err" "help nosuch: message"
note "--version, help for: $(echo $cmds)"
