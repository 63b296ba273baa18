#!/usr/bin/env bash
# rec_direct.sh - the recorder's direct path (src/runtime/direct.c) against
# the general one.  A site wanted by the recorder alone goes straight to its
# ring; one that a program's own ops wants too goes through the ops walk;
# sites move between the two while threads call them.  Counts must stay
# exact either way, in both tracers, in clang's and gcc's forms, and with
# --depth (whose deep calls the direct path leaves to the general one).  A
# live change of tracer, which switches the direct path off and on, is
# live_server's; every other recording test runs the direct path too.
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"

build_mix() { # NAME CC LDFLAGS CFLAGS...
	local out=$W/$1 cc=$2 ld=$3; shift 3
	"$cc" -O2 -g "$@" -I"$ROOT/include" -c -o "$out.o" "$PROGS/direct_mix.c"
	"$cc" $ld -o "$out" "$out.o" -L"$BUILD" -lfntrace -Wl,-rpath,"$BUILD" -lpthread
}
build_mix mix-clang clang "" -fpatchable-function-entry=5
build_mix mix-gcc gcc -no-pie -pg -mfentry -mrecord-mcount -mnop-mcount -fno-pie

for prog in mix-clang mix-gcc; do
	for tracer in function_graph function; do
		t="$prog $tracer"
		note "$t"
		# The ops' own callbacks are traced functions too: calls made in
		# a callback are never recorded (counted lost), so leave them out.
		rec --tracer $tracer -N 'on_*' -o "$W/t.data" "$W/$prog" 30 2 >"$W/out" 2>"$W/err"
		[ -s "$W/err" ] && { cat "$W/err"; fail "$t: record wrote to stderr"; }
		"$FNTRACE" report -i "$W/t.data" >"$W/report"
		expect_counts "$W/out" "$W/report"
		expect_eq "$(info_field "$W/t.data" 'lost events')" 0 "$t: lost events"
		grep -q '^ops entries [1-9]' "$W/out" || fail "$t: the program's ops saw nothing"
	done
done

# --depth 3: main (depth 0), top (1) and mid/tail (2) are recorded, leaf (3 and
# deeper) is not; the direct path hands those calls to the general one.
rec --depth 3 -N 'on_*' -o "$W/d.data" "$W/mix-clang" 10 1 >"$W/out"
"$FNTRACE" report -i "$W/d.data" >"$W/report"
for f in top tail worker; do
	expect_eq "$(calls_of "$W/report" $f)" "$(sed -n "s/^calls $f //p" "$W/out")" "depth 3: $f"
done
expect_eq "$(calls_of "$W/report" leaf)" 0 "depth 3: leaf is not recorded"
[ "$(calls_of "$W/report" mid)" -gt 0 ] || fail "depth 3: mid is recorded"
note "depth 3 ok"
