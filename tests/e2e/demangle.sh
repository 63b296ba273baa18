#!/usr/bin/env bash
# demangle.sh - C++ names (issue 13 item 4).  tests/progs/demangle.cc (a
# class Lexer at global scope, namespaces, a class template, a function
# template, a lambda) recorded whole and with demangled filters:
# record -F 'Lexer::*' records exactly the Lexer functions, with the
# unfiltered trace's counts, and -N 'Lexer::*' exactly the others; the
# full form ("Lexer::ReadToken(int)") and the mangled one select too.  The
# readers print the simple, full and mangled forms with --demangle, and
# their own -F/-N match what they print; a bad --demangle value is one
# clear line and status 2.  record -p sends a demangled filter to a running
# process's runtime (the path ctl's changes take too).
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"

N=25
# g++ names lambdas as c++filt shows them ({lambda(int)#1}); one file, so
# g++ 12's COMDAT trouble with patch sites does not arise.
g++ -O1 -g -fpatchable-function-entry=5 -o "$W/dm" "$PROGS/demangle.cc"

# calls DATA: "CALLS<TAB>FUNCTION" per line of report --demangle=full, sorted.
calls() {
	"$FNTRACE" report -i "$1" --demangle=full | awk 'NR > 2 && $3 != "" {
		name = $12; for (i = 13; i <= NF; i++) name = name " " $i
		print $5 "\t" name }' | sort -t$'\t' -k2
}

note "unfiltered"
rec -o "$W/all.data" "$W/dm" $N >/dev/null
calls "$W/all.data" >"$W/all.calls"
cat "$W/all.calls"
for f in 'Lexer::ReadToken(int)' 'Lexer::ReadToken(char const*)' 'Lexer::Peek() const' \
	 'lang::parse(Lexer&, int)' 'lang::detail::Box<int>::get(int) const' \
	 'lang::detail::Box<double>::get(double) const' 'int lang::twice<int>(int)' \
	 'double lang::twice<double>(double)' 'main::{lambda(int)#1}::operator()(int) const'; do
	expect_eq "$(awk -F'\t' -v f="$f" '$2 == f { print $1 }' "$W/all.calls")" $N "unfiltered: calls of $f"
done
expect_eq "$(awk -F'\t' '$2 == "Lexer::Lexer(int)" { print $1 }' "$W/all.calls")" 1 "unfiltered: the constructor"

# only DATA WHAT AWK-CONDITION: DATA's calls are exactly the unfiltered
# trace's functions for which the condition on $2 (the full name) holds.
only() {
	calls "$1" >"$W/got"
	awk -F'\t' "$3" "$W/all.calls" >"$W/want"
	[ -s "$W/want" ] || fail "$2: nothing expected (bad test)"
	diff "$W/want" "$W/got" >&2 || fail "$2: not exactly the expected functions and counts"
}

note "record -F 'Lexer::*': a demangled glob"
rec -F 'Lexer::*' -o "$W/f.data" "$W/dm" $N >/dev/null
only "$W/f.data" "-F Lexer::*" '$2 ~ /^Lexer::/'

note "record -N 'Lexer::*'"
rec -N 'Lexer::*' -o "$W/n.data" "$W/dm" $N >/dev/null
only "$W/n.data" "-N Lexer::*" '$2 !~ /^Lexer::/'

note "record -F with the full form, the mangled form, a template and the lambda"
rec -F 'Lexer::ReadToken(int)' -o "$W/f1.data" "$W/dm" $N >/dev/null
only "$W/f1.data" "-F Lexer::ReadToken(int)" '$2 == "Lexer::ReadToken(int)"'
rec -F '_ZN5Lexer9ReadToken*' -o "$W/f2.data" "$W/dm" $N >/dev/null
only "$W/f2.data" "-F _ZN5Lexer9ReadToken*" '$2 ~ /^Lexer::ReadToken\(/'
rec -F 'lang::detail::Box<double>::*' -o "$W/f3.data" "$W/dm" $N >/dev/null
only "$W/f3.data" "-F Box<double>" '$2 ~ /^lang::detail::Box<double>::/'
rec -F 'lang::*,!lang::detail::*' -o "$W/f4.data" "$W/dm" $N >/dev/null
only "$W/f4.data" "-F lang::*,!lang::detail::*" '$2 ~ /lang::/ && $2 !~ /lang::detail::/'
rec -F 'main::{lambda*' -o "$W/f5.data" "$W/dm" $N >/dev/null
only "$W/f5.data" "-F the lambda" '$2 ~ /^main::\{lambda/'

note "record -p: the filter goes to a running process's runtime (the agent, as ctl's)"
"$FNTRACE" run "$W/dm" 2000000000 >/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
sleep 0.3
rec -p $pid -F 'Lexer::*' -d 500ms -o "$W/p.data" >/dev/null
kill $pid
wait $pid 2>/dev/null || true
"$FNTRACE" report -i "$W/p.data" --demangle=full | awk 'NR > 2 { n = $12; for (i = 13; i <= NF; i++) n = n " " $i; print n }' |
	sort >"$W/p.names"
expect_eq "$(tr '\n' '|' <"$W/p.names")" 'Lexer::Peek() const|Lexer::ReadToken(char const*)|Lexer::ReadToken(int)|' \
	"record -p -F 'Lexer::*': the functions"

