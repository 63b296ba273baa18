#!/usr/bin/env bash
# rec_file.sh - how record puts its file in place: mode 0600 (a trace holds
# the program's function names, arguments to guess from, and paths); a new
# file renamed over the path at the end, so a symlink planted at -o is
# replaced, never written through (its target, a root-only file here,
# stays untouched), and a replay of the previous file at the same path
# keeps reading it whole (it died of SIGBUS when the file was truncated
# under its mapping).
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"

build_rec rc clang -O1

note "mode 0600"
umask 022
rec -o "$W/t.data" "$W/rc" count 3 >/dev/null
expect_eq "$(stat -c %a "$W/t.data")" 600 "trace file mode"
ls -a "$W" | grep -q '^\.t\.data\.' && fail "the temporary file was left behind"

note "a symlink at -o"
echo "root only" >"$W/secret"
chmod 600 "$W/secret"
ln -s "$W/secret" "$W/link.data"
rec -o "$W/link.data" "$W/rc" count 3 >/dev/null
[ -L "$W/link.data" ] && fail "the link is still a link: the trace was written through it"
expect_eq "$(cat "$W/secret")" "root only" "the link's target"
"$FNTRACE" info -i "$W/link.data" >"$W/info"
expect_grep "^# events +: [1-9]" "$W/info" "the new file is the trace"

note "a replay reads the file while a new record writes the same path"
rec -o "$W/big.data" "$W/rc" count 30000 >/dev/null
# The replay maps the file, then blocks on a pipe nobody reads for a while;
# meanwhile a new recording finishes at the same path.
( rc=0; "$FNTRACE" replay -i "$W/big.data" || rc=$?; echo $rc >"$W/replay.rc" ) |
	{ sleep 2; cat >/dev/null; } &
reader=$!
sleep 0.5
rec -o "$W/big.data" "$W/rc" count 10 >/dev/null
wait $reader
expect_eq "$(cat "$W/replay.rc")" 0 "replay status while the path was recorded again"
echo "rec_file: ok"
