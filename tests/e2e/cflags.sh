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
# --exits (gcc): compile with its flags, link with its link flags (and
# without -pg): exit sites in the binary, no gmon.out, exact counts.
cf=$("$FNTRACE" cflags --cc gcc --exits 2>/dev/null)
lf=$("$FNTRACE" cflags --cc gcc --exits --ldflags)
note "gcc --exits: cflags '$cf', ldflags '$lf'"
# shellcheck disable=SC2086
gcc -O2 $cf -c "$W/p.c" -o "$W/px.o"
# shellcheck disable=SC2086
gcc -O2 $lf -o "$W/px" "$W/px.o"
readelf -S "$W/px" | grep -q __return_loc || fail "--exits: no __return_loc in the binary"
"$W/px" || fail "--exits: the program does not run untraced"
[ ! -e "$W/gmon.out" ] || fail "--exits: gmon.out written"
"$FNTRACE" record -o "$W/tx.data" "$W/px" 2>"$W/err" || { cat "$W/err"; fail "--exits: record"; }
"$FNTRACE" report -i "$W/tx.data" >"$W/rep"
expect_grep ' 100 .*work_fn' "$W/rep" "--exits: 100 calls of work_fn"
set +e
"$FNTRACE" cflags --cc clang --exits >/dev/null 2>"$W/err"; rc=$?
set -e
[ $rc -eq 2 ] || fail "--exits with clang accepted"
expect_grep "^fntrace cflags: --exits needs --cc gcc" "$W/err" "--exits with clang: message"
