/*
 * signals.c - keeping SIGTRAP ours and deliverable (seeds 002 and 004).
 *
 * An int3 in a thread that blocks SIGTRAP makes the kernel kill the
 * process.  So the trap handler must be reachable from every thread, in
 * every state, before the first int3 is written:
 *
 *   - sigprocmask, pthread_sigmask and pthread_attr_setsigmask_np are
 *     interposed and never block SIGTRAP;
 *   - sigaction and signal are interposed: a handler's sa_mask never holds
 *     SIGTRAP, and the program's own SIGTRAP handler is chained behind ours
 *     rather than swapped in (it sees exactly the traps that are not ours);
 *   - our handler runs with SA_NODEFER, so a traced function called from a
 *     SIGTRAP handler can trap again;
 *   - before every batch the arch layer reads each thread's blocked mask
 *     from /proc (raw syscalls bypass the wrappers) and refuses to write an
 *     int3 that could kill.
 */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "arch/arch.h"
#include "runtime/runtime.h"
#include "util/log.h"
#include "util/sys.h"

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);
typedef int (*sigmask_fn)(int, const sigset_t *, sigset_t *);
typedef int (*attrmask_fn)(pthread_attr_t *, const sigset_t *);

static sigaction_fn real_sigaction;
static sigmask_fn real_sigprocmask, real_pthread_sigmask;
static attrmask_fn real_attr_setsigmask;

/* The program's SIGTRAP disposition, as it believes it set it. */
static struct sigaction user;
static int user_set;
static _Atomic int user_lock;
static int installed;

static void resolve_late(void);

static void resolve(void)
{
	if (real_sigaction)
		return;
	real_sigprocmask = (sigmask_fn)dlsym(RTLD_NEXT, "sigprocmask");
	real_pthread_sigmask = (sigmask_fn)dlsym(RTLD_NEXT, "pthread_sigmask");
	real_attr_setsigmask = (attrmask_fn)dlsym(RTLD_NEXT, "pthread_attr_setsigmask_np");
	resolve_late();
	/* release: the other pointers are set when this one is seen. */
	__atomic_store_n(&real_sigaction, (sigaction_fn)dlsym(RTLD_NEXT, "sigaction"),
			 __ATOMIC_RELEASE);
}

/* A tiny spin lock: sigaction may be called from a signal handler. */
static void user_take(void)
{
	int z = 0;

	while (!atomic_compare_exchange_weak_explicit(&user_lock, &z, 1, memory_order_acquire,
						      memory_order_relaxed))
		z = 0;
}

static void user_drop(void)
{
	atomic_store_explicit(&user_lock, 0, memory_order_release);
}

static void chain(int sig, siginfo_t *si, void *uc)
{
	struct sigaction u;
	sigset_t old;

	user_take();
	u = user;
	if (u.sa_flags & SA_RESETHAND) {
		user.sa_handler = SIG_DFL;
		user.sa_flags &= ~SA_SIGINFO;
	}
	user_drop();
	if ((u.sa_flags & SA_SIGINFO) ? u.sa_sigaction != NULL
				       : (u.sa_handler != SIG_DFL && u.sa_handler != SIG_IGN)) {
		sigset_t mask = ((ucontext_t *)uc)->uc_sigmask;

		/* Exactly the mask the kernel would have given the program's
		 * handler, not ours (which blocks nearly everything): the
		 * interrupted one plus its sa_mask, never SIGTRAP.  A handler
		 * that leaves with longjmp keeps it, as without us. */
		sigorset(&mask, &mask, &u.sa_mask);
		sigdelset(&mask, SIGTRAP);
		real_pthread_sigmask(SIG_SETMASK, &mask, &old);
		if (u.sa_flags & SA_SIGINFO)
			u.sa_sigaction(sig, si, uc);
		else
			u.sa_handler(sig);
		real_pthread_sigmask(SIG_SETMASK, &old, NULL);
		return;
	}
	if (u.sa_handler == SIG_IGN && si->si_code != SI_KERNEL)
		return;
	/*
	 * The default action (or an ignored SIGTRAP from an int3, which the
	 * kernel forces): die of SIGTRAP as if we were not here.  Restore the
	 * default and send the signal again; it is delivered when this
	 * handler returns.
	 */
	struct sigaction dfl;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	real_sigaction(SIGTRAP, &dfl, NULL);
	fnt__sys(SYS_rt_tgsigqueueinfo, getpid(), fnt__sys(SYS_gettid), SIGTRAP, si);
}

