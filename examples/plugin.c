/*
 * plugin.c - a library the demo loads with dlopen: its functions are
 * traced too, from the moment it is loaded until it is unloaded.
 */
__attribute__((noinline)) static long twice(long x)
{
	return 2 * x;
}

long plugin_transform(long x)
{
	return twice(x) + 1;
}
