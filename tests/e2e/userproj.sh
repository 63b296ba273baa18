#!/usr/bin/env bash
# userproj (issue 10): "fntrace cflags" as a build system uses it.  The
# project in tests/e2e/userproj/ is configured only through CC/CXX, CFLAGS
# and LDFLAGS:
#   make CC=gcc CFLAGS="-O2 $(fntrace cflags --cc gcc)" LDFLAGS="$(fntrace cflags --cc gcc --ldflags)"
# for gcc and clang, PIE (the default) and non-PIE (-fno-pie in CFLAGS,
# -no-pie in the project's EXE_LDFLAGS),
# with a shared library (libwork.so) and a helper linked with CFLAGS only;
# then clang++ and g++ for C++ with templates in two files.  Every build
# prints nothing on stderr (no warning), every program is recorded by
# fntrace record with exact call counts, and no gmon.out is written.
. "$(dirname "$0")/rec_common.bash"
SRC=$ROOT/tests/e2e/userproj
# The test may run under a make with a jobserver: the project's make is
# the user's own.
unset MAKEFLAGS MFLAGS MAKELEVEL

# umake DIR ARGS...: a fresh copy of the project in DIR, built with ARGS;
# the compiler's stderr must be empty.
umake() {
	local d=$1; shift
	rm -rf "$d"; cp -r "$SRC" "$d"
	make -C "$d" --no-print-directory "$@" >"$d/build.out" 2>"$d/build.err" ||
		{ cat "$d/build.out" "$d/build.err"; fail "build in $d ($*) failed"; }
	[ ! -s "$d/build.err" ] || { cat "$d/build.err"; fail "build in $d ($*) printed on stderr"; }
}

# counts NAME PROG EXPECT...: records PROG (run in its directory), checks
# "FUNC=N" for each EXPECT, and that no gmon.out appeared.
counts() {
	local name=$1 prog=$2; shift 2
	local d; d=$(dirname "$prog")
	(cd "$d" && "$FNTRACE" record -o "$W/$name.data" "$prog" >"$W/$name.out" 2>"$W/$name.err") ||
		{ cat "$W/$name.err"; fail "$name: record"; }
	! grep -q 'fntrace:' "$W/$name.err" || { cat "$W/$name.err"; fail "$name: the runtime complained"; }
	"$FNTRACE" report -i "$W/$name.data" >"$W/$name.rep"
	for e in "$@"; do
		expect_eq "$(calls_of "$W/$name.rep" "${e%=*}")" "${e#*=}" "$name: calls of ${e%=*}"
	done
	# gprof's runtime is not linked in: nothing writes gmon.out.
	[ ! -e "$d/gmon.out" ] || fail "$name: gmon.out written"
	! nm -D "$prog" 2>/dev/null | grep -qE ' (__monstartup|_mcleanup|mcount)$' ||
		fail "$name: gprof's runtime is linked in"
}

for cc in gcc clang; do
	cf=$("$FNTRACE" cflags --cc $cc 2>"$W/cflags.err")
	lf=$("$FNTRACE" cflags --cc $cc --ldflags 2>>"$W/cflags.err")
	[ ! -s "$W/cflags.err" ] || { cat "$W/cflags.err"; fail "fntrace cflags --cc $cc warned"; }
	for v in pie nopie; do
		pf=; pl=
		[ $v = nopie ] && pf=-fno-pie pl=-no-pie
		d=$W/$cc-$v
		umake "$d" CC=$cc CFLAGS="-O2 $pf $cf" LDFLAGS="$lf" EXE_LDFLAGS="$pl"
		# The variant is the one named.
		# The variant is the one named (DYN: PIE; EXEC: non-PIE).
		t=DYN; [ $v = nopie ] && t=EXEC
		readelf -h "$d/main" | grep -q "Type: *$t" || fail "$d/main is not of type $t"
		readelf -h "$d/libwork.so" | grep -q "Type: *DYN" || fail "libwork.so is not shared"
		counts $cc-$v-main "$d/main" main=1 main_step=100 work_twice=100 work_add=100
		counts $cc-$v-helper "$d/helper" main=1 helper_line=7
		note "$cc $v: main, libwork.so and helper traced exactly"
	done
done

# The default, with no --cc: the same flags fit both compilers.
expect_eq "$("$FNTRACE" cflags)" "$("$FNTRACE" cflags --cc gcc)" "default flags = gcc's"
expect_eq "$("$FNTRACE" cflags)" "$("$FNTRACE" cflags --cc clang)" "default flags = clang's"

# C++ with templates and inline functions in two files.
cf=$("$FNTRACE" cflags --cc clang++ 2>"$W/cflags.err")
[ ! -s "$W/cflags.err" ] || fail "fntrace cflags --cc clang++ warned"
for v in pie nopie; do
	pf=; pl=
	[ $v = nopie ] && pf=-fno-pie pl=-no-pie
	d=$W/clang++-$v
	umake "$d" cxx CXX=clang++ CXXFLAGS="-O2 $pf $cf" LDFLAGS="$("$FNTRACE" cflags --ldflags)" EXE_LDFLAGS="$pl"
	counts clang++-$v "$d/tmpl" main=1 tmpl_twice=8 tmpl_inline=8 tmpl_other=1
	note "clang++ $v: templates traced exactly"
done

# g++ 12: fntrace cflags says plainly that templates fail, and names
# clang++.  The statement is checked: with the repro of the issue (two
# files using std::vector<std::string>, -O1) the link fails; with this
# project it links, but the patch-site table of tmpl2.o is discarded with
# the COMDAT group it names, so tmpl_other is never traced.  The test fails
# when g++ stops failing, so that the warning is dropped.
cf=$("$FNTRACE" cflags --cc g++ 2>"$W/cflags.err")
expect_grep 'warning: g\+\+ 12 cannot trace C\+\+ with inline functions or templates.*use clang\+\+' \
	"$W/cflags.err" "fntrace cflags --cc g++: the warning"
d=$W/g++-repro
mkdir -p "$d"
cat >"$d/a.cc" <<'CC'
#include <vector>
#include <string>
int fa() { std::vector<std::string> v; v.push_back("a"); return v.size(); }
CC
cat >"$d/b.cc" <<'CC'
#include <vector>
#include <string>
int fa(); int main() { std::vector<std::string> v; v.push_back("b"); return fa() + v.size() - 2; }
CC
if g++ -O1 $cf -o "$d/ab" "$d/a.cc" "$d/b.cc" 2>"$d/err"; then
	fail "g++ now links the repro with '$cf'"
fi
expect_grep 'defined in discarded section' "$d/err" "g++: the link error is the COMDAT one"
d=$W/g++
umake "$d" cxx CXX=g++ CXXFLAGS="-O1 $cf"
(cd "$d" && "$FNTRACE" record -o "$W/g++.data" ./tmpl >/dev/null 2>&1) || fail "g++: record"
"$FNTRACE" report -i "$W/g++.data" >"$W/g++.rep"
expect_eq "$(calls_of "$W/g++.rep" tmpl_other)" 0 \
	"g++: tmpl_other's site (dropped with tmpl2.o's table; if traced now, drop the warning)"
note "g++ $(g++ -dumpversion): templates do not link, or lose whole files' sites, as fntrace cflags says"
