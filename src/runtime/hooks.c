/*
 * hooks.c - the tracing hot path: what a patched site's call runs.
 *
 * fnt__hook_entry() runs for every call of a patched function, on the
 * traced thread, possibly in a signal handler.  It takes no lock, makes
 * no allocation and no syscall except the first time a thread traces
 * (when its record is set up).  Per-thread state lives in one struct
 * fnt_thread (uftrace's mcount_thread_data), with the recursion guard.
 * When an ops wants the exit, the entry pushes a shadow frame and hooks
 * the return: what happens then is function_graph's, in fgraph.c.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "core/core.h"
#include "runtime/hooks.h"
#include "runtime/runtime.h"
#include "util/log.h"
#include "util/sys.h"

struct fnt_ops *_Atomic fnt__ops[FNT_MAX_OPS];

void fnt__ops_publish(int slot, struct fnt_ops *ops)
{
	if (ops && ops->exit)
		atomic_fetch_or_explicit(&fnt__exit_ops, 1u << slot, memory_order_relaxed);
	/* release: pairs with the acquire loads in the hooks. */
	atomic_store_explicit(&fnt__ops[slot], ops, memory_order_release);
	if (!ops || !ops->exit)
		atomic_fetch_and_explicit(&fnt__exit_ops, ~(1u << slot), memory_order_relaxed);
}

__thread struct fnt_thread *fnt__self;
static __thread int self_dead;	/* the thread is exiting: no new record */
static __thread int exit_rounds;	/* thread_exit() calls on this thread */
static struct fnt_thread *_Atomic threads;
static pthread_key_t key;

/* --- per-thread records ------------------------------------------------ */

static void thread_exit(void *arg);

void fnt__hooks_init(void)
{
	pthread_key_create(&key, thread_exit);
	fnt__fgraph_init();
}

static struct fnt_thread *thread_get(void)
{
	struct fnt_thread *t;

	if (self_dead)
		return NULL;
	for (t = atomic_load_explicit(&threads, memory_order_acquire); t; t = t->next) {
		int z = 0;

		if (atomic_compare_exchange_strong_explicit(&t->used, &z, 1, memory_order_acquire,
							    memory_order_relaxed))
			break;
	}
	if (!t) {
		/* mmap, not malloc: this may run in a signal handler. */
		t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
		if (t == MAP_FAILED)
			return NULL;
		atomic_store_explicit(&t->used, 1, memory_order_relaxed);
		t->next = atomic_load_explicit(&threads, memory_order_relaxed);
		/* release: pairs with the acquire walk above and in fnt__quiesce(). */
		while (!atomic_compare_exchange_weak_explicit(&threads, &t->next, t,
							      memory_order_release,
							      memory_order_relaxed))
			;
	}
	t->busy = 0;
	t->shared = 0;
	t->tid = (int)fnt__sys(SYS_gettid);
	t->depth = 0;
	t->nlev = 0;
	t->in_user = 0;
	t->errnop = &errno;
	fnt__self = t;
	pthread_setspecific(key, t);
	return t;
}

static void thread_exit(void *arg)
{
	struct fnt_thread *t = arg;
	struct held was = guard(t, (uintptr_t)__builtin_frame_address(0));

	/* pthread_exit() or return from the start routine: every frame left
	 * is over.  Report them, then give the record back (with seq even:
	 * the next thread's hooks rely on its parity). */
	fnt__fgraph_unwind_all(t);
	unguard(t, was);
	fnt__self = NULL;
	/* Destructors that run after this one (other keys', later rounds)
	 * may make traced calls: those take a record again, which sets the
	 * key again, so glibc calls this again in its next round.  After
	 * its last round it calls no destructor: no new record then. */
	if (++exit_rounds >= PTHREAD_DESTRUCTOR_ITERATIONS)
		self_dead = 1;
	/* release: pairs with the acquire CAS in thread_get(). */
	atomic_store_explicit(&t->used, 0, memory_order_release);
}

/* --- the hooks --------------------------------------------------------- */

/* The recorder's part of forgetting an abandoned hook (its ring). */
__attribute__((weak)) void fnt__recorder_thread_reset(void)
{
}

