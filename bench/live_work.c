/*
 * live_work.c - the workload of bench/live.sh: a call tree of 7 traced
 * calls per iteration (a -> 2 b -> 4 c), one thread.
 *
 *   live_work ITERATIONS [wait]
 *
 * With "wait" it first reads one byte from stdin (bench/live.sh writes
 * "go" once 'fntrace record -p' is recording), so that the timed loop runs
 * wholly inside the recording.  Prints the loop's own time per call:
 *
 *   ns/call wall W cpu C calls N
 *
 * (CLOCK_MONOTONIC and CLOCK_THREAD_CPUTIME_ID around the loop only;
 * start-up, patching and the recorder's final drain are outside it).
 * Also the program of the callgrind figure: run with ITERATIONS N and N/2,
 * the difference is 7 * N/2 calls and nothing else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static volatile long sink;

NOINLINE void c(void) { sink++; }
NOINLINE void b(void) { c(); c(); }
NOINLINE void a(void) { b(); b(); }

static double ns_of(const struct timespec *t0, const struct timespec *t1)
{
	return (t1->tv_sec - t0->tv_sec) * 1e9 + (t1->tv_nsec - t0->tv_nsec);
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 1000000;
	struct timespec w0, w1, c0, c1;
	char go[8];

	if (argc > 2 && read(0, go, 1) != 1)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &w0);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	for (long i = 0; i < iters; i++)
		a();
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
	clock_gettime(CLOCK_MONOTONIC, &w1);
	printf("ns/call wall %.3f cpu %.3f calls %ld\n", ns_of(&w0, &w1) / (iters * 7.0),
	       ns_of(&c0, &c1) / (iters * 7.0), iters * 7);
	return 0;
}