static void on_trap(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;

	if (fnt__hooks_probe(si, uc)) {
		errno = saved;
		return;
	}
	if (!fnt__arch.trap(si, uc))
		chain(sig, si, uc);
	errno = saved;
}

/*
 * The mask our SIGTRAP handler runs with.  The handler holds a reference
 * on the batch descriptor for a few instructions; a handler of the
 * program's that interrupted it there and left with siglongjmp would take
 * the reference with it, and the patcher would wait for it forever:
 *
 *   thread T                              patcher
 *   --------                              -------
 *   int3 -> on_trap: get ref (refs 2)
 *     SIGUSR1 -> handler: siglongjmp      drop own ref (refs 1)
 *   (never back: refs stays 1)            wait refs == 0 ... forever
 *
 * So every signal is blocked while it runs, except SIGTRAP (SA_NODEFER:
 * a traced function called from the program's SIGTRAP handler must trap
 * again) and the synchronous fault signals: the kernel kills a thread
 * that faults with its fault signal blocked, and the region that holds
 * the reference reads only our own memory, so they cannot arise there.
 */
static void trap_handler_mask(sigset_t *m)
{
	sigfillset(m);
	sigdelset(m, SIGTRAP);
	sigdelset(m, SIGSEGV);
	sigdelset(m, SIGBUS);
	sigdelset(m, SIGILL);
	sigdelset(m, SIGFPE);
	sigdelset(m, SIGSYS);
}

int fnt__signals_init(void)
{
	struct sigaction sa, old;

	resolve();
	if (!real_sigaction || !real_pthread_sigmask)
		return -ENOSYS;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_trap;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_RESTART;
	trap_handler_mask(&sa.sa_mask);
	user_take();
	if (real_sigaction(SIGTRAP, &sa, &old)) {
		user_drop();
		return -errno;
	}
	if (!user_set)
		user = old;
	installed = 1;
	user_drop();
	/*
	 * A mask survives execve: a parent that blocked SIGTRAP (or a
	 * posix_spawn attribute's mask) hands it to this program's first
	 * thread, which then runs as if it had gone through our wrappers.
	 */
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGTRAP);
	real_pthread_sigmask(SIG_UNBLOCK, &sa.sa_mask, NULL);
	return 0;
}

int fnt__signals_check(void)
{
	struct sigaction cur;

	if (!installed || real_sigaction(SIGTRAP, NULL, &cur))
		return -EPERM;
	if (!(cur.sa_flags & SA_SIGINFO) || cur.sa_sigaction != on_trap) {
		fnt__log("the SIGTRAP handler was replaced behind our back (raw syscall?): "
			 "refusing to write int3");
		return -EPERM;
	}
	return 0;
}

/* --- the interposed calls ---------------------------------------------- */

FNT_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *oldact)
{
	struct sigaction copy;

	resolve();
	if (sig == SIGTRAP && installed) {
		user_take();
		if (oldact)
			*oldact = user;
		if (act) {
			user = *act;
			sigdelset(&user.sa_mask, SIGTRAP);
			user_set = 1;
		}
		user_drop();
		return 0;
	}
	if (sig == SIGTRAP && act) {
		/* Before our init: remembered, and chained once we install. */
		user_take();
		user = *act;
		user_set = 1;
		user_drop();
	}
	if (act) {
		copy = *act;
		sigdelset(&copy.sa_mask, SIGTRAP);
		act = &copy;
	}
	return real_sigaction(sig, act, oldact);
}

/* A disposition set through our sigaction(), with an empty mask. */
static sighandler_t set_disposition(int sig, sighandler_t handler, int flags)
{
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, &old))
		return SIG_ERR;
	return old.sa_handler;
}

FNT_EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
	return set_disposition(sig, handler, SA_RESTART);
}

static const sigset_t *clean(int how, const sigset_t *set, sigset_t *copy)
{
	if (!set || how == SIG_UNBLOCK || !sigismember(set, SIGTRAP))
		return set;
	*copy = *set;
	sigdelset(copy, SIGTRAP);
	return copy;
}

FNT_EXPORT int sigprocmask(int how, const sigset_t *set, sigset_t *oldset)
{
	sigset_t copy;

	resolve();
	return real_sigprocmask(how, clean(how, set, &copy), oldset);
}

FNT_EXPORT int pthread_sigmask(int how, const sigset_t *set, sigset_t *oldset)
{
	sigset_t copy;

	resolve();
	return real_pthread_sigmask(how, clean(how, set, &copy), oldset);
}

