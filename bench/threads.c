/*
 * threads.c - many short-lived threads, for the reader-at-scale benchmark
 * (bench/reader_scale.sh, issue 9 item 10): T threads started and joined
 * in batches of B, each making CALLS calls of work() (which calls leaf()
 * once), so a trace holds T streams of a few events each.
 *
 *   threads T [B [CALLS]]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))

static volatile long sink;
static long calls = 3;

NOINLINE void leaf(void)
{
	sink++;
}

NOINLINE void work(void)
{
	leaf();
}

NOINLINE void *thread_fn(void *arg)
{
	for (long i = 0; i < calls; i++)
		work();
	return arg;
}

int main(int argc, char **argv)
{
	long t = argc > 1 ? atol(argv[1]) : 100000;
	long b = argc > 2 ? atol(argv[2]) : 64;
	pthread_t *th;

	if (argc > 3)
		calls = atol(argv[3]);
	if (b < 1)
		b = 1;
	th = calloc((size_t)b, sizeof(*th));
	if (!th)
		return 1;
	for (long done = 0; done < t;) {
		long n = t - done < b ? t - done : b;

		for (long i = 0; i < n; i++)
			if (pthread_create(&th[i], NULL, thread_fn, NULL)) {
				perror("pthread_create");
				return 1;
			}
		for (long i = 0; i < n; i++)
			pthread_join(th[i], NULL);
		done += n;
	}
	printf("threads %ld calls %ld\n", t, t * calls);
	return 0;
}
