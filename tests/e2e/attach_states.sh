#!/usr/bin/env bash
# attach_states.sh - an attach is transparent to the thread it hijacks
# (issue 12, item 2).  tests/progs/attach_states.c, started without
# fntrace, keeps its main thread (the one an attach takes) in one state
# while a worker makes traced calls: blocked in read, nanosleep, a futex
# wait, accept or epoll_wait, or spinning with every general register and
# ymm0-15 holding known values.  'record -p' attaches, records and
# detaches; then the main thread's call must come back as if nothing had
# happened (no EINTR, no short sleep, no early futex return), with its
# registers, signal mask, alternate stack and errno as they were.
#
# Then the same with fntrace killed while it holds the thread (a test hook
# kills it right after it set the thread's registers for the first raw
# system call): the thread must find its own way back, by the signal frame
# the hijack wrote below its stack first (registers, vector state, mask,
# the blocking call restarted), and the process must run on untraced.
source "$(dirname "$0")/rec_common.bash"

clang -O2 -g -fpatchable-function-entry=5 -o "$W/st" "$PROGS/attach_states.c" -lpthread
PID=
trap '[ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null; true' EXIT

# start MODE: the program, until it says ready.
start() {
	rm -f "$W/fifo" "$W/fifo.sock"
	mkfifo "$W/fifo"
	"$W/st" "$1" "$W/fifo" >"$W/out" 2>"$W/err" &
	PID=$!
	for i in $(seq 200); do grep -q '^ready$' "$W/out" && break; sleep 0.02; done
	expect_grep '^ready$' "$W/out" "$1: the program started"
}
# finish MODE: the byte that ends the wait; the program must exit 0.
finish() {
	local rc=0
	echo x >"$W/fifo"
	wait "$PID" || rc=$?
	PID=
	[ $rc -eq 0 ] || { cat "$W/err"; fail "$1: the program exited with $rc"; }
	expect_grep '^ok calls [0-9]+$' "$W/out" "$1: the program's own checks"
}

for mode in read sleep futex accept epoll regs; do
	note "$mode: attach, record, detach"
	start $mode
	# Let the main thread settle into its call.
	sleep 0.2
	"$FNTRACE" record -p "$PID" -d 300ms -o "$W/t.data" 2>"$W/rec.err" ||
		{ cat "$W/rec.err"; fail "$mode: record -p"; }
	"$FNTRACE" report -i "$W/t.data" >"$W/rep"
	[ "$(calls_of "$W/rep" w_leaf)" -gt 0 ] || fail "$mode: no calls recorded"
	st=$("$FNTRACE" ctl -p "$PID")
	grep -qE '^state +dormant$' <<<"$st" || { echo "$st"; fail "$mode: not dormant after"; }
	grep -qE '^enabled +0$' <<<"$st" || { echo "$st"; fail "$mode: sites left enabled"; }
	grep -q 'rwxp' /proc/$PID/maps && fail "$mode: the loader's area is still mapped"
	finish $mode

	note "$mode: fntrace dies holding the thread"
	start $mode
	sleep 0.2
	rc=0
	FNTRACE_TEST_HIJACK_DIE=1 "$FNTRACE" ctl -p "$PID" >/dev/null 2>&1 || rc=$?
	expect_eq "$rc" 137 "$mode: fntrace killed by the test hook"
	sleep 0.1
	kill -0 "$PID" 2>/dev/null || { cat "$W/err"; fail "$mode: the process died"; }
	grep -q libfntrace /proc/$PID/maps && fail "$mode: the runtime got loaded"
	state=$(awk '{ print $3 }' /proc/$PID/stat)
	case $state in t | T) fail "$mode: the process is left stopped ($state)" ;; esac
	finish "$mode (fntrace died)"
done
echo "attach_states: ok"