/*
 * Is a guard held by a hook that no longer runs?  A signal handler that
 * interrupted a hook and left it (siglongjmp, which fgraph.c sees, or
 * setcontext and the like, which it does not) abandons it with busy set:
 * without this, the thread would never be traced again, and fnt_disable()
 * would wait for its seq forever.  A holder is dead if the stack has
 * unwound to (or past) its frame: a live one only has callbacks and signal
 * handlers below it, on this stack, or a handler on the signal stack
 * (asked of the kernel: this is never the common path).  A holder that a
 * trampoline called is also dead if the trampoline's return address into
 * it is gone from the stack (holder_returned()): a thread that left a hook
 * and went on deeper has overwritten it.  Dead guards are dropped,
 * innermost first, and the call each was recording counted lost.
 * Returns 1 if one was dropped.
 */
void fnt__guard_drop(struct fnt_thread *t)
{
	/* The levels of handlers that interrupted it end with it. */
	if (t->nlev)
		fnt__levels_trim(t, t->busy - 1);
	if (--t->busy <= 0) {
		t->busy = 0;
		t->in_user = 0;
		if (atomic_load_explicit(&t->seq, memory_order_relaxed) & 1)
			/* release: pairs with the acquire load in fnt__quiesce(). */
			atomic_store_explicit(&t->seq, t->seq + 1, memory_order_release);
	}
	atomic_fetch_add_explicit(&fnt__stats.recursion_skips, 1, memory_order_relaxed);
	fnt__recorder_thread_reset();
}

/*
 * Has the holder whose guard address is g, which lies above sp, certainly
 * left its hook?  Only a holder that a trampoline called can tell: while
 * it runs, the trampoline's frame holds its return address into the
 * trampoline (arch hook_ret_slot), and the hook's own frame lies below
 * that word.  So the holder is gone if the stack is now above the word
 * (sp, like g, is taken to be on the holder's stack, as everywhere in
 * stale()), or if the word no longer holds the return address.  It is
 * read only between sp and g on the stack the thread runs on now, not on
 * the signal stack, and only once the kernel says it is mapped.
 */
static int holder_returned(uintptr_t g, uintptr_t sp)
{
	uintptr_t addr = GSP_ADDR(g), ret[2], at, v;
	int kind = (int)(g & 7);
	unsigned char vec;
	stack_t ss;

	if (kind < FNT_TRAMP_ENTRY || kind > FNT_TRAMP_TAIL)
		return 0;
	at = fnt__arch.hook_ret_slot(kind, kind == FNT_TRAMP_RETURN ? addr + 24 : addr + 8, ret);
	if (at < sp)
		return 1;
	if (at >= addr)
		return 0;
	if (sigaltstack(NULL, &ss) != 0 || (ss.ss_flags & SS_ONSTACK))
		return 0;
	/* sp and g are taken to be on one stack, but a holder suspended on
	 * a coroutine's stack that lies above this one passes the test
	 * above too, and that stack may be freed by now: the kernel is asked
	 * whether the word is mapped before it is read. */
	if (fnt__sys(SYS_mincore, at & ~(uintptr_t)4095, 1, &vec) != 0)
		return 0;
	v = *(volatile uintptr_t *)at;
	return v != ret[0] && v != ret[1];
}

__attribute__((noinline, cold)) int fnt__guard_stale(struct fnt_thread *t, uintptr_t sp)
{
	int dropped = 0;
	stack_t ss;

	while (t->busy) {
		uintptr_t g = t->gsp[(t->busy < GUARD_MAX ? t->busy : GUARD_MAX) - 1];

		if (sp < GSP_ADDR(g) && !holder_returned(g, sp))
			break;
		if (sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK))
			break;
		/* A thread made by a raw clone without CLONE_SETTLS, which the
		 * interposed clone() and syscall() did not see, shares this
		 * record: the guard is its owner's, alive on another stack. */
		if ((int)fnt__sys(SYS_gettid) != t->tid) {
			t->shared = 1;
			break;
		}
		fnt__guard_drop(t);
		dropped = 1;
	}
	return dropped;
}

