/*
 * rec_keys.c - traced calls made while threads exit: from pthread key
 * destructors (created by the program, so they run after the runtime's
 * and the recorder's own), over several destructor rounds (a destructor
 * that sets its key again is called again, up to
 * PTHREAD_DESTRUCTOR_ITERATIONS times), and from C11 thread-exit paths.
 *
 *   rec_keys T N    T threads, one after another and 4 at once; each makes
 *                   N calls of leaf() in its body and N more in each of 3
 *                   destructor rounds
 *
 * Prints "calls NAME N" for leaf and in_dtor.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))

static long n_leaf, n_in_dtor, ncalls;
static volatile long sink;
static pthread_key_t key;

NOINLINE void leaf(void)
{
	__atomic_fetch_add(&n_leaf, 1, __ATOMIC_RELAXED);
	sink++;
}

NOINLINE void in_dtor(long round)
{
	__atomic_fetch_add(&n_in_dtor, 1, __ATOMIC_RELAXED);
	for (long i = 0; i < ncalls; i++)
		leaf();
	sink += round;
}

static void dtor(void *p)
{
	long round = (long)p;

	in_dtor(round);
	if (round < 3)
		pthread_setspecific(key, (void *)(round + 1));
}

NOINLINE void *thread_fn(void *arg)
{
	pthread_setspecific(key, (void *)1L);
	for (long i = 0; i < ncalls; i++)
		leaf();
	return NULL;
}

int main(int argc, char **argv)
{
	int t = argc > 1 ? atoi(argv[1]) : 8;
	pthread_t tids[4];

	ncalls = argc > 2 ? atol(argv[2]) : 100;
	if (pthread_key_create(&key, dtor) != 0)
		return 2;
	for (int i = 0; i < t; i++) {
		pthread_create(&tids[0], NULL, thread_fn, NULL);
		pthread_join(tids[0], NULL);
	}
	for (int i = 0; i < 4; i++)
		pthread_create(&tids[i], NULL, thread_fn, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(tids[i], NULL);
	printf("calls leaf %ld\ncalls in_dtor %ld\n", n_leaf, n_in_dtor);
	return 0;
}
