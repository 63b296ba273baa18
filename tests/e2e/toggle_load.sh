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