/*
 * What may a hook that found busy or shared set do?  -1: nothing (counted
 * lost), on a thread that shares the record's TLS without owning it (it is
 * neither traced nor blocked; comparing the kernel's tid with the record's
 * costs a syscall, paid only by threads that made such a clone), or in a
 * user's callback (whose own traced calls are never traced), or too deep.
 * 0: go on as usual (the guard was free or stale).  1: a signal handler
 * interrupted a hook that still runs: record at a nested level.
 */
static __attribute__((noinline, cold)) int admit(struct fnt_thread *t, uintptr_t sp)
{
	if (t->shared && (int)fnt__sys(SYS_gettid) != t->tid)
		return -1;
	if (!t->busy)
		return 0;
	fnt__guard_stale(t, sp);
	if (!t->busy)
		return 0;
	if (t->in_user || t->busy >= GUARD_MAX - 1)
		return -1;
	return 1;
}

/* clone.c: another thread is about to run with this thread's TLS (vfork:
 * until the call returns, when the child has exec'd or exited). */
void fnt__hooks_share_tls(int on)
{
	struct fnt_thread *t = fnt__self;

	if (!t && on)
		/* The child must not make a record of its own in our TLS. */
		t = thread_get();
	if (t)
		t->shared = on;
}

/*
 * The entry of a call, with the guard held: its frame (if an ops wants the
 * exit) is pushed at stack[base + *depth], the top of its level (the
 * thread's own, base 0, or a signal handler's nested one).
 * sp[0] = site + 5 (the trampoline's return address), sp[1] = the return
 * address into the caller.
 */
static inline __attribute__((always_inline)) void enter(struct fnt_thread *t, struct fnt_object *o,
							uintptr_t *sp, uint32_t base,
							uint32_t *depth)
{
	struct fnt_site *s;
	struct fnt_call *call, local;
	struct frame *f = NULL;
	uintptr_t slot = (uintptr_t)&sp[1];
	uint32_t want, xmask, top;
	int saved_errno, overflow = 0;

	/* The traced function may be about to read errno (a logger called
	 * after a failed syscall): nothing we do may change it. */
	saved_errno = *t->errnop;
	s = fnt__site_find(o, sp[0] - 5);
	if (!s)
		goto out;
	want = atomic_load_explicit(&s->want, memory_order_relaxed);
	if (fnt__fgraph_may_prune(t, base, *depth, slot))
		fnt__fgraph_prune(t, base, depth, slot);
	top = base + *depth;
	/*
	 * If an ops that may want the exit is called, the frame is pushed
	 * before any entry callback runs, with those ops' bits set, and the
	 * call is built in it, so the exit callbacks get it without a copy.
	 * A signal handler that cuts this hook short with siglongjmp then
	 * still finds the frame (the jump, or a later prune), and closes the
	 * call an entry callback may have recorded.  A handler that returns
	 * pushes its own frames in a level above this one.
	 */
	xmask = want & atomic_load_explicit(&fnt__exit_ops, memory_order_relaxed);
	if (xmask && top < SHADOW_MAX) {
		f = &t->stack[top];
		f->mask = xmask;
		/* Hooked, for unhook_all() and rehook_live(), which look at
		 * the slot as well: it still holds the real address. */
		f->hooked = 1;
		call = &f->call;
	} else {
		call = &local;
	}
	call->ip = s->addr;
	call->parent_ip = sp[1];
	call->frame = slot;
	call->object_id = o->id;
	call->site_index = (uint32_t)(s - o->sites);
	call->depth = top;
	call->flags = 0;
	if (!f) {
		/* No exit to hook (or no room for it: counted). */
		while (want) {
			int bit = __builtin_ctz(want);
			struct fnt_ops *ops =
				atomic_load_explicit(&fnt__ops[bit], memory_order_acquire);

			want &= want - 1;
			if (ops && (!ops->entry || ops->entry(call, ops->data) != FNT_SKIP_EXIT) &&
			    ops->exit && xmask)
				overflow = 1;
		}
		if (overflow)
			atomic_fetch_add_explicit(&fnt__stats.depth_overflows, 1,
						  memory_order_relaxed);
		goto out;
	}
	atomic_signal_fence(memory_order_seq_cst);
	(*depth)++;
	while (want) {
		int bit = __builtin_ctz(want);
		struct fnt_ops *ops = atomic_load_explicit(&fnt__ops[bit], memory_order_acquire);

		want &= want - 1;
		if (!ops || (ops->entry && ops->entry(call, ops->data) == FNT_SKIP_EXIT) ||
		    !ops->exit)
			f->mask &= ~(1u << bit);
	}
	if (f->mask) {
		/* The frame is complete before the return can use it; a signal
		 * handler on this thread sees it whole.  Where every exit of
		 * the function is a live exit site, the return is left alone:
		 * the exit site closes the call (fgraph.c). */
		atomic_signal_fence(memory_order_seq_cst);
		if (atomic_load_explicit(&s->exits_live, memory_order_relaxed))
			f->hooked = NOHIJACK;
		else
			sp[1] = (uintptr_t)fnt__tramp_return;
	} else {
		(*depth)--;
	}
out:
	*t->errnop = saved_errno;
}

