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
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "arch/arch.h"
#include "runtime/runtime.h"
#include "util/log.h"

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

static void resolve(void)
{
	if (real_sigaction)
		return;
	real_sigprocmask = (sigmask_fn)dlsym(RTLD_NEXT, "sigprocmask");
	real_pthread_sigmask = (sigmask_fn)dlsym(RTLD_NEXT, "pthread_sigmask");
	real_attr_setsigmask = (attrmask_fn)dlsym(RTLD_NEXT, "pthread_attr_setsigmask_np");
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
	syscall(SYS_rt_tgsigqueueinfo, getpid(), syscall(SYS_gettid), SIGTRAP, si);
}

static void on_trap(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;

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

FNT_EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, &old))
		return SIG_ERR;
	return old.sa_handler;
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
