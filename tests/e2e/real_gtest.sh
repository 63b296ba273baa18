#!/usr/bin/env bash
# real_gtest.sh - a real C++ program (issue 8, item 6b): googletest 1.12,
# built with clang's form and gtest in a shared library, under the default
# `fntrace record`.  Before the fix its own dll test died of SIGSEGV at
# exit (a library's destructor called a traced function of the executable
# whose records were released), and the death tests' children, made by
# fork and by clone() without CLONE_VM, wrote into their parent's rings.
# The tests must end exactly as untraced, with nothing lost.
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"

SRC=/usr/src/googletest
[ -f "$SRC/CMakeLists.txt" ] || fail "googletest sources missing: apt-get install googletest cmake"
mkdir -p "$W/b"
(cd "$W/b" && CC=clang CXX=clang++ CFLAGS=-fpatchable-function-entry=5 \
	CXXFLAGS=-fpatchable-function-entry=5 cmake -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DBUILD_SHARED_LIBS=ON -Dgtest_build_tests=ON -DBUILD_GMOCK=OFF "$SRC" >"$W/cmake.log" 2>&1 &&
	make -j2 gtest_dll_test_ googletest-death-test-test >"$W/make.log" 2>&1) ||
	{ tail -20 "$W/cmake.log" "$W/make.log" >&2; fail "googletest did not build"; }
T=$W/b/googletest

for prog in gtest_dll_test_ googletest-death-test-test; do
	set +e
	"$T/$prog" >"$W/untraced.out" 2>&1
	want=$?
	set -e
	for tracer in function function_graph; do
		t="$prog $tracer"
		set +e
		"$FNTRACE" record --tracer $tracer -o "$W/g.data" "$T/$prog" >"$W/out" 2>"$W/err"
		rc=$?
		set -e
		[ "$rc" -eq "$want" ] || { tail -5 "$W/err" >&2; fail "$t: status $rc, untraced $want"; }
		"$FNTRACE" report -i "$W/g.data" >"$W/report" || fail "$t: the trace does not read back"
		[ "$(calls_of "$W/report" main)" -ge 1 ] || fail "$t: main not recorded"
		# Nothing lost: the dll test lost 22 (function) and 44
		# (function_graph) events before, calls made by key destructors
		# after the runtime's own (issue 9, e2e/rec_keys).
		l=$(info_field "$W/g.data" 'lost events')
		expect_eq "$l" 0 "$t: lost events"
		if [ "$prog" = googletest-death-test-test ]; then
			n=$("$FNTRACE" info -i "$W/g.data" | sed -n 's/^# processes *: \([0-9]*\).*/\1/p')
			[ "$n" -gt 20 ] || fail "$t: only $n processes recorded"
		fi
	done
done
note "googletest: ok"
