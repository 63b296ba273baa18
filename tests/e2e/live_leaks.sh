#!/usr/bin/env bash
# live_leaks.sh - recordings of a running process leave nothing behind.
# A small program (built here) runs dormant under 'fntrace run': two
# workers calling traced functions, and a thread that starts a short-lived
# thread every 2 ms (each makes traced calls, some nested, then exits), so
# per-thread state (rings, exit destructors, the threshold's stack of
# entry times) is made and dropped all the time.  LIVE_LEAK_ROUNDS rounds
# (default 1000, about 35-55 s) of 'record -p PID -d 5ms', by turns
# function, function_graph, function_graph -t 1us, and function_graph -D 1
# with 'ctl -F' during the recording, ended by Ctrl-C.  Checked:
#   - the process's memory does not grow with the rounds: VmRSS, VmSize and
#     the number of mappings after the last round against after round 100
#     (the first 100 let glibc's caches of thread stacks and arenas, and
#     the runtime's own one-time allocations, reach their steady size);
#   - its descriptors are the same (count and targets) after the rounds as
#     before the first;
#   - its threads are its own and the agent, and it exits 0.
source "$(cd "$(dirname "$0")" && pwd)/rec_common.bash"

ROUNDS=${LIVE_LEAK_ROUNDS:-1000}
BASE=100
[ "$ROUNDS" -gt "$BASE" ] || fail "LIVE_LEAK_ROUNDS must be more than $BASE"

cat >"$W/leaky.c" <<'EOF'
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
static volatile unsigned long sink;
static volatile int stop;

NOINLINE void leaf(unsigned long x) { sink += x; }
NOINLINE void mid(unsigned long x) { leaf(x); leaf(x + 1); }
NOINLINE void work(unsigned long x) { for (int i = 0; i < 50; i++) mid(x + i); }

static void nap(long ns)
{
	struct timespec ts = { 0, ns };

	nanosleep(&ts, NULL);
}

static void *worker(void *arg)
{
	for (unsigned long i = 0; !stop; i++) {
		work(i);
		nap(100000);
	}
	return NULL;
}

static void *short_lived(void *arg)
{
	work((unsigned long)arg);
	return NULL;
}

static void *churn(void *arg)
{
	for (unsigned long i = 0; !stop; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, short_lived, (void *)i) != 0) {
			perror("pthread_create");
			exit(2);
		}
		pthread_join(t, NULL);
		nap(2000000);
	}
	return NULL;
}

int main(void)
{
	pthread_t w[2], c;
	char b;

	for (int i = 0; i < 2; i++)
		pthread_create(&w[i], NULL, worker, NULL);
	pthread_create(&c, NULL, churn, NULL);
	printf("ready\n");
	fflush(stdout);
	/* Until stdin has a byte or ends. */
	if (read(0, &b, 1) < 0)
		perror("read");
	stop = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(w[i], NULL);
	pthread_join(c, NULL);
	printf("done\n");
	return 0;
}
EOF
clang -O1 -g -fpatchable-function-entry=5 -o "$W/leaky" "$W/leaky.c" -lpthread

