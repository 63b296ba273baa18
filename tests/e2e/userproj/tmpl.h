#include <string>
#include <vector>
template <class T> __attribute__((noinline)) T tmpl_twice(T x) { asm volatile(""); return x + x; }
inline __attribute__((noinline)) int tmpl_inline(int x) { asm volatile(""); return x + 1; }
int tmpl_other(int n);
