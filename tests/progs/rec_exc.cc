// rec_exc.cc - C++ exceptions thrown through traced frames, for the
// recording tests: the program must behave as untraced and count its calls.
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#define NOINLINE __attribute__((noinline))

static long n_thrower, n_middle, n_outer, n_caught;

NOINLINE void thrower(long i)
{
	n_thrower++;
	if (i % 2 == 0)
		throw std::runtime_error("even");
}

NOINLINE void middle(long i)
{
	n_middle++;
	thrower(i);
}

NOINLINE long outer(long i)
{
	n_outer++;
	try {
		middle(i);
	} catch (const std::exception &) {
		n_caught++;
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10, sum = 0;

	for (long i = 0; i < n; i++)
		sum += outer(i);
	printf("caught %ld\ncalls thrower %ld\ncalls middle %ld\ncalls outer %ld\n", n_caught,
	       n_thrower, n_middle, n_outer);
	return sum == (n + 1) / 2 ? 0 : 1;
}
