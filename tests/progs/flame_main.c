/*
 * flame_main.c - a program whose calls go into a shared library of its
 * own (flame_lib.c), for the flame graph's colours by object
 * (tests/e2e/flamegraph.sh): main -> prog_a -> lib_work -> lib_inner,
 * and main -> prog_b, N rounds.
 */
#include <stdio.h>
#include <stdlib.h>

int lib_work(int n);

static volatile int sink;

__attribute__((noinline)) static void prog_b(int i)
{
	for (int k = 0; k < 200; k++)
		sink += k ^ i;
}

__attribute__((noinline)) static void prog_a(int i)
{
	sink += lib_work(i % 3 + 1);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10;

	for (int i = 0; i < n; i++) {
		prog_a(i);
		prog_b(i);
	}
	printf("done %d\n", sink & 1);
	return 0;
}
