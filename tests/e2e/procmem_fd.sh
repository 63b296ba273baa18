#!/usr/bin/env bash
# The /proc/self/mem descriptor of FNTRACE_WRITE=procmem (issue 8, item 10):
# the program closes every descriptor (close_range), opens its own file,
# which gets the runtime's old number, and dlopens a traced library.  The
# file keeps its contents and the library is traced.
. "$(dirname "$0")/lib.sh"
cbuild "$W/procmem_fd" clang -O2 -fpatchable-function-entry=5 -- "$PROGS/procmem_fd.c"
echo 'int t_plug(int x) { __asm__ volatile(""); return x + 1; }' >"$W/plug.c"
clang -g -O2 -fpatchable-function-entry=5 -fPIC -shared -o "$W/plug.so" "$W/plug.c"
for write in procmem mprotect; do
	note "FNTRACE_WRITE=$write"
	FNTRACE_WRITE=$write traced "$W/procmem_fd" "$W/plug.so" "$W/data-$write" >"$W/out-$write" 2>&1 ||
		{ cat "$W/out-$write"; fail "$write"; }
	cat "$W/out-$write"
	expect_grep '^OK$' "$W/out-$write" "$write"
	expect_eq "$(cat "$W/data-$write")" "the program's own data" "the program's file"
done