/* A call a signal handler makes while it interrupts a hook on this thread. */
static __attribute__((noinline, cold)) void enter_nested(struct fnt_thread *t, struct fnt_object *o,
							 uintptr_t *sp)
{
	/* Taken first: a handler that interrupts us now finds busy + 1 and
	 * makes a level of its own above ours. */
	struct held held = guard(t, GSP_ENTRY(sp));
	struct level *l = fnt__level_get(t, held.was);

	if (l)
		enter(t, o, sp, l->base, &l->depth);
	else
		atomic_fetch_add_explicit(&fnt__stats.recursion_skips, 1, memory_order_relaxed);
	unguard(t, held);
}

__attribute__((visibility("hidden"))) void fnt__hook_entry(struct fnt_object *o, uintptr_t *sp)
{
	struct fnt_thread *t = fnt__self;
	struct held held;

	/* The runtime's own calls into the program (its malloc, say). */
	if (__builtin_expect(fnt__in_runtime, 0))
		return;
	if (__builtin_expect(!t, 0)) {
		t = thread_get();
		if (!t) {
			/* The thread is past its record's release (its last
			 * destructors), or mmap failed: counted, not silent. */
			atomic_fetch_add_explicit(&fnt__stats.recursion_skips, 1,
						  memory_order_relaxed);
			return;
		}
	}
	if (__builtin_expect(t->busy | t->shared, 0)) {
		int how = admit(t, (uintptr_t)sp);

		if (how < 0) {
			atomic_fetch_add_explicit(&fnt__stats.recursion_skips, 1,
						  memory_order_relaxed);
			return;
		}
		if (how > 0) {
			enter_nested(t, o, sp);
			return;
		}
	}
	/* The guard's address lies below the trampoline's return address
	 * (where a hook called from the same frame would start) and above
	 * this hook's own frame (where callbacks run). */
	held = guard_outer(t, GSP_ENTRY(sp));
	enter(t, o, sp, 0, &t->depth);
	unguard(t, held);
}

/* --- quiescence -------------------------------------------------------- */

/*
 * A guard abandoned by a siglongjmp out of a hook keeps its thread's seq
 * odd until that thread's next hook finds it stale.  A thread that never
 * makes a traced call again (its loop calls only the sites just disabled,
 * or it waits for work forever) would keep fnt__quiesce() waiting forever:
 *
 *   thread T                               patcher
 *   --------                               -------
 *   hook: guard (seq odd)
 *     SIGUSR1 -> handler: siglongjmp
 *   back in the program; calls only f()    disable f: f is a NOP again
 *   (never hooks again)                    quiesce: wait for T's seq ... forever
 *
 * So a thread whose seq has not moved for PROBE_FIRST_NS is sent a probe:
 * our own SIGTRAP, never blocked where a site can be patched (signals.c),
 * told from every other by its code and value.  Its handler runs on that
 * thread and makes the check that thread's next hook would make, with the
 * stack pointer of the code it interrupted: a holder the stack has unwound
 * past is dropped, which moves seq.  A live holder (a slow callback) only
 * costs the probe, sent again at growing intervals, since a live holder
 * may be abandoned later.  The probe may make a system call the thread was
 * blocked in return early with EINTR, as any signal does; it is sent only
 * to a thread that has held a guard for that long.
 */