FNT_EXPORT int pthread_attr_setsigmask_np(pthread_attr_t *attr, const sigset_t *set)
{
	sigset_t copy;

	resolve();
	if (!real_attr_setsigmask)
		return ENOSYS;
	return real_attr_setsigmask(attr, clean(SIG_SETMASK, set, &copy));
}

/* --- every other libc entry point that installs a mask ----------------- */

/*
 * glibc calls its internal sigprocmask from these, so the wrappers above
 * never see the mask they install.  Each one below hands the real call a
 * mask without SIGTRAP.  Those that only wait (sigsuspend, pselect,
 * ppoll, epoll_pwait) matter as much: a signal handler that runs during
 * the wait runs with the temporary mask and may call traced code.
 */
#define TRAP_BIT (1ul << (SIGTRAP - 1))

typedef int (*ctx_fn)(const ucontext_t *);
typedef int (*swap_fn)(ucontext_t *, const ucontext_t *);
typedef int (*suspend_fn)(const sigset_t *);
typedef int (*pselect_fn)(int, fd_set *, fd_set *, fd_set *, const struct timespec *,
			  const sigset_t *);
typedef int (*ppoll_fn)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
typedef int (*ppoll_chk_fn)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *,
			    size_t);
typedef int (*epwait_fn)(int, struct epoll_event *, int, int, const sigset_t *);
typedef int (*epwait2_fn)(int, struct epoll_event *, int, const struct timespec *,
			  const sigset_t *);
typedef int (*intmask_fn)(int);
typedef int (*sigpause2_fn)(int, int);
typedef int (*sig_fn)(int);
typedef sighandler_t (*sigset_fn)(int, sighandler_t);

/*
 * The real functions behind the wrappers below, resolved once at start-up
 * (resolve()): a wrapper may first be called from a signal handler (a
 * green-thread scheduler's swapcontext), where dlsym, which takes the
 * loader's lock, must not run.  A missing symbol fails with ENOSYS.
 */
#define LATE_SYMS(X)                                                                \
	X(setcontext) X(swapcontext) X(sigsuspend) X(pselect) X(ppoll) X(__ppoll_chk) \
	X(epoll_pwait) X(epoll_pwait2) X(sigblock) X(sigsetmask) X(sigpause)         \
	X(__sigpause) X(sighold) X(sigignore) X(sigset) X(sysv_signal)

enum {
#define SYM_ENUM(n) SYM_##n,
	LATE_SYMS(SYM_ENUM)
#undef SYM_ENUM
	NSYMS
};

static const char *const sym_names[NSYMS] = {
#define SYM_NAME(n) #n,
	LATE_SYMS(SYM_NAME)
#undef SYM_NAME
};

static void *late[NSYMS];

static void resolve_late(void)
{
	for (int i = 0; i < NSYMS; i++)
		late[i] = dlsym(RTLD_NEXT, sym_names[i]);
}

