#include "work.h"
__attribute__((noinline)) int work_add(int a, int b) { __asm__ volatile(""); return a + b; }
__attribute__((noinline)) int work_twice(int a) { __asm__ volatile(""); return work_add(a, a); }
