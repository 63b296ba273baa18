/*
 * demo.c - the example fntrace traces: a few threads compute, and one of
 * them loads a plugin with dlopen and calls into it.
 *
 * Build: clang -fpatchable-function-entry=5 (see examples/demo.sh).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static int fib(int n)
{
	return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

__attribute__((noinline)) static long square(long x)
{
	return x * x;
}

__attribute__((noinline)) static long sum_squares(int n)
{
	long s = 0;

	for (int i = 0; i < n; i++)
		s += square(i);
	return s;
}

static void *worker(void *arg)
{
	long id = (long)arg;
	long r = sum_squares(10 + (int)id) + fib(8 + (int)id);

	return (void *)r;
}

static long use_plugin(const char *path)
{
	void *h = dlopen(path, RTLD_NOW);
	long (*transform)(long);
	long r;

	if (!h) {
		fprintf(stderr, "demo: %s\n", dlerror());
		return -1;
	}
	transform = (long (*)(long))dlsym(h, "plugin_transform");
	r = transform ? transform(21) : -1;
	dlclose(h);
	return r;
}

int main(int argc, char **argv)
{
	pthread_t t[3];
	long total = 0;

	for (long i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (int i = 0; i < 3; i++) {
		void *r;

		pthread_join(t[i], &r);
		total += (long)r;
	}
	total += use_plugin(argc > 1 ? argv[1] : "./plugin.so");
	printf("demo: total %ld\n", total);
	return 0;
}
