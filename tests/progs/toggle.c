/*
 * toggle.c - toggling under load.  Worker threads call traced functions
 * in tight loops while the main thread enables and disables them N times.
 * Checks: the workers' results equal the untraced run, the callback fires
 * only for sites in the enabled set (t_*, never n_*), and after the last
 * disable no callback fires at all.
 *
 * usage: toggle ROUNDS THREADS [needtraps|exits]
 *   needtraps: go on past ROUNDS (up to 100 times as many) until some
 *   thread has hit an int3 in flight and a callback has run, so that a
 *   loaded machine cannot make the trap-race test pass without a race,
 *   nor fail for want of a worker that ran while a site was enabled.
 *   exits: the tracer has an exit callback too, and every other round it
 *   is set again without one, so that exit sites (a build with them) are
 *   enabled and disabled under load as well: exits fire only for t_*,
 *   never more than entries, and nothing fires after the end.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fntrace.h"

#define NOINL __attribute__((noinline))

NOINL int t_a(int x) { __asm__ volatile(""); return x * 3 + 1; }
NOINL int t_b(int x) { __asm__ volatile(""); return t_a(x) ^ (x >> 1); }
NOINL int t_c(int x) { __asm__ volatile(""); return t_b(x) + t_a(x + 1); }
NOINL int n_x(int x) { __asm__ volatile(""); return x - 7; }

static _Atomic long hits, bad, exits;
static _Atomic int stop;

static int is_site_of(uintptr_t ip, void *fn)
{
	/* The site is the function's first byte, or follows endbr64. */
	return ip == (uintptr_t)fn || ip == (uintptr_t)fn + 4;
}

/* Is the call one of t_*'s, the enabled set? */
static int in_set(const struct fnt_call *c)
{
	return is_site_of(c->ip, (void *)t_a) || is_site_of(c->ip, (void *)t_b) ||
	       is_site_of(c->ip, (void *)t_c);
}

static int on_entry(const struct fnt_call *c, void *data)
{
	if (in_set(c))
		hits++;
	else
		bad++;
	return 0;
}

static void on_exit_cb(const struct fnt_call *c, void *data)
{
	if (in_set(c))
		exits++;
	else
		bad++;
}

static uint64_t work(long iters)
{
	uint64_t s = 0;

	for (long i = 0; i < iters; i++)
		s = s * 31 + (uint64_t)t_c((int)i) + (uint64_t)n_x((int)i);
	return s;
}

struct worker {
	pthread_t th;
	long iters;
	uint64_t result, expect;
	_Atomic long rounds;
};

static void *run(void *arg)
{
	struct worker *w = arg;

	while (!stop) {
		uint64_t r = work(w->iters);

		if (r != w->expect)
			w->result = r;	/* remembered: a wrong result */
		w->rounds++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 10000;
	int nthreads = argc > 2 ? atoi(argv[2]) : 2;
	int need_traps = argc > 3 && !strcmp(argv[3], "needtraps"), base_rounds = rounds;
	int with_exits = argc > 3 && !strcmp(argv[3], "exits");
	struct worker *w = calloc((size_t)nthreads + 1, sizeof(*w));
	struct fnt_status st;
	uint64_t expect = work(1000);
	long before;
	int ret;

	ret = fnt_set_builtin_tracer(on_entry, with_exits ? on_exit_cb : NULL, NULL);
	if (ret) {
		fprintf(stderr, "set_builtin_tracer: %s\n", fnt_strerror(ret));
		return 1;
	}
	for (int i = 0; i < nthreads; i++) {
		w[i].iters = 1000;
		w[i].expect = w[i].result = expect;
		pthread_create(&w[i].th, NULL, run, &w[i]);
	}
	/* Every worker is running before the first toggle. */
	for (int i = 0; i < nthreads; i++)
		while (w[i].rounds < 1)
			;
	for (int r = 0; r < rounds; r++) {
		if (need_traps && r == rounds - 1 && rounds < 100 * base_rounds) {
			/* On a loaded machine the workers may not have run
			 * while a site was enabled yet: go on for that too. */
			fnt_status(&st);
			if (!st.traps || !hits)
				rounds += 2;
		}
		if (with_exits)
			ret = fnt_set_builtin_tracer(on_entry, r & 1 ? NULL : on_exit_cb, NULL);
		if (!ret)
			ret = fnt_enable("t_*");
		if (!ret)
			ret = fnt_disable(r & 1 ? "t_*" : NULL);
		if (ret) {
			fprintf(stderr, "round %d: %s\n", r, fnt_strerror(ret));
			return 1;
		}
	}
	/* Everything is a NOP again: no callback may fire from here on. */
	before = hits + bad + exits;
	for (int i = 0; i < nthreads; i++) {
		long r0 = w[i].rounds;

		while (w[i].rounds < r0 + 2)
			;
	}
	stop = 1;
	for (int i = 0; i < nthreads; i++)
		pthread_join(w[i].th, NULL);
	fnt_status(&st);
	printf("rounds=%d threads=%d hits=%ld exits=%ld bad=%ld after_disable=%ld enabled=%lu "
	       "batches=%lu traps=%lu\n", rounds, nthreads, (long)hits, (long)exits, (long)bad,
	       (long)(hits + bad + exits - before),
	       (unsigned long)st.enabled, (unsigned long)st.batches, (unsigned long)st.traps);
	for (int i = 0; i < nthreads; i++)
		if (w[i].result != expect) {
			printf("worker %d computed a wrong result\n", i);
			return 1;
		}
	if (bad || hits == 0 || hits + bad + exits != before || st.enabled || st.disabled ||
	    (with_exits && (exits == 0 || exits > hits))) {
		printf("FAILED\n");
		return 1;
	}
	printf("OK\n");
	return 0;
}
