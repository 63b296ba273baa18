#!/usr/bin/env bash
# fntrace cflags (issues 3 and 10): the printed flags build programs fntrace
# traces, for each compiler and code model, passed the way build systems
# pass them (CFLAGS at compile and link time, --ldflags at link time, no
# -L, no -lfntrace); bad input gets one clear line.
. "$(dirname "$0")/lib.sh"
cd "$W"
cat >"$W/p.c" <<'C'
__attribute__((noinline)) int work_fn(int x) { __asm__ volatile(""); return x * 2; }
int main(void) { int s = 0; for (int i = 0; i < 100; i++) s += work_fn(i); return s != 9900; }
C
for cc in clang gcc; do
	for pic in "" -fno-pie -fPIE; do
		link=
		[ "$pic" = -fno-pie ] && link=-no-pie
		cf=$("$FNTRACE" cflags --cc $cc 2>"$W/cf.err")
		lf=$("$FNTRACE" cflags --cc $cc --ldflags 2>>"$W/cf.err")
		[ ! -s "$W/cf.err" ] || { cat "$W/cf.err"; fail "$cc: fntrace cflags printed advice"; }
		note "$cc $pic: cflags '$cf', ldflags '$lf'"
		[ -n "$cf" ] || fail "no flags for $cc $pic"
		# shellcheck disable=SC2086
		$cc -O2 $pic $cf -c "$W/p.c" -o "$W/p.o" 2>"$W/cc.err"
		# shellcheck disable=SC2086
		$cc -O2 $pic $cf $link $lf -o "$W/p" "$W/p.o" 2>>"$W/cc.err"
		[ ! -s "$W/cc.err" ] || { cat "$W/cc.err"; fail "$cc $pic: the compiler warned"; }
		"$W/p" || fail "$cc $pic: the program does not run untraced"
		[ ! -e "$W/gmon.out" ] || fail "$cc $pic: gmon.out written"
		"$FNTRACE" record -o "$W/t.data" "$W/p" 2>"$W/err" || { cat "$W/err"; fail "$cc $pic: record"; }
		"$FNTRACE" report -i "$W/t.data" >"$W/rep"
		expect_grep ' 100 .*work_fn' "$W/rep" "$cc $pic: 100 calls of work_fn"
		grep -q 'fntrace:' "$W/err" && { cat "$W/err"; fail "$cc $pic: the runtime complained"; }
	done
done
# --pic is still accepted (it was needed once); the flags are the same.
expect_eq "$("$FNTRACE" cflags --cc gcc --pic)" "$("$FNTRACE" cflags --cc gcc)" "--pic"
# Compiler names as build systems spell them.
for cc in cc c++ gcc-12 /usr/bin/x86_64-linux-gnu-gcc-12 clang-14 clang++; do
	"$FNTRACE" cflags --cc $cc >/dev/null 2>&1 || fail "--cc $cc refused"
done
set +e
"$FNTRACE" cflags --cc tcc >/dev/null 2>"$W/err"; rc=$?
set -e
[ $rc -ne 0 ] || fail "unknown compiler accepted"
expect_grep "unknown compiler 'tcc'" "$W/err" "unknown compiler message"
