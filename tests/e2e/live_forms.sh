#!/usr/bin/env bash
# live_forms.sh - the ways a process gets the runtime, each controllable
# from outside (issue 11, item 1), and exit during a recording:
#   - fntrace run PROG;
#   - a program linked with -lfntrace and -Wl,--audit (no fntrace at start);
#   - LD_PRELOAD and LD_AUDIT set by whoever starts it (a service manager);
# each is listed by 'fntrace ps' as dormant, recorded by 'record -p' with
# the exact count of a phase marked through a pipe, dormant again after.
# Then a program that exits while 'record -p' records it: it exits at once
# with its own status (the agent never delays exit), record -p ends by
# itself with a complete trace, and the socket's name is gone.
. "$(dirname "$0")/lib.sh"
cat >"$W/p.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
volatile long sink;
__attribute__((noinline)) void tick(long i) { sink += i; __asm__ volatile("" ::: "memory"); }
int main(int argc, char **argv)
{
	char c;
	long n = atol(argv[1]);

	/* Phase: wait for a byte on stdin, make n calls, say done, wait. */
	if (read(0, &c, 1) != 1)
		return 3;
	for (long i = 0; i < n; i++)
		tick(i);
	printf("done\n");
	fflush(stdout);
	if (read(0, &c, 1) != 1)
		return 4;
	return c == 'x' ? 7 : 0;
}
C
clang -O1 -g -fpatchable-function-entry=5 -o "$W/plain" "$W/p.c"
clang -O1 -g -fpatchable-function-entry=5 -o "$W/linked" "$W/p.c" -L"$BUILD" -lfntrace \
	-Wl,--audit="$LIB" -Wl,-rpath,"$BUILD"

N=12345
wait_state() {	# PID STATE
	for _ in $(seq 200); do
		"$FNTRACE" ctl -p "$1" 2>/dev/null | grep -q "^state  *$2\$" && return 0
		sleep 0.05
	done
	fail "process $1 never in state $2"
}

one() {	# NAME COMMAND...
	local name=$1; shift
	rm -f "$W/in.$name"; mkfifo "$W/in.$name"
	"$@" $N <"$W/in.$name" >"$W/out.$name" 2>"$W/err.$name" &
	local pid=$!
	exec 7>"$W/in.$name"
	wait_state $pid dormant
	"$FNTRACE" ps >"$W/ps.$name"
	grep -qE "^ *$pid +dormant " "$W/ps.$name" || { cat "$W/ps.$name"; fail "$name: not listed by ps"; }
	"$FNTRACE" record -p $pid -o "$W/$name.data" 2>"$W/rec.$name" &
	local rec=$!
	wait_state $pid recording
	printf g >&7
	for _ in $(seq 200); do grep -q done "$W/out.$name" && break; sleep 0.05; done
	kill -INT $rec
	wait $rec || fail "$name: record -p exited $?"
	wait_state $pid dormant
	printf q >&7
	exec 7>&-
	wait $pid || fail "$name: the program exited $?"
	"$FNTRACE" report -i "$W/$name.data" >"$W/rep.$name"
	expect_eq "$(awk '$NF == "tick" { print $5 }' "$W/rep.$name")" $N "$name: calls of tick"
	[ -s "$W/err.$name" ] && { cat "$W/err.$name"; fail "$name: the program wrote on stderr"; }
	note "$name: $N calls recorded from outside, dormant before and after"
}

one run "$FNTRACE" run "$W/plain"
one linked "$W/linked"
one env env LD_PRELOAD="$LIB" LD_AUDIT="$LIB" "$W/plain"

# Exit while recorded.
rm -f "$W/in.exit"; mkfifo "$W/in.exit"
"$FNTRACE" run "$W/plain" 200000 <"$W/in.exit" >"$W/out.exit" 2>"$W/err.exit" &
pid=$!
exec 7>"$W/in.exit"
wait_state $pid dormant
sock=/tmp/fntrace-$(id -u)/$pid.sock
[ -S "$sock" ] || fail "no socket $sock"
"$FNTRACE" record -p $pid -o "$W/exit.data" 2>"$W/rec.exit" &
rec=$!
wait_state $pid recording
printf g >&7
for _ in $(seq 200); do grep -q done "$W/out.exit" && break; sleep 0.05; done
t0=$(date +%s%N)
printf x >&7
exec 7>&-
st=0; wait $pid || st=$?
t1=$(date +%s%N)
expect_eq $st 7 "the program's exit status while recorded"
[ $(( (t1 - t0) / 1000000 )) -lt 2000 ] || fail "exit took $(( (t1 - t0) / 1000000 )) ms while recorded"
timeout 20 tail --pid=$rec -f /dev/null || fail "record -p did not end when its process exited"
wait $rec || fail "record -p exited $? after its process exited"
[ -e "$sock" ] && fail "the socket $sock outlived its process"
"$FNTRACE" report -i "$W/exit.data" >"$W/rep.exit"
expect_eq "$(awk '$NF == "tick" { print $5 }' "$W/rep.exit")" 200000 "calls of tick before exit"
note "exit while recorded: status 7 in $(( (t1 - t0) / 1000000 )) ms, trace complete, socket gone"
echo "live_forms: ok"
