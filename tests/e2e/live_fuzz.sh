#!/usr/bin/env bash
# live_fuzz.sh - the agent of a running program takes over 10,000 random
# and mutated control messages (tests/progs/ctl_fuzz.c: random bytes, bad
# headers, bodies and lengths, truncated messages, descriptors of every kind
# passed with any message, START with descriptors that are no recording
# region, many connections at once, slots held by idle or unfinished
# connections) and afterwards:
#
#  - the program is alive, its agent thread too, and it answers 'ctl -p'
#    (dormant, no site enabled) and said nothing on stderr;
#  - it holds exactly the descriptors it held before (none of the passed
#    ones is kept);
#  - a real 'record -p -d 200ms' records its calls, and it is dormant after;
#  - then, while a recording runs, random SETs (filters, notrace lists,
#    depths, thresholds, tracers, good and bad) are each answered, the
#    recording ends well and its trace reads;
#  - told to stop, the program prints the result of every round, each the
#    one of an untraced run.
#
# FUZZ_SEED=N repeats a run (the seed is printed).
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"

cat >"$W/target.c" <<'C'
/* target ITERS: 2 threads make 2 traced calls (step, mix) per iteration
 * each, in rounds of ITERS iterations, until SIGUSR1; then "rounds N bad B
 * result X Y" (every round gives X Y: B counts those that did not). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#define NOINLINE __attribute__((noinline))
static long iters, rounds, bad;
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
NOINLINE unsigned long work(long k)
{
	unsigned long h = (unsigned long)k + 1;

	for (long i = 0; i < iters; i++)
		h = step(h, i);
	return h;
}
NOINLINE void *worker(void *arg)
{
	long k = (long)arg;

	res[k] = work(k);
	while (!quit) {
		if (work(k) != res[k])
			__atomic_fetch_add(&bad, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&rounds, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}
static void on_usr1(int s) { (void)s; quit = 1; }
int main(int argc, char **argv)
{
	pthread_t t[2];

	iters = atol(argv[1]);
	signal(SIGUSR1, on_usr1);
	for (long k = 0; k < 2; k++)
		pthread_create(&t[k], NULL, worker, (void *)k);
	for (long k = 0; k < 2; k++)
		pthread_join(t[k], NULL);
	printf("rounds %ld bad %ld result %lx %lx\n", rounds, bad, res[0], res[1]);
	return 0;
}
C
clang -O1 -g -fpatchable-function-entry=5 -o "$W/target" "$W/target.c" -lpthread
# The fuzzer links nothing of fntrace: proto.h gives it the layout only.
cc -O1 -g -Wall -Wextra -Werror -I"$ROOT/src" -o "$W/ctl_fuzz" "$PROGS/ctl_fuzz.c"
ITERS=1000000
SEED=${FUZZ_SEED:-$((RANDOM * 32768 + RANDOM))}
note "seed $SEED (FUZZ_SEED=$SEED repeats this run)"

KILL_AT_EXIT=
cleanup() {
	set +e
	for p in $KILL_AT_EXIT; do kill -KILL "$p" 2>/dev/null || true; done
	return 0
}
trap cleanup EXIT
ctl_field() { "$FNTRACE" ctl -p "$1" 2>/dev/null | awk -v k="$2" '$1 == k { print $2 }'; }
wait_for() {
	local n=$(($1 * 20)) s=$1 what=$2; shift 2
	for ((i = 0; i < n; i++)); do "$@" && return 0; sleep 0.05; done
	fail "$what: not within $s s"
}
answers() { "$FNTRACE" ctl -p "$1" >/dev/null 2>&1; }
recording() { [ "$(ctl_field "$1" state)" = recording ]; }
dormant() { [ "$(ctl_field "$1" state)" = dormant ]; }
nfds() { ls "/proc/$1/fd" | wc -l; }
fds_are() { [ "$(nfds "$1")" -eq "$2" ]; }
# healthy PID WHAT: alive, its agent thread too, dormant, nothing enabled.
healthy() {
	kill -0 "$1" 2>/dev/null || fail "$2: the program is gone"
	grep -qx fntrace-agent /proc/"$1"/task/*/comm || fail "$2: no agent thread"
	"$FNTRACE" ctl -p "$1" >"$W/ctl.out" || fail "$2: ctl -p failed"
	expect_grep '^state +dormant$' "$W/ctl.out" "$2: state"
	expect_grep '^enabled +0$' "$W/ctl.out" "$2: enabled sites"
	expect_grep "^pid +$1\$" "$W/ctl.out" "$2: pid"
}

note "untraced run"
"$W/target" $ITERS >"$W/plain.out" &
p=$!
sleep 0.3
kill -USR1 $p
wait $p
want=$(sed -n 's/.* \(result .*\)/\1/p' "$W/plain.out")
[ -n "$want" ] || fail "the untraced run printed no result"

