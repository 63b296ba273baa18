#!/usr/bin/env bash
# Toggling under load (issue 3): workers in tight loops, 10,000 enable and
# disable rounds, with each compiler's live-patchable form.
. "$(dirname "$0")/lib.sh"
for cc in clang gcc; do
	if [ $cc = clang ]; then fl="-O2 -fpatchable-function-entry=5"; else fl="-O2 -fno-pie -no-pie -pg -mfentry -mrecord-mcount -mnop-mcount"; fi
	cbuild "$W/toggle-$cc" $cc $fl -- "$PROGS/toggle.c"
	note "$cc: 10000 rounds, 2 workers"
	traced "$W/toggle-$cc" 10000 2 | tee "$W/out-$cc"
	expect_grep '^OK$' "$W/out-$cc" "$cc toggle"
done
note "membarrier-less sync (signals), 1000 rounds, 3 workers"
FNTRACE_SYNC=signal traced "$W/toggle-clang" 1000 3 | tee "$W/out-sig"
expect_grep '^OK$' "$W/out-sig" "signal sync"
note "writes through /proc/self/mem, 1000 rounds"
FNTRACE_WRITE=procmem traced "$W/toggle-clang" 1000 2 | tee "$W/out-mem"
expect_grep '^OK$' "$W/out-mem" "procmem writes"
# Exit sites (gcc -minstrument-return=nop5 -mrecord-return) under load: the
# tracer gains and loses its exit callback every other round, so the exit
# sites are enabled and disabled live with the entries; the hooked-return
# form gets the same rounds for comparison.
cbuild "$W/toggle-gcc-exit" gcc -O2 -fno-pie -no-pie -pg -mfentry -mrecord-mcount -mnop-mcount \
	-minstrument-return=nop5 -mrecord-return -- "$PROGS/toggle.c"
for b in toggle-gcc-exit toggle-gcc; do
	note "$b: 800 rounds with exits, 2 workers"
	traced "$W/$b" 800 2 exits | tee "$W/out-$b-exits"
	expect_grep '^OK$' "$W/out-$b-exits" "$b toggle with exits"
done
note "toggle-gcc-exit with the signal sync, 200 rounds, 3 workers"
FNTRACE_SYNC=signal traced "$W/toggle-gcc-exit" 200 3 exits | tee "$W/out-exit-sig"
expect_grep '^OK$' "$W/out-exit-sig" "exit sites, signal sync"
