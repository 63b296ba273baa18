/*
 * api_user.c - a program that uses the C API, built with the flags that
 * `pkg-config --cflags --libs fntrace` and `fntrace cflags` give (the
 * install test): it counts its own calls, as rec_calls.c does, and asks the
 * runtime for its status.
 */
#include <fntrace.h>
#include <stdio.h>
#include <stdlib.h>

static volatile long sink;
static long n_leaf;

__attribute__((noinline)) void leaf(void)
{
	n_leaf++;
	sink++;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10;
	struct fnt_status st;
	int err = fnt_status(&st);

	if (err) {
		fprintf(stderr, "fnt_status: %s\n", fnt_strerror(err));
		return 1;
	}
	for (long i = 0; i < n; i++)
		leaf();
	printf("calls leaf %ld\n", n_leaf);
	return 0;
}
