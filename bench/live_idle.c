/*
 * live_idle.c - a dormant program for bench/live.sh's idle-agent figure:
 * it sleeps, or works (calls traced functions), for SECONDS, then exits.
 *
 *   live_idle SECONDS sleep|work
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static volatile long sink;

NOINLINE void leaf(void) { sink++; }
NOINLINE void mid(void) { leaf(); leaf(); }

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 10, end = now_s() + secs;

	if (argc > 2 && strcmp(argv[2], "work") == 0) {
		while (now_s() < end)
			for (int i = 0; i < 1000000; i++)
				mid();
		return 0;
	}
	while (now_s() < end) {
		double left = end - now_s();
		struct timespec ts = { (time_t)left, (long)((left - (time_t)left) * 1e9) };

		nanosleep(&ts, NULL);
	}
	return 0;
}
