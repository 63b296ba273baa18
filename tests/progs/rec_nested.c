/*
 * rec_nested.c - traced calls made by signal handlers that interrupt the
 * tracer's own hooks.  A sender thread signals the worker threads without
 * pause while they make traced calls in a tight loop, so that most signals
 * land inside a hook (entry or exit) rather than in the traced code; every
 * handler makes traced calls of its own, some of them nested, and some
 * handlers leave with siglongjmp from inside a traced call.
 *
 *   rec_nested T N [jump]   T worker threads, N loop rounds each; with
 *                           jump, every 8th handler in the loop leaves
 *                           with siglongjmp from inside a traced call
 *
 * Prints "calls NAME N" for every traced function.
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
#define MAXT 16

static long n_work, n_leaf, n_in_handler, n_handler_leaf, n_jumper, n_round;
static volatile long sink;
static volatile int done, started, finished, release;
static pthread_t workers[MAXT];
static int nworkers, jumps;
static long ncalls;
static __thread sigjmp_buf env;
static __thread volatile int armed, nsig;
static volatile int handled[MAXT];
static __thread int self;

NOINLINE void handler_leaf(void)
{
	__atomic_fetch_add(&n_handler_leaf, 1, __ATOMIC_RELAXED);
	sink++;
}

NOINLINE void jumper(void)
{
	__atomic_fetch_add(&n_jumper, 1, __ATOMIC_RELAXED);
	handler_leaf();
	/* Leaves the handler, its frames and the hook it interrupted. */
	siglongjmp(env, 1);
}

NOINLINE void in_handler(int deep)
{
	__atomic_fetch_add(&n_in_handler, 1, __ATOMIC_RELAXED);
	handler_leaf();
	if (deep)
		in_handler(deep - 1);
	handler_leaf();
}

static void on_signal(int sig)
{
	__atomic_fetch_add(&handled[self], 1, __ATOMIC_RELAXED);
	in_handler(++nsig & 3);
	if (jumps && armed && (nsig & 7) == 0)
		jumper();
}

NOINLINE void leaf(void)
{
	__atomic_fetch_add(&n_leaf, 1, __ATOMIC_RELAXED);
	sink++;
}

NOINLINE void round_(void)
{
	__atomic_fetch_add(&n_round, 1, __ATOMIC_RELAXED);
	leaf();
	leaf();
}

NOINLINE void *work(void *arg)
{
	long n = ncalls;

	self = (int)(long)arg;
	__atomic_fetch_add(&n_work, 1, __ATOMIC_RELAXED);
	/* The signals start once every worker has its ring: a handler's call
	 * that interrupts a hook while its thread takes its first ring is
	 * lost (counted), the writer being half made. */
	__atomic_fetch_add(&started, 1, __ATOMIC_RELEASE);
	for (volatile long i = 0; i < n; i++) {
		if (sigsetjmp(env, 1) == 0) {
			armed = 1;
			round_();
		}
		armed = 0;
	}
	/* Signals still on the way land here, not in the thread's exit (where
	 * calls made after the thread's last destructor round are lost). */
	__atomic_fetch_add(&finished, 1, __ATOMIC_RELAXED);
	while (!__atomic_load_n(&release, __ATOMIC_ACQUIRE))
		sched_yield();
	return NULL;
}

/* One signal pending per worker at a time (more would merge): the next
 * goes once the last has been taken, or after a while. */
static void *sender(void *arg)
{
	int last[MAXT] = { 0 };

	while (!__atomic_load_n(&done, __ATOMIC_RELAXED))
		for (int i = 0; i < nworkers; i++) {
			for (int spin = 0; spin < 20000; spin++)
				if (__atomic_load_n(&handled[i], __ATOMIC_RELAXED) != last[i])
					break;
			last[i] = __atomic_load_n(&handled[i], __ATOMIC_RELAXED);
			pthread_kill(workers[i], SIGUSR1);
		}
	return NULL;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	pthread_t s;

	nworkers = argc > 1 ? atoi(argv[1]) : 2;
	ncalls = argc > 2 ? atol(argv[2]) : 100000;
	jumps = argc > 3;
	if (nworkers < 1 || nworkers > MAXT)
		return 2;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	for (int i = 0; i < nworkers; i++)
		pthread_create(&workers[i], NULL, work, (void *)(long)i);
	while (__atomic_load_n(&started, __ATOMIC_ACQUIRE) < nworkers)
		usleep(1000);
	pthread_create(&s, NULL, sender, NULL);
	while (__atomic_load_n(&finished, __ATOMIC_RELAXED) < nworkers)
		usleep(1000);
	__atomic_store_n(&done, 1, __ATOMIC_RELAXED);
	pthread_join(s, NULL);
	usleep(10000);
	__atomic_store_n(&release, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < nworkers; i++)
		pthread_join(workers[i], NULL);
	printf("calls work %ld\ncalls round_ %ld\ncalls leaf %ld\n", n_work, n_round, n_leaf);
	printf("calls in_handler %ld\ncalls handler_leaf %ld\ncalls jumper %ld\n", n_in_handler,
	       n_handler_leaf, n_jumper);
	return 0;
}
