#!/usr/bin/env bash
# live_consumer.sh - a recording whose consumer dies or stops never stalls
# the program for long.  The target (2 threads, a few hundred million traced
# calls, a result that does not depend on timing) prints how far it is every
# 50 ms; the longest stretch without progress is measured from that.
#
#  (a) 'record -p' (lossless, 16K rings: the writers wait for it all the
#      time) is SIGKILLed mid-recording.  Its parent does not reap it, so
#      the writers' own check (is the reader's pid gone?) cannot see it: only
#      the agent, whose connection closes, can end the recording.  The
#      program must not stand still for the drain timeout (10 s by default;
#      up to 5 s is allowed, for a loaded machine), must end with the
#      untraced result, must say once that the recording stopped, and must
#      be dormant with no site enabled after.
#  (b) 'record -p --drain-timeout 1s' is SIGSTOPped for 6 s: the program
#      stands still for about 1 s (it did wait: at least 0.5 s; at most 4 s,
#      for a loaded machine), not 6; it says once that the recorder did not
#      drain; fntrace, continued, sees the end and exits; the program is
#      dormant after.
#  (c) the same with 'fntrace record --drain-timeout 1s PROG': the program
#      ends, with the right result, while fntrace is still stopped.
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"

cat >"$W/target.c" <<'C'
/* target ITERS once|linger: 2 threads make 2 traced calls per iteration
 * each; "result X Y" at the end.  linger: then waits for SIGUSR1.  The main
 * thread (untraced loop) prints "progress MS DONE" every 50 ms. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define NOINLINE __attribute__((noinline))
static long iters, done_[2];
static unsigned long res[2];
static volatile sig_atomic_t quit;
/* The empty asm with a memory clobber: the compiler may not take mix (and
 * its callers) for pure functions and fold or hoist their calls. */
NOINLINE unsigned long mix(unsigned long x)
{
	x ^= x >> 31;
	x *= 0x9e3779b97f4a7c15ul;
	__asm__ volatile("" : "+r"(x) : : "memory");
	return x ^ (x >> 29);
}
NOINLINE unsigned long step(unsigned long x, long i) { return mix(x + (unsigned long)i); }
NOINLINE void *worker(void *arg)
{
	long k = (long)arg;
	unsigned long h = (unsigned long)k + 1;

	for (long i = 0; i < iters; i++) {
		h = step(h, i);
		if (!(i & 1023))
			__atomic_store_n(&done_[k], i, __ATOMIC_RELAXED);
	}
	res[k] = h;
	__atomic_store_n(&done_[k], iters, __ATOMIC_RELEASE);
	return NULL;
}
static void on_usr1(int s) { (void)s; quit = 1; }
static long ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}
int main(int argc, char **argv)
{
	pthread_t t[2];
	long t0 = ms();

	iters = atol(argv[1]);
	signal(SIGUSR1, on_usr1);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (long k = 0; k < 2; k++)
		pthread_create(&t[k], NULL, worker, (void *)k);
	for (;;) {
		long d = __atomic_load_n(&done_[0], __ATOMIC_ACQUIRE) + __atomic_load_n(&done_[1], __ATOMIC_ACQUIRE);

		printf("progress %ld %ld\n", ms() - t0, d);
		if (d == 2 * iters)
			break;
		nanosleep(&(struct timespec){ 0, 50000000 }, NULL);
	}
	for (long k = 0; k < 2; k++)
		pthread_join(t[k], NULL);
	printf("result %lx %lx\nelapsed %ld\n", res[0], res[1], ms() - t0);
	if (strcmp(argv[2], "linger") == 0)
		while (!quit)
			nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	return 0;
}
C
clang -O1 -g -fpatchable-function-entry=5 -o "$W/target" "$W/target.c" -lpthread
N=100000000

