/* harm_lib.c - a library whose destructor calls back into the executable. */
static void (*cb)(void);
void harm_lib_set(void (*fn)(void)) { cb = fn; }
__attribute__((destructor)) static void fini(void)
{
	for (int i = 0; i < 1000; i++)
		if (cb)
			cb();
}
