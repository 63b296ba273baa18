/*
 * rec_threads.c - many threads traced at once, for the recording tests of
 * resource limits (a small /dev/shm, few rings).
 *
 *   rec_threads T N [STATUS]
 *
 * T threads are all alive at the same time (each waits at a barrier after
 * its first traced call, so every one of them holds a ring, or tried to,
 * before any exits); each makes N calls of leaf().  The program prints
 * "calls NAME N" for thread_fn and leaf, and exits with STATUS (default 0),
 * so a test can tell the program's own exit from a death under tracing.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))

static long n_leaf, n_thread_fn;
static volatile long sink;
static pthread_barrier_t bar;

NOINLINE void leaf(void)
{
	__atomic_fetch_add(&n_leaf, 1, __ATOMIC_RELAXED);
	sink++;
}

NOINLINE void *thread_fn(void *arg)
{
	long n = (long)arg;

	__atomic_fetch_add(&n_thread_fn, 1, __ATOMIC_RELAXED);
	leaf();
	pthread_barrier_wait(&bar);
	for (long i = 1; i < n; i++)
		leaf();
	return NULL;
}

int main(int argc, char **argv)
{
	int t = argc > 1 ? atoi(argv[1]) : 8;
	long n = argc > 2 ? atol(argv[2]) : 1000;
	int status = argc > 3 ? atoi(argv[3]) : 0;
	pthread_t *tids = calloc(t, sizeof(*tids));
	pthread_attr_t attr;

	if (!tids || t < 1 || n < 1)
		return 2;
	pthread_barrier_init(&bar, NULL, t);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 << 10);
	for (int i = 0; i < t; i++)
		if (pthread_create(&tids[i], &attr, thread_fn, (void *)n) != 0) {
			perror("pthread_create");
			return 2;
		}
	for (int i = 0; i < t; i++)
		pthread_join(tids[i], NULL);
	printf("calls thread_fn %ld\ncalls leaf %ld\n", n_thread_fn, n_leaf);
	return status;
}