PID= RP=
cleanup() {
	[ -n "$RP" ] && kill -KILL "$RP" 2>/dev/null
	[ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null
	exec 3>&- 2>/dev/null
	return 0
}
trap cleanup EXIT
mkfifo "$W/in"
"$FNTRACE" run "$W/leaky" <"$W/in" >"$W/out" 2>"$W/err" &
PID=$!
exec 3>"$W/in"
for i in $(seq 200); do grep -q '^ready$' "$W/out" && break; sleep 0.05; done
expect_grep '^ready$' "$W/out" "the program started"

# status FIELD: a /proc/PID/status field, in kB.
status() { awk -v k="$1:" '$1 == k { print $2 }' /proc/"$PID"/status; }
# fds: the process's descriptors and what each is, one line.
fds() { for f in /proc/"$PID"/fd/*; do echo "${f##*/}=$(readlink "$f")"; done | sort | tr '\n' ' '; }
# snapshot: "RSS SIZE MAPS" now.
snapshot() { echo "$(status VmRSS) $(status VmSize) $(wc -l <"/proc/$PID/maps")"; }

fds0=$(fds)
nfd0=$(ls /proc/"$PID"/fd | wc -l)
note "before: $nfd0 descriptors; VmRSS, VmSize (kB), mappings: $(snapshot)"

t0=$SECONDS
for r in $(seq 1 "$ROUNDS"); do
	data=$W/r.data
	case $((r % 4)) in
	0) args=(--tracer function) ;;
	1) args=(--tracer function_graph) ;;
	2) args=(--tracer function_graph -t 1us) ;;
	3) args=(--tracer function_graph -D 1) ;;
	esac
	if [ $((r % 4)) -eq 3 ]; then
		# With a ctl change in the middle (a second connection), ended
		# by Ctrl-C.
		"$FNTRACE" record -p "$PID" "${args[@]}" -o "$data" 2>"$W/rec.err" &
		RP=$!
		st=
		for i in $(seq 1000); do
			st=$("$FNTRACE" ctl -p "$PID" 2>/dev/null | awk '$1 == "state" { print $2 }')
			[ "$st" = recording ] && break
			kill -0 "$RP" 2>/dev/null || { cat "$W/rec.err"; fail "round $r: record -p ended at once"; }
			sleep 0.01
		done
		[ "$st" = recording ] || fail "round $r: not recording after 10 s"
		"$FNTRACE" ctl -p "$PID" -F 'mid,work' >/dev/null || fail "round $r: ctl -F failed"
		sleep 0.005
		kill -INT "$RP"
		rc=0; wait "$RP" || rc=$?; RP=
	else
		rc=0
		"$FNTRACE" record -p "$PID" "${args[@]}" -d 5ms -o "$data" 2>"$W/rec.err" || rc=$?
	fi
	[ $rc -eq 0 ] || { cat "$W/rec.err"; fail "round $r (${args[*]}): record -p exited with $rc"; }
	if [ -s "$W/rec.err" ]; then cat "$W/rec.err"; fail "round $r (${args[*]}): record -p wrote to stderr"; fi
	if [ $((r % 100)) -eq 0 ]; then
		# A recording that did record (the rounds are not empty).
		"$FNTRACE" report -i "$data" >"$W/report"
		[ "$(calls_of "$W/report" mid)" -gt 0 ] || { cat "$W/report"; fail "round $r: no call of mid"; }
		expect_grep '^state +dormant$' <("$FNTRACE" ctl -p "$PID") "round $r: dormant"
		snap=$(snapshot)
		note "after round $r ($((SECONDS - t0)) s): $snap"
		if [ "$r" -eq "$BASE" ]; then base=$snap; fi
	fi
done
last=$(snapshot)
read -r rss0 size0 maps0 <<<"$base"
read -r rss1 size1 maps1 <<<"$last"
note "round $BASE -> $ROUNDS: VmRSS $rss0 -> $rss1 kB, VmSize $size0 -> $size1 kB, mappings $maps0 -> $maps1"
# The slack.  RSS moves with what the threads touch (a stack page more or
# less, pages of libc or of the program faulted in late): 256 kB, 64
# pages, where the threshold's stack of entry times, left mapped by every
# thread that exited (fixed), added 3.5 MB here, a page a round.  VmSize
# and the mappings move only if something is mapped for good, or the heap
# grows (malloc's steps are 128 kB and more): 1 MB and 4 mappings.  Runs
# here (with other tests loading the machine) showed no change at all
# from round 100 on.
[ $((rss1 - rss0)) -le 256 ] || fail "VmRSS grew by $((rss1 - rss0)) kB in $((ROUNDS - BASE)) rounds"
[ $((size1 - size0)) -le 1024 ] || fail "VmSize grew by $((size1 - size0)) kB in $((ROUNDS - BASE)) rounds"
[ $((maps1 - maps0)) -le 4 ] || fail "mappings grew by $((maps1 - maps0)) in $((ROUNDS - BASE)) rounds"
expect_eq "$(ls /proc/"$PID"/fd | wc -l)" "$nfd0" "descriptors after the rounds"
expect_eq "$(fds)" "$fds0" "descriptors (and what they are) after the rounds"
# Its threads: main, 2 workers, the churner, maybe one short-lived, the agent.
# (A short-lived thread may be gone before its comm is read.)
n=$( (cat /proc/"$PID"/task/*/comm 2>/dev/null || true) | grep -c '^fntrace-agent$')
expect_eq "$n" 1 "agent threads"
nt=$(ls /proc/"$PID"/task | wc -l)
[ "$nt" -ge 5 ] && [ "$nt" -le 6 ] || fail "$nt threads after the rounds (5 or 6 expected)"

echo q >&3
exec 3>&-
rc=0; wait "$PID" || rc=$?; PID=
expect_eq "$rc" 0 "the program's exit status"
expect_grep '^done$' "$W/out" "the program finished"
if [ -s "$W/err" ]; then cat "$W/err"; fail "the program wrote to stderr"; fi
echo "live_leaks: ok ($ROUNDS rounds in $((SECONDS - t0)) s)"