"$FNTRACE" run "$W/target" $ITERS >"$W/t.out" 2>"$W/t.err" &
P=$!
KILL_AT_EXIT="$P"
wait_for 10 "the agent of $P answers" answers "$P"
healthy "$P" "before the fuzzing"
sock=/tmp/fntrace-$(id -u)/$P.sock
[ -S "$sock" ] || fail "no socket $sock"
fds0=$(nfds "$P")
note "the program holds $fds0 descriptors"

note "fuzzing"
mkdir -p "$W/fz"
start=$SECONDS
"$W/ctl_fuzz" "$sock" fuzz 12000 "$SEED" "$W/fz" >"$W/fuzz.out" || {
	rc=$?; cat "$W/fuzz.out"; fail "ctl_fuzz fuzz (seed $SEED): status $rc"; }
cat "$W/fuzz.out"
msgs=$(sed -n 's/^ctl_fuzz fuzz: \([0-9]*\) messages.*/\1/p' "$W/fuzz.out")
passed=$(sed -n 's/.* \([0-9]*\) descriptors passed.*/\1/p' "$W/fuzz.out")
[ "$msgs" -ge 10000 ] || fail "only $msgs messages sent"
[ "$passed" -ge 1000 ] || fail "only $passed descriptors passed"
note "fuzzing took $((SECONDS - start)) s"
# The agent closes each connection as it sees it close: give it a moment.
for ((i = 0; i < 100; i++)); do fds_are "$P" "$fds0" && break; sleep 0.05; done
fds1=$(nfds "$P")
[ "$fds1" -eq "$fds0" ] || { ls -l "/proc/$P/fd" >&2; fail "descriptors: $fds0 before the fuzzing, $fds1 after"; }
healthy "$P" "after the fuzzing"
[ -s "$W/t.err" ] && { cat "$W/t.err"; fail "the program wrote to stderr during the fuzzing"; }

note "a real recording after the fuzzing"
"$FNTRACE" record -p "$P" -o "$W/after.data" -d 200ms --buffer-size 1M 2>"$W/after.err" ||
	{ cat "$W/after.err"; fail "record -p after the fuzzing: status $?"; }
events=$(info_field "$W/after.data" events)
"$FNTRACE" report -i "$W/after.data" >"$W/after.report"
note "record -p -d 200ms: $events events, step $(calls_of "$W/after.report" step), mix $(calls_of "$W/after.report" mix)"
[ "$events" -gt 1000 ] || fail "record -p after the fuzzing: $events events"
[ "$(calls_of "$W/after.report" mix)" -gt 0 ] || fail "record -p after the fuzzing: no call of mix"
wait_for 5 "dormant after the recording" dormant "$P"
healthy "$P" "after the recording"

note "random SETs during a recording"
"$FNTRACE" record -p "$P" -o "$W/set.data" -d 4s --mode drop --buffer-size 64K 2>"$W/set.err" &
R=$!
KILL_AT_EXIT="$P $R"
wait_for 10 "recording" recording "$P"
"$W/ctl_fuzz" "$sock" set 400 "$SEED" >"$W/set.out" || {
	rc=$?; cat "$W/set.out"; fail "ctl_fuzz set (seed $SEED): status $rc"; }
cat "$W/set.out"
rc=0
wait "$R" || rc=$?
KILL_AT_EXIT="$P"
[ $rc -eq 0 ] || { cat "$W/set.err"; fail "record -p with random SETs: status $rc"; }
"$FNTRACE" info -i "$W/set.data" >/dev/null || fail "the trace of the SETs does not read"
"$FNTRACE" report -i "$W/set.data" >/dev/null || fail "report of the trace of the SETs failed"
"$FNTRACE" replay -i "$W/set.data" >/dev/null || fail "replay of the trace of the SETs failed"
wait_for 5 "dormant after the SETs" dormant "$P"
for ((i = 0; i < 100; i++)); do fds_are "$P" "$fds0" && break; sleep 0.05; done
expect_eq "$(nfds "$P")" "$fds0" "descriptors after the SETs"
healthy "$P" "after the SETs"
# A bad filter in a SET is said on the program's stderr (and the SET
# refused); nothing else may be.
if grep -v '^fntrace: bad filter: ' "$W/t.err" >"$W/t.err.other"; then
	cat "$W/t.err.other"; fail "the program wrote to stderr"
fi

kill -USR1 "$P"
rc=0
wait "$P" || rc=$?
KILL_AT_EXIT=
expect_eq "$rc" 0 "the program's status"
cat "$W/t.out"
expect_grep "^rounds [0-9]+ bad 0 $want\$" "$W/t.out" "the program's rounds"
echo "live_fuzz: ok"
