#!/usr/bin/env bash
# live_errors.sh - bad input to 'fntrace record -p' and 'fntrace ctl -p'.
#
#  - a pid that cannot name a process (999999999, beyond pid_max), one too
#    big for an int (once cut to another pid), a pid number nobody uses, a
#    process without the runtime ('sleep' started normally), a process with
#    the runtime but no agent (FNTRACE_AGENT=0): each is one line on stderr
#    that starts with "fntrace: ", nothing on stdout, a non-zero status, and
#    record -p creates no file;
#  - two controllers: a second 'record -p' of a process being recorded is
#    refused with the pid of the first, which goes on and writes a good
#    trace; so is 'record -p' of a process that 'fntrace record PROG' runs;
#  - 'ctl -p PID -F GLOB' during a recording changes what it records (the
#    report and the order of the events show it);
#  - malformed options: 'record -p abc', 'record -p 1 prog', 'ctl' without
#    -p, and friends: one line, status 2.
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
NOINLINE unsigned long mix(unsigned long x)
{
	/* Some work between calls: traces of a few seconds stay small.  The
	 * memory clobber: the compiler may not take mix (and its callers)
	 * for pure functions and fold or hoist their calls. */
	for (int j = 0; j < 4096; j++) {
		x ^= x >> 31;
		x *= 0x9e3779b97f4a7c15ul;
		__asm__ volatile("" : "+r"(x) : : "memory");
	}
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
# end_target PID WHAT OUT: SIGUSR1; the program must exit 0 with every
# round right.
end_target() {
	local rc=0
	kill -USR1 "$1"
	wait "$1" || rc=$?
	expect_eq "$rc" 0 "$2: the program's status"
	expect_grep '^rounds [0-9]+ bad 0 result ' "$3" "$2: the program's rounds"
}

# refused WHAT PATTERN STATUS CMD...: CMD exits with STATUS (any non-zero
# if STATUS is 'nz') and prints nothing but one line "fntrace: ..."
# matching PATTERN on stderr.
refused() {
	local what=$1 pat=$2 want=$3 rc=0; shift 3
	"$@" >"$W/r.out" 2>"$W/r.err" || rc=$?
	if [ "$want" = nz ]; then
		[ $rc -ne 0 ] || fail "$what: status 0"
	else
		expect_eq "$rc" "$want" "$what: status"
	fi
	[ -s "$W/r.out" ] && { cat "$W/r.out"; fail "$what: wrote to stdout"; }
	expect_eq "$(wc -l <"$W/r.err")" 1 "$what: lines on stderr ($(tr '\n' '|' <"$W/r.err"))"
	expect_grep "^fntrace: .*$pat" "$W/r.err" "$what"
	note "$what: $(cat "$W/r.err")"
}

# --- processes that cannot be controlled ----------------------------------
pid_max=$(cat /proc/sys/kernel/pid_max)
[ 999999999 -gt "$pid_max" ] || fail "pid_max $pid_max: 999999999 is a pid"
true &
free=$!
wait $free
[ -e "/proc/$free" ] && fail "pid $free was reused at once"
sleep 100 &
plain=$!
KILL_AT_EXIT="$plain"
FNTRACE_AGENT=0 "$FNTRACE" run "$W/target" 20000 >"$W/noagent.out" 2>"$W/noagent.err" &
noagent=$!
KILL_AT_EXIT="$plain $noagent"
wait_for 10 "the runtime mapped in $noagent" grep -q libfntrace "/proc/$noagent/maps"
for cmd in "ctl -p" "ctl --stop -p" "ctl -F main -p" "record -o $W/none.data -d 1s -p"; do
	refused "$cmd 999999999" 'no process with pid 999999999$' nz $FNTRACE $cmd 999999999
	refused "$cmd $free (free)" "no process with pid $free\$" nz $FNTRACE $cmd $free
	refused "$cmd (sleep)" "process $plain has no patch sites" nz $FNTRACE $cmd $plain
	refused "$cmd (FNTRACE_AGENT=0)" "process $noagent has the fntrace runtime but no control endpoint" nz \
		$FNTRACE $cmd $noagent
done
[ -e "$W/none.data" ] && fail "record -p of no process created its file"
ls "$W" | grep -q 'none\.data' && fail "record -p of no process left a temporary file"
refused "ctl -p 4294967297 (1 once cut to an int)" "bad pid '4294967297'" 2 $FNTRACE ctl -p 4294967297
refused "record -p 4294967297" "bad pid list '4294967297'" 2 $FNTRACE record -p 4294967297
refused "ctl -p 99999999999999999999" "bad pid" 2 $FNTRACE ctl -p 99999999999999999999
# The program without an agent is unharmed.
kill -USR1 "$noagent"
wait "$noagent" || fail "the program without an agent: status $?"
expect_grep '^rounds [0-9]+ bad 0 ' "$W/noagent.out" "the program without an agent"
[ -s "$W/noagent.err" ] && { cat "$W/noagent.err"; fail "FNTRACE_AGENT=0: the program wrote to stderr"; }
kill "$plain"; wait "$plain" 2>/dev/null || true
KILL_AT_EXIT=

# --- two controllers at once ----------------------------------------------
note "two controllers"
"$FNTRACE" run "$W/target" 20000 >"$W/t.out" 2>"$W/t.err" &
P=$!
KILL_AT_EXIT="$P"
wait_for 10 "the agent of $P answers" answers "$P"
"$FNTRACE" record -p "$P" -o "$W/first.data" -d 2s --buffer-size 1M 2>"$W/first.err" &
R1=$!
KILL_AT_EXIT="$P $R1"
wait_for 10 "recording" recording "$P"
refused "a second record -p" "process $P is being recorded already, by fntrace pid $R1" nz \
	$FNTRACE record -p "$P" -o "$W/second.data" -d 1s
[ -e "$W/second.data" ] && fail "the refused record -p created its file"
refused "a second record -p, given two pids" "process $P is being recorded already, by fntrace pid $R1" nz \
	$FNTRACE record -p "$P,$$" -o "$W/second.data" -d 1s
kill -0 "$R1" || fail "the first recorder died"
expect_eq "$(ctl_field "$P" owner_pid)" "$R1" "the owner after the refusals"
expect_eq "$(ctl_field "$P" state)" recording "the state after the refusals"
rc=0
wait "$R1" || rc=$?
KILL_AT_EXIT="$P"
[ $rc -eq 0 ] || { cat "$W/first.err"; fail "the first recorder: status $rc"; }
[ -s "$W/first.err" ] && { cat "$W/first.err"; fail "the first recorder wrote to stderr"; }
"$FNTRACE" report -i "$W/first.data" >"$W/first.report"
step=$(calls_of "$W/first.report" step) mix=$(calls_of "$W/first.report" mix)
note "the first recording: step $step, mix $mix"
[ "$step" -gt 1000 ] || fail "the first recording has $step calls of step"
# Each step calls mix once; a call in flight at the start or the end of
# the recording may lack its pair (one per thread at each).
d=$((step - mix)); d=${d#-}
[ "$d" -le 4 ] || fail "the first recording: step $step and mix $mix calls"
expect_eq "$(info_field "$W/first.data" 'lost events')" 0 "the first recording: lost events"
expect_eq "$(ctl_field "$P" state)" dormant "after the first recording"
expect_eq "$(ctl_field "$P" enabled)" 0 "enabled sites after the first recording"

# --- ctl -F during a recording --------------------------------------------
note "ctl -p -F while recording"
"$FNTRACE" record -p "$P" -F step -o "$W/f.data" -d 2s --buffer-size 1M 2>"$W/f.err" &
R=$!
KILL_AT_EXIT="$P $R"
wait_for 10 "recording" recording "$P"
expect_eq "$(ctl_field "$P" filter)" step "the filter at the start"
sleep 0.5
"$FNTRACE" ctl -p "$P" -F mix >"$W/ctl.out" || fail "ctl -F mix: status $?"
expect_grep '^filter +mix$' "$W/ctl.out" "ctl -F mix: the reply"
expect_eq "$(ctl_field "$P" filter)" mix "the filter after ctl -F mix"
expect_eq "$(ctl_field "$P" enabled)" 1 "sites enabled after ctl -F mix"
rc=0
wait "$R" || rc=$?
KILL_AT_EXIT="$P"
[ $rc -eq 0 ] || { cat "$W/f.err"; fail "record -p -F step: status $rc"; }
"$FNTRACE" report -i "$W/f.data" >"$W/f.report"
step=$(calls_of "$W/f.report" step) mix=$(calls_of "$W/f.report" mix)
note "-F step, then ctl -F mix: step $step, mix $mix"
[ "$step" -gt 0 ] || fail "-F step recorded no step"
[ "$mix" -gt 0 ] || fail "ctl -F mix: no mix recorded after the change"
# Per thread, no step begins after its first mix: the change is one batch.
"$FNTRACE" replay -i "$W/f.data" >"$W/f.replay"
late=$(awk 'match($0, /\[ *[0-9]+\]/) { t = substr($0, RSTART, RLENGTH) }
	    /\| *mix\(\)/ { m[t] = 1 }
	    /\| *step\(\)/ && m[t] { n++ } END { print n + 0 }' "$W/f.replay")
expect_eq "$late" 0 "calls of step begun after mix was recorded on their thread"
expect_eq "$(ctl_field "$P" enabled)" 0 "enabled sites after the recording"
end_target "$P" "the controlled program" "$W/t.out"
[ -s "$W/t.err" ] && { cat "$W/t.err"; fail "the controlled program wrote to stderr"; }
KILL_AT_EXIT=

# --- record -p of a program 'fntrace record' runs --------------------------
note "record -p of a program run by fntrace record"
"$FNTRACE" record -o "$W/rec.data" -F work "$W/target" 20000 >"$W/rec.out" 2>"$W/rec.err" &
R=$!
KILL_AT_EXIT="$R"
wait_for 10 "the program of fntrace record" sh -c "pgrep -P $R >/dev/null"
C=$(pgrep -P "$R")
KILL_AT_EXIT="$R $C"
wait_for 10 "the agent of $C answers" answers "$C"
expect_eq "$(ctl_field "$C" by)" record "ctl -p of the program: recorded by"
refused "record -p of it" "process $C is being recorded already.*fntrace record" nz \
	$FNTRACE record -p "$C" -o "$W/other.data" -d 1s
[ -e "$W/other.data" ] && fail "the refused record -p created its file"
kill -USR1 "$C"
rc=0
wait "$R" || rc=$?
[ $rc -eq 0 ] || { cat "$W/rec.err"; fail "fntrace record: status $rc"; }
expect_grep '^rounds [0-9]+ bad 0 ' "$W/rec.out" "the program of fntrace record"
"$FNTRACE" report -i "$W/rec.data" >"$W/rec.report"
[ "$(calls_of "$W/rec.report" work)" -gt 0 ] || fail "fntrace record: no call of work recorded"
KILL_AT_EXIT=

# --- malformed options ----------------------------------------------------
refused "record -p abc" "bad pid list 'abc'" 2 $FNTRACE record -p abc
refused "record -p ''" "bad pid list" 2 $FNTRACE record -p ''
refused "record -p 0" "bad pid list" 2 $FNTRACE record -p 0
refused "record -p 1,1" "pid 1 given twice" 2 $FNTRACE record -p 1,1
refused "record -p 1 prog" "either -p PID or a program" 2 $FNTRACE record -p 1 "$W/target" 1
refused "record -p 1 -- prog" "either -p PID or a program" 2 $FNTRACE record -p 1 -- "$W/target" 1
refused "record -p" "missing argument" 2 $FNTRACE record -p
refused "record -d 1s prog" "-d is for -p" 2 $FNTRACE record -d 1s "$W/target" 1
refused "ctl" "no process given" 2 $FNTRACE ctl
refused "ctl -F main" "no process given" 2 $FNTRACE ctl -F main
refused "ctl -p abc" "bad pid 'abc'" 2 $FNTRACE ctl -p abc
refused "ctl -p 12x" "bad pid '12x'" 2 $FNTRACE ctl -p 12x
refused "ctl -p 0" "bad pid '0'" 2 $FNTRACE ctl -p 0
refused "ctl -p -3" "bad pid '-3'" 2 $FNTRACE ctl -p -3
refused "ctl -p 1 extra" "unexpected argument 'extra'" 2 $FNTRACE ctl -p 1 extra
refused "ctl -p 1 --stop -F x" "--stop takes no other change" 2 $FNTRACE ctl -p 1 --stop -F x
refused "ctl -p 1 -D x" "bad depth" 2 $FNTRACE ctl -p 1 -D x
echo "live_errors: ok"
