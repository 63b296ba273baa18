/*
 * callbench.c - the benchmark workload: a call tree of 7 traced calls per
 * iteration, in 1 or more threads.  Prints ns per call measured inside the
 * program (startup and the recorder's final drain are not counted): the
 * thread CPU time per call, averaged over the threads, which a busy machine
 * does not inflate the way it inflates wall time; and the wall time.
 *
 *   callbench ITERATIONS [THREADS]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NOINLINE __attribute__((noinline))

/* Per thread: a shared counter would make the threads contend on its cache
 * line, and the benchmark would measure that rather than the tracer. */
static __thread volatile long sink;

NOINLINE void c(void) { sink++; }
NOINLINE void b(void) { c(); c(); }
NOINLINE void a(void) { b(); b(); }

static long iters;
static double cpu_ns[64];

static void *run(void *arg)
{
	struct timespec t0, t1;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	for (long i = 0; i < iters; i++)
		a();	/* a, 2 b, 4 c: 7 calls */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
	cpu_ns[(long)arg] = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
	return NULL;
}

int main(int argc, char **argv)
{
	int nthreads = argc > 2 ? atoi(argv[2]) : 1;
	pthread_t t[64];
	struct timespec t0, t1;
	double ns, cpu = 0;

	iters = argc > 1 ? atol(argv[1]) : 1000000;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, run, (void *)(long)i);
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
	for (int i = 0; i < nthreads; i++)
		cpu += cpu_ns[i] / nthreads;
	/* Per call, per thread. */
	printf("%.2f ns/call (wall %.2f)\n", cpu / (iters * 7.0), ns / (iters * 7.0));
	return 0;
}