# ctl_field PID KEY: a value of 'fntrace ctl -p PID'.
ctl_field() { "$FNTRACE" ctl -p "$1" 2>/dev/null | awk -v k="$2" '$1 == k { print $2 }'; }
# wait_for SECONDS WHAT CMD...: until CMD succeeds.
wait_for() {
	local n=$(($1 * 20)) what=$2 s=$1; shift 2
	for ((i = 0; i < n; i++)); do "$@" && return 0; sleep 0.05; done
	fail "$what: not within $s s"
}
recording() { [ "$(ctl_field "$1" state)" = recording ] && [ "$(ctl_field "$1" enabled)" -gt 0 ]; }
dormant() { [ "$(ctl_field "$1" state)" = dormant ]; }
has_line() { grep -q "$1" "$2"; }
# max_freeze OUT: the longest time (ms) the program's progress stood still.
max_freeze() {
	awk '$1 == "progress" { if ($3 != last) { last = $3; since = $2 } else if ($2 - since > m) m = $2 - since }
	     END { print m + 0 }' "$1"
}
# expect_dormant PID WHAT
expect_dormant() {
	expect_eq "$(ctl_field "$1" state)" dormant "$2: state"
	expect_eq "$(ctl_field "$1" enabled)" 0 "$2: enabled sites"
}
# end_target PID WHAT: SIGUSR1 ends a lingering target; it must exit 0.
end_target() {
	local rc=0
	kill -USR1 "$1"
	wait "$1" || rc=$?
	expect_eq "$rc" 0 "$2: the program's status"
}

cleanup() {
	set +e
	for p in ${KILL_AT_EXIT:-}; do kill -CONT "$p" 2>/dev/null || true; kill -KILL "$p" 2>/dev/null || true; done
	return 0
}
trap cleanup EXIT

note "untraced run"
"$W/target" $N once >"$W/plain.out"
want=$(grep '^result' "$W/plain.out")
note "$want in $(sed -n 's/^elapsed //p' "$W/plain.out") ms"

# --- (a) the consumer is SIGKILLed ----------------------------------------
note "(a) record -p, lossless, SIGKILLed mid-recording"
"$FNTRACE" run "$W/target" $N linger >"$W/a.out" 2>"$W/a.err" &
P=$!
KILL_AT_EXIT="$P"
wait_for 10 "(a) the agent answers" has_line '^progress' "$W/a.out"
# The recorder's parent is a shell that then execs sleep, which never
# reaps: the killed recorder stays a zombie (kill(pid, 0) still succeeds).
sh -c '"$@" & echo $! >"'"$W"'/a.rpid"; exec sleep 120' sh \
	"$FNTRACE" record -p "$P" -o "$W/a.data" --mode lossless --buffer-size 16K 2>"$W/a.rerr" &
HOLDER=$!
KILL_AT_EXIT="$P $HOLDER"
wait_for 10 "(a) recording" recording "$P"
R=$(cat "$W/a.rpid")
sleep 0.5
recording "$P" || fail "(a) the recording ended before the kill"
kill -KILL "$R"
t0=$(date +%s%N)
wait_for 30 "(a) the program's result after the kill" has_line '^result' "$W/a.out"
t1=$(date +%s%N)
grep -q '^State:.*Z' "/proc/$R/status" || fail "(a) the killed recorder was reaped: the test proves nothing"
got=$(grep '^result' "$W/a.out")
expect_eq "$got" "$want" "(a) the program's result"
freeze=$(max_freeze "$W/a.out")
note "(a) result $(( (t1 - t0) / 1000000 )) ms after the kill; longest stall ${freeze} ms"
# Without the agent, it would stand still for the drain timeout (10 s).
[ "$freeze" -lt 5000 ] || fail "(a) the program stood still for $freeze ms after its recorder died"
wait_for 5 "(a) dormant" dormant "$P"
expect_dormant "$P" "(a)"
expect_eq "$(grep -c . "$W/a.err")" 1 "(a) lines on the program's stderr ($(cat "$W/a.err"))"
expect_grep '^fntrace: recording stopped: .*gone' "$W/a.err" "(a) the program says why"
end_target "$P" "(a)"
kill "$HOLDER" 2>/dev/null; wait "$HOLDER" 2>/dev/null || true

