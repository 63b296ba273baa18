/*
 * forms_plugin.c - a library dlopen'ed by forms_main under LD_AUDIT, built
 * with the same entry form as the program.  Its sites are registered (and
 * five 1-byte NOPs converted) in la_objopen, before any of its code runs.
 * p_work(n) calls p_leaf n times and returns the sum of 7i + 3.
 */
#ifdef __clang__
#define NOINL __attribute__((noinline, used))
#else
#define NOINL __attribute__((noinline, noclone, used))
#endif

NOINL long p_leaf(int x) { __asm__ volatile(""); return 7L * x + 3; }

NOINL long p_work(int n)
{
	long s = 0;

	for (int i = 0; i < n; i++)
		s += p_leaf(i);
	return s;
}
