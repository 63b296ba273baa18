#!/usr/bin/env bash
# replay_color.sh - replay colours long durations as uftrace does (issue 10,
# item 3): --color=always|never|auto, auto meaning "when stdout is a
# terminal"; 1 ms or more red, 100 us or more yellow, shorter plain.
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"

build_rec rc clang -O2
rec -o "$W/c.data" "$W/rc" slow 50 >/dev/null
red=$'\033[31m' yellow=$'\033[33m' esc=$'\033'
"$FNTRACE" replay -i "$W/c.data" --color=always >"$W/always"
grep -F "$red" "$W/always" | grep -q 'sleeper' || fail "always: the 20 ms call is not red"
grep -F "$esc" "$W/always" | grep -q 'leaf();' && fail "always: a short call is coloured"
# Every coloured duration is reset before the thread column.
bad=$(grep -F "$esc[3" "$W/always" | grep -vc $'\033\\[0m \\[' || true)
expect_eq "$bad" 0 "always: colours are reset"
"$FNTRACE" replay -i "$W/c.data" --color=never >"$W/never"
grep -qF "$esc" "$W/never" && fail "never: escape sequences"
"$FNTRACE" replay -i "$W/c.data" >"$W/piped"
grep -qF "$esc" "$W/piped" && fail "auto into a pipe: escape sequences"
expect_eq "$(sed 's/\x1b\[[0-9]*m//g' "$W/always" | md5sum)" "$(md5sum <"$W/never")" "always = never once uncoloured"
# auto on a terminal (script(1) gives the command a pty).
script -qc "'$FNTRACE' replay -i '$W/c.data'" /dev/null >"$W/tty"
grep -qF "$red" "$W/tty" || fail "auto on a terminal: no colour"
rc=0; "$FNTRACE" replay -i "$W/c.data" --color=sometimes 2>"$W/err" >/dev/null || rc=$?
expect_eq $rc 2 "--color=sometimes: status"
expect_grep "auto, always or never" "$W/err" "--color=sometimes: message"
note "colours: ok ($(grep -cF "$yellow" "$W/always") yellow, $(grep -cF "$red" "$W/always") red)"
