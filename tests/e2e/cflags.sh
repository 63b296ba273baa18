#!/usr/bin/env bash
# fntrace cflags (issue 3): the printed flags build programs fntrace traces,
# for each compiler and code model; bad input gets one clear line.
. "$(dirname "$0")/lib.sh"
cat >"$W/p.c" <<'C'
__attribute__((noinline)) int work_fn(int x) { __asm__ volatile(""); return x * 2; }
int main(void) { int s = 0; for (int i = 0; i < 100; i++) s += work_fn(i); return s != 9900; }
C
for cc in clang gcc; do
	for pic in "" --pic; do
		cf=$("$FNTRACE" cflags --cc $cc $pic 2>/dev/null)
		lf=$("$FNTRACE" cflags --cc $cc $pic --ldflags)
		note "$cc $pic: cflags '$cf', ldflags '$lf'"
		[ -n "$cf" ] || fail "no flags for $cc $pic"
		$cc -O2 $cf -c "$W/p.c" -o "$W/p.o"
		$cc -o "$W/p" "$W/p.o" -L"$BUILD" $lf -Wl,-rpath,"$BUILD"
		"$W/p" || fail "$cc $pic: the program does not run untraced"
		"$FNTRACE" record -o "$W/t.data" "$W/p" 2>"$W/err" || { cat "$W/err"; fail "$cc $pic: record"; }
		"$FNTRACE" report -i "$W/t.data" >"$W/rep"
		expect_grep ' 100 .*work_fn' "$W/rep" "$cc $pic: 100 calls of work_fn"
		grep -q 'refusing' "$W/err" && { cat "$W/err"; fail "$cc $pic: sites refused"; }
	done
done
set +e
"$FNTRACE" cflags --cc tcc >/dev/null 2>"$W/err"; rc=$?
set -e
[ $rc -ne 0 ] || fail "unknown compiler accepted"
expect_grep "unknown compiler 'tcc'" "$W/err" "unknown compiler message"
