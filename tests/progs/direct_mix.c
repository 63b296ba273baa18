/*
 * direct_mix.c - the recorder's direct path and the general one, mixed in
 * one recording.  While `fntrace record` records every function, this
 * program registers ops of its own on some of them now and then: those
 * sites are then wanted by two ops and go through the general path, the
 * others stay on the recorder's direct path, and a site moves between the
 * two while threads call it.  The recording must still count every call
 * exactly, and the program's ops every call made while it was registered.
 *
 *   direct_mix ROUNDS THREADS
 *
 * Prints "calls NAME N" for the report to match, and "ops entries N exits
 * N" with the counts the program's ops must have seen.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "fntrace.h"

#define NOINLINE __attribute__((noinline))

static _Atomic long n_leaf, n_mid, n_top, n_tail, n_worker;
static _Atomic long ops_entries, ops_exits;
static _Atomic int stop;
static volatile long sink;

NOINLINE void leaf(void) { n_leaf++; sink++; }
NOINLINE void mid(void) { n_mid++; leaf(); leaf(); }
/* Ends with a tail call (at -O2): the frame shares its slot with mid's. */
NOINLINE void tail(void) { n_tail++; sink++; mid(); }
NOINLINE void top(void) { n_top++; mid(); tail(); }

static int on_entry(const struct fnt_call *c, void *d)
{
	ops_entries++;
	return 0;
}

static void on_exit_cb(const struct fnt_call *c, void *d)
{
	ops_exits++;
}

NOINLINE void *worker(void *arg)
{
	n_worker++;
	while (!stop)
		top();
	return NULL;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 50, nthreads = argc > 2 ? atoi(argv[2]) : 2;
	struct fnt_ops ops = { .filter = "mid,leaf", .entry = on_entry, .exit = on_exit_cb };
	pthread_t th[16];
	long before_entries;

	if (nthreads > 16)
		nthreads = 16;
	for (int i = 0; i < nthreads; i++)
		pthread_create(&th[i], NULL, worker, NULL);
	for (int r = 0; r < rounds; r++) {
		/* mid and leaf go to the general path and back while the
		 * workers call them. */
		if (fnt_register_ops(&ops) != 0) {
			printf("FAILED: fnt_register_ops\n");
			return 1;
		}
		for (int i = 0; i < 200; i++)
			top();
		if (fnt_unregister_ops(&ops) != 0) {
			printf("FAILED: fnt_unregister_ops\n");
			return 1;
		}
		for (int i = 0; i < 200; i++)
			top();
	}
	stop = 1;
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	/* With the ops gone, a last call of each goes the direct way only. */
	before_entries = ops_entries;
	top();
	if (ops_entries != before_entries) {
		printf("FAILED: an unregistered ops was called\n");
		return 1;
	}
	/* Exits of calls in flight when the ops went are not its to see
	 * (fnt_unregister_ops), so the exits may fall short of the entries. */
	printf("ops entries %ld exits %ld\n", (long)ops_entries, (long)ops_exits);
	printf("calls leaf %ld\ncalls mid %ld\ncalls tail %ld\ncalls top %ld\ncalls worker %ld\n",
	       (long)n_leaf, (long)n_mid, (long)n_tail, (long)n_top, (long)n_worker);
	return ops_entries > 0 && ops_exits > 0 && ops_exits <= ops_entries ? 0 : 1;
}
