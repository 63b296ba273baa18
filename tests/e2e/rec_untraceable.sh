#!/usr/bin/env bash
# rec_untraceable.sh - messages that say what is really wrong.  A static
# program and a 32-bit program cannot take the runtime: record says so
# (it once asked whether they were built with the flags of 'fntrace
# cflags').  A recorder stopped by SIGSTOP stalls a lossless program: the
# runtime says once whom it waits for (it waited silently), and once the
# recorder goes on the trace is complete.
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"

printf '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n' >"$W/hello.c"
gcc -static -o "$W/static" "$W/hello.c" || fail "gcc -static"
"$FNTRACE" record -o "$W/s.data" "$W/static" >"$W/s.out" 2>"$W/s.err" || fail "record of a static program"
cat "$W/s.err"
expect_eq "$(cat "$W/s.out")" hello "the static program's output"
expect_grep "^fntrace: warning: '.*static' is statically linked: without a dynamic loader the runtime cannot be loaded \(LD_PRELOAD is ignored\); it runs untraced$" "$W/s.err" "static"
! grep -q "built with the flags" "$W/s.err" || fail "static: the misleading line is still there"

# 32-bit: with the toolchain if it is whole, else a program of one system call.
if gcc -m32 -o "$W/m32" "$W/hello.c" 2>/dev/null; then
	note "32-bit: gcc -m32"
elif printf 'void _start(void) { __asm__ volatile("movl $1, %%eax; xorl %%ebx, %%ebx; int $0x80"); }\n' |
	gcc -m32 -nostdlib -static -o "$W/m32" -x c - 2>/dev/null; then
	note "32-bit: gcc -m32 -nostdlib -static (no 32-bit libc)"
else
	note "32-bit: no 32-bit toolchain: case skipped"
fi
if [ -x "$W/m32" ]; then
	rc=0
	"$FNTRACE" record -o "$W/m.data" "$W/m32" >/dev/null 2>"$W/m.err" || rc=$?
	cat "$W/m.err"
	expect_eq "$rc" 0 "status of the 32-bit program"
	expect_grep "^fntrace: warning: '.*m32' is a 32-bit program: only x86-64 programs can be traced; it runs untraced$" "$W/m.err" "32-bit"
	! grep -q "built with the flags" "$W/m.err" || fail "32-bit: the misleading line is still there"
fi

# A stopped recorder.
cat >"$W/prog.c" <<'C'
#include <stdio.h>
#include <unistd.h>
volatile long sink;
static long n_work;
__attribute__((noinline)) void work(long i) { sink += i; n_work++; }
__attribute__((noinline)) void nap(void) { usleep(500); }
int main(void)
{
	for (int i = 0; i < 4000; i++) {
		work(i);
		nap();
	}
	printf("calls work %ld\n", n_work);
	return 0;
}
C
clang -O1 -g -fpatchable-function-entry=5 -o "$W/prog" "$W/prog.c"
"$FNTRACE" record --buffer-size 16K -o "$W/stop.data" "$W/prog" >"$W/stop.out" 2>"$W/stop.err" &
fpid=$!
sleep 0.5
kill -STOP $fpid
sleep 5
said=$(grep -c "waiting for the fntrace recorder (pid $fpid) to drain the buffers" "$W/stop.err" || true)
kill -CONT $fpid
wait $fpid || fail "record with a stopped recorder: status $?"
cat "$W/stop.err"
expect_eq "$said" 1 "lines saying the program waits for the stopped recorder, while it was stopped"
expect_eq "$(grep -c "waiting for the fntrace recorder" "$W/stop.err")" 1 "lines saying it in all"
"$FNTRACE" report -i "$W/stop.data" >"$W/stop.report"
expect_counts "$W/stop.out" "$W/stop.report"
expect_eq "$(info_field "$W/stop.data" "lost events")" 0 "lost events after SIGSTOP, SIGCONT"
echo "rec_untraceable: ok"
