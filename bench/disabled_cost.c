/*
 * disabled_cost.c - a call tree run N times, for callgrind: the cost of a
 * patch site while tracing is off (issue 3: at most 1 instruction per call).
 */
#include <stdlib.h>

#define NOINL __attribute__((noinline))

NOINL int leaf(int x) { __asm__ volatile(""); return x + 1; }
NOINL int mid(int x) { __asm__ volatile(""); return leaf(x) + leaf(x + 1); }
NOINL int top(int x) { __asm__ volatile(""); return mid(x) + mid(x ^ 3) + leaf(x); }

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000, s = 0;

	/* 8 calls per iteration: top, mid twice, leaf five times. */
	for (long i = 0; i < n; i++)
		s += top((int)i);
	return (int)(s & 1);
}