note "the readers print each form"
R=$W/all.data
"$FNTRACE" report -i "$R" >"$W/rep.simple"
expect_grep ' Lexer::ReadToken$' "$W/rep.simple" "report simple: overloads as one"
expect_eq "$(awk '$NF == "Lexer::ReadToken" { print $5 }' "$W/rep.simple")" $((2 * N)) "report simple: ReadToken's calls"
expect_grep ' lang::detail::Box::get$' "$W/rep.simple" "report simple: no template arguments"
expect_grep ' main::\{lambda#1\}::operator\(\)$' "$W/rep.simple" "report simple: the lambda"
"$FNTRACE" report -i "$R" --demangle=simple | cmp -s - "$W/rep.simple" || fail "--demangle=simple is not the default"
"$FNTRACE" report -i "$R" --demangle=no >"$W/rep.no"
for m in _ZN5Lexer9ReadTokenEi _ZN5Lexer9ReadTokenEPKc _ZNK4lang6detail3BoxIdE3getEd _ZZ4mainENKUliE_clEi; do
	expect_grep " $m\$" "$W/rep.no" "report no: $m"
done
"$FNTRACE" replay -i "$R" --demangle=full >"$W/replay.full"
expect_grep '\| +Lexer::Peek\(\) const;$' "$W/replay.full" "replay full: no second ()"
expect_grep '\| +lang::parse\(Lexer&, int\) \{$' "$W/replay.full" "replay full: an entry"
"$FNTRACE" replay -i "$R" >"$W/replay.simple"
expect_grep '\| +Lexer::Peek\(\);$' "$W/replay.simple" "replay simple"
"$FNTRACE" replay -i "$R" --demangle=no >"$W/replay.no"
expect_grep '\| +_ZNK5Lexer4PeekEv\(\);$' "$W/replay.no" "replay no"
"$FNTRACE" dump --folded -i "$R" --demangle=full >"$W/folded.full"
expect_grep '^main;lang::parse\(Lexer&, int\);Lexer::ReadToken\(int\) [0-9]+$' "$W/folded.full" "folded full"
"$FNTRACE" dump --folded -i "$R" --demangle=no >"$W/folded.no"
expect_grep '^main;_ZN4lang5parseER5Lexeri;_ZNK5Lexer4PeekEv [0-9]+$' "$W/folded.no" "folded no"
"$FNTRACE" dump --chrome -i "$R" >"$W/chrome.json"
expect_grep '"name":"lang::detail::Box::get"' "$W/chrome.json" "chrome simple"
"$FNTRACE" dump --perfetto -i "$R" --demangle=full -o "$W/t.pftrace"
grep -qa 'lang::detail::Box<int>::get(int) const' "$W/t.pftrace" || fail "perfetto full: no full name"
"$FNTRACE" flamegraph -i "$R" --demangle=full -o "$W/t.svg"
grep -q 'lang::detail::Box&lt;int&gt;::get(int) const' "$W/t.svg" || fail "flamegraph full: no full name"
"$FNTRACE" graph -i "$R" --demangle=full >"$W/graph.full"
expect_grep 'Lexer::ReadToken\(char const\*\)' "$W/graph.full" "graph full"

note "the readers' -F and -N match mangled, simple and full forms"
for g in 'Lexer::Peek' 'Lexer::Peek()?const' '_ZNK5Lexer4PeekEv' 'Lexer::P*'; do
	"$FNTRACE" replay -i "$R" -F "$g" --demangle=no >"$W/rf"
	expect_eq "$(grep -c '_ZNK5Lexer4PeekEv();$' "$W/rf")" $N "replay -F '$g'"
	expect_eq "$(grep -vc '^#\|_ZNK5Lexer4PeekEv();$' "$W/rf")" 0 "replay -F '$g': nothing else"
done
"$FNTRACE" dump --folded -i "$R" -N 'lang::*' >"$W/fN"
! grep -q 'lang::' "$W/fN" || fail "dump -N lang::*: a lang:: frame is left"
expect_grep '^main;Lexer::ReadToken [0-9]+$' "$W/fN" "dump -N lang::*: the others stay"
"$FNTRACE" dump --folded -i "$R" -F 'Lexer::ReadToken(char?const\*)' --demangle=full >"$W/fF"
expect_eq "$(sed 's/ [0-9]*$//' "$W/fF" | sort -u)" 'Lexer::ReadToken(char const*)' "dump -F full form with ?"
"$FNTRACE" graph -i "$R" 'lang::parse' >"$W/gF"
expect_grep '\[1\] lang::parse' "$W/gF" "graph FUNC simple"

note "live prints the chosen form"
"$FNTRACE" live --demangle=full "$W/dm" 2 >"$W/live" 2>&1 || fail "live --demangle=full"
expect_grep '\| +Lexer::Peek\(\) const;$' "$W/live" "live full"

note "a bad --demangle value"
for cmd in replay report graph; do
	expect_rc $cmd 2 "$cmd --demangle=bogus" -i "$R" --demangle=bogus
	expect_grep "--demangle takes simple, full or no, not 'bogus'" "$W/err" "$cmd: the message"
done
expect_rc dump 2 "dump --demangle=c++" --folded -i "$R" --demangle=c++
expect_rc flamegraph 2 "flamegraph --demangle=" -i "$R" --demangle=
expect_rc live 2 "live --demangle=x" --demangle=x "$W/dm" 1
expect_rc record 2 "record --demangle" --demangle=full -o "$W/x.data" "$W/dm" 1
echo "demangle: ok"
