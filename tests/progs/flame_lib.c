/*
 * flame_lib.c - the shared library of flame_main.c: lib_work calls
 * lib_inner n times.
 */
static volatile int sink;

__attribute__((noinline)) int lib_inner(int i)
{
	for (int k = 0; k < 100; k++)
		sink += k * i;
	return sink;
}

int lib_work(int n)
{
	int s = 0;

	for (int i = 0; i < n; i++)
		s += lib_inner(i);
	return s;
}
