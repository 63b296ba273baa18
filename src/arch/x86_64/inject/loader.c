/*
 * loader.c - the code fntrace runs in a process it attaches to, built
 * freestanding (no libc, no relocations) into a blob that inject.h's area
 * holds.  It runs on two threads, neither of them the program's:
 *
 *   R  a raw thread the hijacked thread makes with one clone syscall, on
 *      the area's stack and TLS.  It asks the program's libc for a real
 *      thread (pthread_create, which may wait for a lock another thread
 *      holds, and then merely waits) and ends.
 *   N  that real thread: names itself, blocks every signal, dlopen()s the
 *      runtime and hands the area to it.
 *
 * So the hijacked thread runs two raw syscalls (mmap, clone) and goes on;
 * every lock the loading takes is taken on a thread that holds none, and a
 * lock held by an interrupted thread can only delay it (the malloc
 * deadlock of injecting with dlopen on the hijacked thread cannot happen).
 */
#include <stddef.h>
#include <stdint.h>

#include "arch/x86_64/inject/inject.h"

#define SYS_mprotect 10
#define SYS_rt_sigprocmask 14
#define SYS_exit 60
#define SYS_gettid 186
#define SYS_futex 202
#define SYS_prctl 157
#define PR_SET_NAME 15
#define FUTEX_WAKE 1
#define RTLD_NOW 2

static long sys(long nr, long a, long b, long c, long d)
{
	long ret;
	register long r10 __asm__("r10") = d;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10)
			 : "rcx", "r11", "memory");
	return ret;
}

static void set_state(struct fnt_inj_params *p, uint32_t s)
{
	__atomic_store_n(&p->state, s, __ATOMIC_RELEASE);
	sys(SYS_futex, (long)&p->state, FUTEX_WAKE, 0x7fffffff, 0);
}

static void copy(char *dst, const char *src, size_t cap)
{
	size_t i = 0;

	for (; src && src[i] && i + 1 < cap; i++)
		dst[i] = src[i];
	dst[i] = 0;
}

typedef void *(*dlopen_fn)(const char *, int);
typedef char *(*dlerror_fn)(void);
typedef void *(*dlsym_fn)(void *, const char *);
typedef void (*done_fn)(struct fnt_inj_params *);
typedef int (*create_fn)(uint64_t *, const void *, void *(*)(void *), void *);

/* N: a thread of the program's libc, holding no lock. */
static void *n_main(void *arg)
{
	struct fnt_inj_params *p = arg;
	uint64_t all = ~0ull;
	static const char name[] = FNT_INJ_THREAD_NAME;
	static const char sym[] = FNT_INJ_DONE_SYM;
	void *h;
	done_fn done;

	/* No signal of the program's lands on this thread. */
	sys(SYS_rt_sigprocmask, 0 /* SIG_BLOCK */, (long)&all, 0, 8);
	sys(SYS_prctl, PR_SET_NAME, (long)name, 0, 0);
	__atomic_store_n(&p->n_tid, (int32_t)sys(SYS_gettid, 0, 0, 0, 0), __ATOMIC_RELAXED);
	h = ((dlopen_fn)p->dlopen)(p->path, RTLD_NOW);
	if (!h) {
		copy(p->err, ((dlerror_fn)p->dlerror)(), sizeof(p->err));
		set_state(p, FNT_INJ_FAILED);
		return NULL;
	}
	set_state(p, FNT_INJ_LOADED);
	done = (done_fn)((dlsym_fn)p->dlsym)(h, sym);
	if (!done) {
		copy(p->err, "the runtime has no " FNT_INJ_DONE_SYM, sizeof(p->err));
		set_state(p, FNT_INJ_FAILED);
		return NULL;
	}
	/* From here the runtime owns the area: it joins this thread before
	 * it unmaps it, so returning through this code is safe. */
	done(p);
	return NULL;
}

/* R: on the area's stack, with the area's TCB (see attach.c). */
__attribute__((used)) static void r_main(struct fnt_inj_params *p)
{
	int e;

	__atomic_store_n(&p->state, FNT_INJ_STARTED, __ATOMIC_RELEASE);
	e = ((create_fn)p->pthread_create)(&p->n_thread, NULL, n_main, p);
	if (e) {
		p->err_code = e;
		copy(p->err, "pthread_create failed in the target", sizeof(p->err));
		set_state(p, FNT_INJ_FAILED);
	} else {
		uint32_t was = FNT_INJ_STARTED;

		/* Only if N has not said more already. */
		__atomic_compare_exchange_n(&p->state, &was, FNT_INJ_CREATED, 0, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED);
	}
	/* A raw exit of this thread only; the kernel clears r_tid. */
	sys(SYS_exit, 0, 0, 0, 0);
	for (;;)
		;
}

/*
 * The entry, first in the blob: R starts here by the return of the
 * `syscall; ret` it was cloned at, with the parameters in %r9 (the clone
 * syscall does not use it, and the child gets the parent's registers).
 */
__asm__(".section .text.entry, \"ax\"\n"
	".globl fnt_inj_entry\n"
	"fnt_inj_entry:\n"
	"	movq %r9, %rdi\n"
	"	andq $-16, %rsp\n"
	"	call r_main\n"
	"	ud2\n"
	".previous\n");
