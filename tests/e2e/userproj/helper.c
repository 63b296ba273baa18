/* A generator a build runs: 7 calls of helper_line. */
#include <stdio.h>
__attribute__((noinline)) static void helper_line(int i) { __asm__ volatile(""); printf("#define N%d %d\n", i, i * i); }
int main(void)
{
	for (int i = 0; i < 7; i++)
		helper_line(i);
	return 0;
}
