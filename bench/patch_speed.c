/*
 * patch_speed.c - how long enabling and then disabling every site takes,
 * in a program of many functions (issue 3: at most 20 ms each for 100,000).
 * Prints medians, min and max over RUNS runs, in milliseconds.
 *
 * usage: patch_speed RUNS [FILTER]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fntrace.h"

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 5;
	const char *filter = argc > 2 ? argv[2] : NULL;
	double *en = calloc((size_t)runs, sizeof(double)), *dis = calloc((size_t)runs, sizeof(double));
	struct fnt_status st;

	for (int r = 0; r < runs; r++) {
		double t0 = now_ms();

		if (fnt_enable(filter))
			return 1;
		en[r] = now_ms() - t0;
		if (r == 0)
			fnt_status(&st);
		t0 = now_ms();
		if (fnt_disable(filter))
			return 1;
		dis[r] = now_ms() - t0;
	}
	qsort(en, (size_t)runs, sizeof(double), cmp);
	qsort(dis, (size_t)runs, sizeof(double), cmp);
	printf("sites=%lu enabled=%lu runs=%d enable_ms median=%.2f min=%.2f max=%.2f "
	       "disable_ms median=%.2f min=%.2f max=%.2f\n", (unsigned long)st.sites,
	       (unsigned long)st.enabled, runs, en[runs / 2], en[0], en[runs - 1], dis[runs / 2],
	       dis[0], dis[runs - 1]);
	return 0;
}