# --- (b) the consumer is SIGSTOPped past --drain-timeout -------------------
note "(b) record -p --drain-timeout 1s, SIGSTOPped for 6 s"
"$FNTRACE" run "$W/target" $N linger >"$W/b.out" 2>"$W/b.err" &
P=$!
KILL_AT_EXIT="$P"
wait_for 10 "(b) the agent answers" has_line '^progress' "$W/b.out"
"$FNTRACE" record -p "$P" -o "$W/b.data" --mode lossless --buffer-size 16K --drain-timeout 1s \
	2>"$W/b.rerr" &
R=$!
KILL_AT_EXIT="$P $R"
wait_for 10 "(b) recording" recording "$P"
sleep 0.3
kill -STOP "$R"
sleep 6
# While the recorder is still stopped: the program went on without it.
freeze=$(max_freeze "$W/b.out")
cp "$W/b.out" "$W/b.out.stopped"
kill -CONT "$R"
rc=0
timeout 15 tail --pid="$R" -f /dev/null || fail "(b) fntrace did not exit after SIGCONT"
wait "$R" || rc=$?
note "(b) longest stall ${freeze} ms (recorder stopped 6000 ms); fntrace status $rc"
[ "$freeze" -ge 500 ] || fail "(b) the program never waited for the stopped recorder ($freeze ms): the test proves nothing"
[ "$freeze" -lt 4000 ] || fail "(b) the program stood still for $freeze ms with --drain-timeout 1s"
expect_grep "process $P: recording stopped" "$W/b.rerr" "(b) fntrace says the recording stopped"
wait_for 30 "(b) the program's result" has_line '^result' "$W/b.out"
expect_eq "$(grep '^result' "$W/b.out")" "$want" "(b) the program's result"
expect_dormant "$P" "(b)"
expect_eq "$(grep -c . "$W/b.err")" 1 "(b) lines on the program's stderr ($(tr '\n' '|' <"$W/b.err"))"
expect_grep 'did not drain' "$W/b.err" "(b) the program says the recorder did not drain"
end_target "$P" "(b)"
"$FNTRACE" info -i "$W/b.data" >"$W/b.info" || fail "(b) the trace cannot be read"

# --- (c) 'fntrace record PROG' is SIGSTOPped past --drain-timeout ----------
note "(c) record --drain-timeout 1s PROG, SIGSTOPped (up to 10 s)"
"$FNTRACE" record -o "$W/c.data" --mode lossless --buffer-size 16K --drain-timeout 1s \
	"$W/target" $N once >"$W/c.out" 2>"$W/c.err" &
R=$!
KILL_AT_EXIT="$R"
wait_for 10 "(c) the program runs" has_line '^progress' "$W/c.out"
sleep 0.3
kill -STOP "$R"
ok=0
for ((i = 0; i < 200; i++)); do grep -q '^result' "$W/c.out" && { ok=1; break; }; sleep 0.05; done
freeze=$(max_freeze "$W/c.out")
kill -CONT "$R"
rc=0
wait "$R" || rc=$?
note "(c) longest stall ${freeze} ms; fntrace status $rc"
[ $ok = 1 ] || fail "(c) the program did not end within 10 s of its recorder stopping (stall $freeze ms)"
[ "$freeze" -ge 500 ] || fail "(c) the program never waited for the stopped recorder: the test proves nothing"
[ "$freeze" -lt 4000 ] || fail "(c) the program stood still for $freeze ms with --drain-timeout 1s"
expect_eq "$(grep '^result' "$W/c.out")" "$want" "(c) the program's result"
expect_eq "$rc" 0 "(c) fntrace record's status (the program's)"
# The program and fntrace share this stderr: the program's lines are the
# ones about the recording stopping.
expect_eq "$(grep -c 'did not drain\|recording stopped' "$W/c.err")" 1 \
	"(c) lines saying the recording stopped ($(tr '\n' '|' <"$W/c.err"))"
"$FNTRACE" info -i "$W/c.data" >"$W/c.info" || fail "(c) the trace cannot be read"
KILL_AT_EXIT=
echo "live_consumer: ok"
