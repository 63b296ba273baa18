/* Calls main_step 100 times, work_twice 100 times (libwork.so), and so
 * work_add 100 times. */
#include <stdio.h>
#include "work.h"
__attribute__((noinline)) static int main_step(int i) { __asm__ volatile(""); return work_twice(i); }
int main(void)
{
	int s = 0;
	for (int i = 0; i < 100; i++)
		s += main_step(i);
	printf("sum %d\n", s);
	return s != 9900;
}