#define REAL(type, name)                                                        \
	type real = (type)late[SYM_##name];                                     \
	if (!real) {                                                            \
		errno = ENOSYS;                                                 \
		return -1;                                                      \
	}

/* A copy of set without SIGTRAP, or set itself when it has none. */
static const sigset_t *no_trap(const sigset_t *set, sigset_t *copy)
{
	return clean(SIG_SETMASK, set, copy);
}

/*
 * Clears SIGTRAP in a mask that lives in the program's own structure (a
 * ucontext, a sigjmp_buf), in place.  Such a structure was written at run
 * time (getcontext, swapcontext, sigsetjmp) and is almost always writable,
 * but the prototype says const and a program may have made it read-only:
 * the kernel is asked to write the word first (rt_sigprocmask's old-set
 * output, a syscall every program makes), which fails with EFAULT where a
 * plain store would fault.  Returns 0 or -EFAULT.
 */
static int clear_in_place(sigset_t *set)
{
	unsigned long *w = (unsigned long *)set, v = *w;

	if (!(v & TRAP_BIT))
		return 0;
	if (fnt__sys(SYS_rt_sigprocmask, SIG_BLOCK, NULL, w, sizeof(*w)))
		return -EFAULT;
	*w = v & ~TRAP_BIT;
	return 0;
}

/*
 * A context whose mask cannot be cleared in place is copied.  The copy is
 * per thread and read by the real setcontext only until it has loaded the
 * registers; its fpregs pointer still points into the original, which is
 * only read.  A signal handler on this thread that switches to another
 * read-only context within those few instructions and comes back would
 * overwrite it: a limit of read-only contexts only (docs/design.md).
 */
static __thread ucontext_t *ctx_copy;	/* mmap'ed on first use: static TLS is scarce */

static const ucontext_t *ctx_clean(const ucontext_t *ucp)
{
	if (!ucp || !sigismember(&ucp->uc_sigmask, SIGTRAP) ||
	    !clear_in_place((sigset_t *)&ucp->uc_sigmask))
		return ucp;
	if (!ctx_copy) {
		/* mmap, not malloc: this may run in a signal handler. */
		void *p = mmap(NULL, sizeof(*ctx_copy), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return ucp;	/* as without us */
		ctx_copy = p;
	}
	*ctx_copy = *ucp;
	sigdelset(&ctx_copy->uc_sigmask, SIGTRAP);
	return ctx_copy;
}

FNT_EXPORT int setcontext(const ucontext_t *ucp)
{
	REAL(ctx_fn, setcontext);
	return real(ctx_clean(ucp));
}

FNT_EXPORT int swapcontext(ucontext_t *oucp, const ucontext_t *ucp)
{
	REAL(swap_fn, swapcontext);
	return real(oucp, ctx_clean(ucp));
}

void fnt__sig_fix_jmpbuf(void *env)
{
	struct __jmp_buf_tag *b = env;

	/* longjmp restores the saved mask as siglongjmp does (glibc). */
	if (b && b->__mask_was_saved && sigismember(&b->__saved_mask, SIGTRAP))
		clear_in_place(&b->__saved_mask);
}

FNT_EXPORT int sigsuspend(const sigset_t *set)
{
	sigset_t copy;

	REAL(suspend_fn, sigsuspend);
	return real(no_trap(set, &copy));
}

FNT_EXPORT int __sigsuspend(const sigset_t *set)
{
	return sigsuspend(set);
}

FNT_EXPORT int pselect(int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *t,
		       const sigset_t *set)
{
	sigset_t copy;

	REAL(pselect_fn, pselect);
	return real(n, r, w, e, t, no_trap(set, &copy));
}

FNT_EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *t, const sigset_t *set)
{
	sigset_t copy;

	REAL(ppoll_fn, ppoll);
	return real(fds, n, t, no_trap(set, &copy));
}

FNT_EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *t,
			   const sigset_t *set, size_t fdslen)
{
	sigset_t copy;

	REAL(ppoll_chk_fn, __ppoll_chk);
	return real(fds, n, t, no_trap(set, &copy), fdslen);
}

FNT_EXPORT int epoll_pwait(int fd, struct epoll_event *ev, int max, int timeout,
			   const sigset_t *set)
{
	sigset_t copy;

	REAL(epwait_fn, epoll_pwait);
	return real(fd, ev, max, timeout, no_trap(set, &copy));
}

FNT_EXPORT int epoll_pwait2(int fd, struct epoll_event *ev, int max, const struct timespec *t,
			    const sigset_t *set)
{
	sigset_t copy;

	REAL(epwait2_fn, epoll_pwait2);
	return real(fd, ev, max, t, no_trap(set, &copy));
}

/* The BSD masks: an int of bits 1 << (sig - 1). */
FNT_EXPORT int sigblock(int mask)
{
	REAL(intmask_fn, sigblock);
	return real(mask & ~(int)TRAP_BIT);
}

FNT_EXPORT int sigsetmask(int mask)
{
	REAL(intmask_fn, sigsetmask);
	return real(mask & ~(int)TRAP_BIT);
}

/* sigpause(mask) (BSD) and __sigpause(mask or signal, is_signal). */
FNT_EXPORT int sigpause(int mask)
{
	REAL(intmask_fn, sigpause);
	return real(mask & ~(int)TRAP_BIT);
}

FNT_EXPORT int __sigpause(int sig_or_mask, int is_sig)
{
	REAL(sigpause2_fn, __sigpause);
	return real(is_sig ? sig_or_mask : sig_or_mask & ~(int)TRAP_BIT, is_sig);
}

FNT_EXPORT int sighold(int sig)
{
	REAL(sig_fn, sighold);
	return sig == SIGTRAP ? 0 : real(sig);
}

/*
 * The System V and BSD ways to set a disposition call glibc's internal
 * sigaction: for SIGTRAP they go through ours (chained, never replacing
 * our handler), and SIGTRAP is never held.
 */
static sighandler_t trap_disposition(sighandler_t handler, int flags)
{
	return set_disposition(SIGTRAP, handler, flags);
}