#define PROBE_FIRST_NS 10000000L	/* 10 ms */
#define PROBE_MAX_NS 1000000000L	/* 1 s between probes at most */

static const int probe_cookie;

int fnt__hooks_probe(const siginfo_t *si, void *uctx)
{
	struct fnt_thread *t;

	if (si->si_code != SI_QUEUE || si->si_pid != getpid() ||
	    si->si_value.sival_ptr != (void *)&probe_cookie)
		return 0;
	t = fnt__self;
	if (t && t->busy)
		fnt__guard_stale(t, fnt__arch.context_sp(uctx));
	return 1;
}

/* Sends the probe to t's thread; returns 0, or -ESRCH if it is gone. */
static int probe(struct fnt_thread *t)
{
	siginfo_t si;
	int tid = t->tid;
	long r;

	if (tid <= 0)
		return 0;
	memset(&si, 0, sizeof(si));
	si.si_signo = SIGTRAP;
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_ptr = (void *)&probe_cookie;
	r = fnt__sys(SYS_rt_tgsigqueueinfo, getpid(), tid, SIGTRAP, &si);
	fnt__dbg(1, "quiesce: thread %d has been inside a hook for a while: probed it (%s)", tid,
		 r ? strerror((int)-r) : "sent");
	return r == -ESRCH ? -ESRCH : 0;
}

static long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* Waits for t's seq to move from s (or t's record to be given back). */
static void wait_thread(struct fnt_thread *t, unsigned long s)
{
	long start = mono_ns(), next = PROBE_FIRST_NS;

	while (atomic_load_explicit(&t->seq, memory_order_acquire) == s &&
	       atomic_load_explicit(&t->used, memory_order_relaxed)) {
		sched_yield();
		if (mono_ns() - start < next)
			continue;
		/* A thread that no longer exists runs no hook: a raw clone
		 * that exited inside one leaves its record behind. */
		if (probe(t) == -ESRCH)
			return;
		next = next * 2 < PROBE_MAX_NS ? next * 2 : next + PROBE_MAX_NS;
	}
}

/*
 * Waits until no other thread is inside a hook that may have seen the
 * state from before the caller's last store (a cleared want bit, a NULL
 * ops).  A hook announces itself (seq odd) and then loads that state; on
 * x86 its load may pass its own store, so reading seq alone could miss it:
 *
 *   hook:    seq = odd ......... load want (old!)
 *   patcher:          want = 0; load seq (even: old!)  -> returns too early
 *
 * The thread-wide barrier pairs with the hook's program order: each
 * thread's barrier falls either after its seq store (which we then see)
 * or before its load (which then sees our store).
 */
void fnt__quiesce(void)
{
	struct fnt_thread *me = fnt__self;

	if (fnt__arch.sync_threads() < 0)
		/* Cannot happen once sync is set up; the wait below is then
		 * merely best effort, so say so. */
		fnt__dbg(1, "quiesce: thread barrier failed");

	for (struct fnt_thread *t = atomic_load_explicit(&threads, memory_order_acquire); t;
	     t = t->next) {
		/* acquire: pairs with the release stores in guard()/unguard(). */
		unsigned long s = atomic_load_explicit(&t->seq, memory_order_acquire);

		if (t == me || !(s & 1))
			continue;
		wait_thread(t, s);
	}
}

void fnt__hooks_fork_child(void)
{
	struct fnt_thread *me = fnt__self;

	/* This thread has a new tid, and nobody shares its TLS any more. */
	if (me) {
		me->tid = (int)fnt__sys(SYS_gettid);
		me->shared = 0;
	}
	/* Only this thread survives: the others' records are free again. */
	for (struct fnt_thread *t = atomic_load_explicit(&threads, memory_order_acquire); t;
	     t = t->next)
		if (t != fnt__self) {
			atomic_store_explicit(&t->seq, 0, memory_order_relaxed);
			atomic_store_explicit(&t->used, 0, memory_order_relaxed);
		}
}
