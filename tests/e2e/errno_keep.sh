#!/usr/bin/env bash
# The hooks never change errno (entry and exit), with both compilers.
. "$(dirname "$0")/lib.sh"
for cc in clang gcc; do
	if [ $cc = clang ]; then fl="-O2 -fpatchable-function-entry=5"; else fl="-O2 -fno-pie -no-pie -pg -mfentry -mrecord-mcount -mnop-mcount"; fi
	cbuild "$W/errno-$cc" $cc $fl -- "$PROGS/errno_keep.c"
	traced "$W/errno-$cc" | tee "$W/out-$cc"
	expect_grep '^OK$' "$W/out-$cc" "$cc errno"
done