FNT_EXPORT int sigignore(int sig)
{
	REAL(sig_fn, sigignore);
	if (sig == SIGTRAP)
		return trap_disposition(SIG_IGN, 0) == SIG_ERR ? -1 : 0;
	return real(sig);
}

FNT_EXPORT sighandler_t sigset(int sig, sighandler_t disp)
{
	sigset_fn real = (sigset_fn)late[SYM_sigset];

	if (sig == SIGTRAP) {
		struct sigaction old;

		if (disp == SIG_HOLD) {
			/* Held, as far as the program can tell: never blocked. */
			sigaction(SIGTRAP, NULL, &old);
			return old.sa_handler;
		}
		return trap_disposition(disp, 0);
	}
	if (!real) {
		errno = ENOSYS;
		return SIG_ERR;
	}
	return real(sig, disp);
}

FNT_EXPORT sighandler_t bsd_signal(int sig, sighandler_t handler)
{
	return signal(sig, handler);
}

FNT_EXPORT sighandler_t ssignal(int sig, sighandler_t handler)
{
	return signal(sig, handler);
}

FNT_EXPORT sighandler_t sysv_signal(int sig, sighandler_t handler)
{
	sigset_fn real = (sigset_fn)late[SYM_sysv_signal];

	if (sig == SIGTRAP)
		return trap_disposition(handler, SA_RESETHAND | SA_NODEFER);
	if (!real) {
		errno = ENOSYS;
		return SIG_ERR;
	}
	return real(sig, handler);
}

FNT_EXPORT sighandler_t __sysv_signal(int sig, sighandler_t handler)
{
	return sysv_signal(sig, handler);
}

/* --- syscall(3) ---------------------------------------------------------- */

/*
 * The libc function syscall() is how most programs make a "raw" syscall,
 * and it is interposed too: the calls that install a mask get one without
 * SIGTRAP, and the clones go to clone.c.  The syscall is made here
 * directly (no dlsym, so this is safe in a signal handler and before our
 * constructor), with glibc's
 * convention: -1 and errno for a result in [-4095, -1].  Six arguments
 * are always read, as glibc's own syscall() passes six registers whatever
 * the call takes.
 */
/* The kernel's sigset for these calls is 8 bytes. */
static long kmask_clean(long set, unsigned long *copy)
{
	if (!set || !(*(const unsigned long *)set & TRAP_BIT))
		return set;
	*copy = *(const unsigned long *)set & ~TRAP_BIT;
	return (long)copy;
}

/* Not sanitized: reading six arguments whatever the caller passed is
 * glibc's own convention, and the stack slot past them is the caller's. */
FNT_EXPORT __attribute__((no_sanitize("address"))) long syscall(long nr, ...)
{
	long a[6], ret;
	unsigned long copy;
	struct { long set; long size; } ps;
	unsigned long kact[4];
	va_list ap;

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	switch (nr) {
	case SYS_rt_sigprocmask:
		if (a[0] != SIG_UNBLOCK)
			a[1] = kmask_clean(a[1], &copy);
		break;
	case SYS_rt_sigsuspend:
		a[0] = kmask_clean(a[0], &copy);
		break;
	case SYS_ppoll:
		a[3] = kmask_clean(a[3], &copy);
		break;
	case SYS_epoll_pwait:
	case SYS_epoll_pwait2:
		a[4] = kmask_clean(a[4], &copy);
		break;
	case SYS_pselect6:
		/* The sixth argument points to { const sigset_t *, size }. */
		if (a[5]) {
			memcpy(&ps, (const void *)a[5], sizeof(ps));
			ps.set = kmask_clean(ps.set, &copy);
			a[5] = (long)&ps;
		}
		break;
	case SYS_clone:
	case SYS_clone3:
	case SYS_fork:
		/* Processes and threads the fork handlers do not see. */
		return fnt__clone_syscall(nr, a);
	case SYS_unshare:
		/* Calls that need a single thread: the agent steps aside. */
		return unshare((int)a[0]);
	case SYS_setns:
		return setns((int)a[0], (int)a[1]);
	case SYS_rt_sigaction:
		/* struct kernel_sigaction: handler, flags, restorer, mask. */
		if (a[1] && (((const unsigned long *)a[1])[3] & TRAP_BIT)) {
			memcpy(kact, (const void *)a[1], sizeof(kact));
			kact[3] &= ~TRAP_BIT;
			a[1] = (long)kact;
		}
		break;
	}
	ret = fnt__sys6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (ret < 0 && ret >= -4095) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}
