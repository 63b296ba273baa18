/*
 * sys.h - raw system calls for the runtime's own use.
 *
 * The runtime never calls syscall(3) for itself: that name is the
 * program's to define, and fntrace interposes it (signals.c), so a call
 * through it could run the program's code or ours from a hook.  These go
 * straight to the kernel: no libc, no errno, no vector register, safe in
 * a signal handler and before any constructor.  They return the kernel's
 * result: a value, or -errno.  This is the one piece of code below arch/
 * that depends on the processor: the syscall instruction and its ABI.
 */
#ifndef FNT_UTIL_SYS_H
#define FNT_UTIL_SYS_H

#if !defined(__x86_64__)
#error "fntrace's raw system calls are written for x86-64"
#endif

static inline long fnt__sys6(long nr, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

#define FNT_SYS_PAD(nr, a, b, c, d, e, f, ...)                                           \
	fnt__sys6((long)(nr), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))
/* fnt__sys(nr, args...): up to six arguments, the rest zero. */
#define fnt__sys(...) FNT_SYS_PAD(__VA_ARGS__, 0, 0, 0, 0, 0, 0, 0)

#endif
