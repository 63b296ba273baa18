/*
 * hooks.c - the tracing hot path: what a patched site's call runs.
 *
 * fnt__hook_entry() runs for every call of a patched function, on the
 * traced thread, possibly in a signal handler.  It takes no lock, makes
 * no allocation and no syscall except the first time a thread traces
 * (when its record is set up).  Per-thread state lives in one struct
 * fnt_thread (uftrace's mcount_thread_data), with the recursion guard.
 *
 * Returns are hooked with a per-thread shadow stack (function_graph's
 * ret_stack): the return address in the frame is replaced by
 * fnt__tramp_return, and the real one is kept in the shadow frame with the
 * address of its slot.  A frame whose slot lies below the current stack
 * pointer is dead (longjmp, exception, thread exit): it is reported as an
 * FNT_CALL_UNWOUND exit the next time the thread passes here.  A tail call
 * reuses its caller's slot, so two shadow frames may share one: the top
 * one returns into fnt__tramp_return again, which pops the next.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/arch.h"
#include "core/core.h"
#include "runtime/runtime.h"
#include "util/log.h"

#define SHADOW_MAX FNT_MAX_DEPTH

/*
 * A shadow frame holds the call its entry callbacks got, so the exit
 * callbacks get the very same struct without a copy: call.frame is the
 * slot where the return address lives, call.parent_ip the real return
 * address, call.depth the frame's index.
 */
#define EXITING 2

struct frame {
	struct fnt_call call;
	uint32_t mask;		/* ops slots that want the exit */
	uint32_t hooked;	/* 1 while *call.frame holds fnt__tramp_return
				 * (or the entry callbacks run), 0 while an
				 * exception unwinds, EXITING while the exit
				 * callbacks run */
};

struct fnt_thread {
	int busy;		/* recursion guard: inside a hook on this thread */
	uint32_t depth;		/* used shadow frames */
	/* Odd while inside a hook; fnt__quiesce() waits for it to move.
	 * Written only by the owner (release), read by the patcher (acquire). */
	_Atomic unsigned long seq;
	_Atomic int used;	/* record owned by a live thread */
	uintptr_t guard_sp;	/* stack address of the outermost guarded hook */
	int *errnop;		/* this thread's errno, found once (no libc call per hook) */
	struct fnt_thread *next;
	struct frame stack[SHADOW_MAX];
};

struct fnt_ops *_Atomic fnt__ops[FNT_MAX_OPS];
/* The slots of fnt__ops whose ops has an exit callback. */
static _Atomic uint32_t fnt__exit_ops;

void fnt__ops_publish(int slot, struct fnt_ops *ops)
{
	if (ops && ops->exit)
		atomic_fetch_or_explicit(&fnt__exit_ops, 1u << slot, memory_order_relaxed);
	/* release: pairs with the acquire loads in the hooks. */
	atomic_store_explicit(&fnt__ops[slot], ops, memory_order_release);
	if (!ops || !ops->exit)
		atomic_fetch_and_explicit(&fnt__exit_ops, ~(1u << slot), memory_order_relaxed);
}

extern char fnt__tramp_return[];

static __thread struct fnt_thread *self;
static __thread int self_dead;	/* the thread is exiting: no new record */
static struct fnt_thread *_Atomic threads;
static pthread_key_t key;

/* --- per-thread records ------------------------------------------------ */

static void thread_exit(void *arg);

static void longjmp_init(void);

void fnt__hooks_init(void)
{
	pthread_key_create(&key, thread_exit);
	longjmp_init();
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
	t->depth = 0;
	t->errnop = &errno;
	self = t;
	pthread_setspecific(key, t);
	return t;
}

/* Runs the exit callbacks of a popped frame.  The caller holds busy, so
 * no traced call on this thread (a signal handler's) can reuse the frame
 * while they run. */
static inline void report_exit(struct frame *f, uint32_t flags)
{
	uint32_t m = f->mask;

	f->call.flags = flags;
	while (m) {
		int slot = __builtin_ctz(m);
		struct fnt_ops *ops = atomic_load_explicit(&fnt__ops[slot], memory_order_acquire);

		m &= m - 1;
		if (ops && ops->exit)
			ops->exit(&f->call, ops->data);
	}
}

/* Frames deeper than this below the current one are on another stack. */
#define SAME_STACK (1ul << 20)

/*
 * Pops (and reports as unwound) the top frames that are certainly dead
 * when a new frame is about to use slot: frames of this stack below it
 * (a longjmp or an exception left them) whose slot no longer holds our
 * trampoline.  Stack memory below the current frame stays mapped, so
 * reading it is safe.  A frame on a signal alternate stack, or a live
 * tail-calling frame sharing the slot, is never taken for dead: address
 * order alone cannot tell stacks apart.
 */
static void prune(struct fnt_thread *t, uintptr_t slot)
{
	while (t->depth) {
		struct frame *f = &t->stack[t->depth - 1];

		if (f->call.frame > slot || slot - f->call.frame >= SAME_STACK ||
		    *(uintptr_t *)f->call.frame == (uintptr_t)fnt__tramp_return)
			break;
		t->depth--;
		report_exit(f, FNT_CALL_UNWOUND);
	}
}

/*
 * The frame returning through slot: the topmost one with that slot, moved
 * to the top.  Frames above it whose slot no longer holds our trampoline
 * never returned (longjmp out of them, siglongjmp out of a handler) and are
 * reported as unwound.  Those whose slot still holds it may be alive on
 * another stack (a coroutine swapped out in the middle of a traced call:
 * its return comes later), so they stay; discarding one would leave its
 * return with nowhere to go.  Returns NULL if there is none.
 */
static struct frame *match(struct fnt_thread *t, uintptr_t slot)
{
	uint32_t i = t->depth, j;
	struct frame m;

	while (i && t->stack[i - 1].call.frame != slot)
		i--;
	if (!i)
		return NULL;
	i--;
	/* Report the dead ones above it, topmost first, as returns would,
	 * and mark them (frame 0). */
	for (j = t->depth; j-- > i + 1;) {
		struct frame *f = &t->stack[j];

		if (*(uintptr_t *)f->call.frame != (uintptr_t)fnt__tramp_return) {
			report_exit(f, FNT_CALL_UNWOUND);
			f->call.frame = 0;
		}
	}
	/* Keep the live ones, in order, under the returning frame. */
	m = t->stack[i];
	for (j = i + 1; j < t->depth; j++)
		if (t->stack[j].call.frame)
			t->stack[i++] = t->stack[j];
	t->stack[i] = m;
	/* The frames moved down are whole before depth says so. */
	atomic_signal_fence(memory_order_seq_cst);
	t->depth = i + 1;
	return &t->stack[i];
}

/*
 * Every path that runs callbacks holds the guard: busy (signal handlers on
 * this thread skip the hooks) and, on the outermost level, an odd seq
 * (fnt__quiesce() waits for it to move) and guard_sp, an address in the
 * hook's own frame, below the traced function's and above any callback's
 * (stale() compares it with the stack).
 *
 * guard_sp is written before busy is raised and put back after busy drops:
 * a signal handler that runs a hook in between finds busy clear, uses
 * guard_sp itself and restores it, and one that runs while busy is set
 * always finds the holder's address there.
 */
struct held {
	int was;		/* busy before */
	uintptr_t sp;		/* guard_sp before */
};

static inline struct held guard(struct fnt_thread *t, uintptr_t sp)
{
	struct held h = { t->busy, t->guard_sp };

	if (!h.was) {
		t->guard_sp = sp;
		atomic_signal_fence(memory_order_seq_cst);
	}
	t->busy = h.was + 1;
	if (!h.was)
		/* release: pairs with the acquire load in fnt__quiesce(). */
		atomic_store_explicit(&t->seq, t->seq + 1, memory_order_release);
	atomic_signal_fence(memory_order_seq_cst);
	return h;
}

/* guard() for a thread known not to be busy. */
static inline struct held guard_outer(struct fnt_thread *t, uintptr_t sp)
{
	struct held h = { 0, t->guard_sp };

	t->guard_sp = sp;
	atomic_signal_fence(memory_order_seq_cst);
	t->busy = 1;
	/* release: pairs with the acquire load in fnt__quiesce(). */
	atomic_store_explicit(&t->seq, t->seq + 1, memory_order_release);
	atomic_signal_fence(memory_order_seq_cst);
	return h;
}

static inline void unguard(struct fnt_thread *t, struct held h)
{
	atomic_signal_fence(memory_order_seq_cst);
	if (!h.was)
		atomic_store_explicit(&t->seq, t->seq + 1, memory_order_release);
	t->busy = h.was;
	if (!h.was) {
		atomic_signal_fence(memory_order_seq_cst);
		t->guard_sp = h.sp;
	}
}

static void thread_exit(void *arg)
{
	struct fnt_thread *t = arg;
	struct held was = guard(t, (uintptr_t)__builtin_frame_address(0));

	/* pthread_exit() or return from the start routine: every frame left
	 * is over.  Report them, then give the record back (with seq even:
	 * the next thread's hooks rely on its parity). */
	while (t->depth) {
		t->depth--;
		report_exit(&t->stack[t->depth], FNT_CALL_UNWOUND);
	}
	unguard(t, was);
	self = NULL;
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
 * Is the guard held by a hook that no longer runs?  A signal handler that
 * interrupted a hook and left with siglongjmp() abandons it with busy set:
 * without this, the thread would never be traced again, and fnt_disable()
 * would wait for its seq forever.  The hook that set the guard is dead if
 * the stack has unwound to (or past) its frame: a live one only has
 * callbacks and signal handlers below it, on this stack, or a handler on
 * the signal stack (asked of the kernel: this is never the common path).
 * A dead guard is dropped, and the call it was recording counted lost.
 * Returns 1 if it was dropped.
 */
static void drop_guard(struct fnt_thread *t)
{
	if (atomic_load_explicit(&t->seq, memory_order_relaxed) & 1)
		/* release: pairs with the acquire load in fnt__quiesce(). */
		atomic_store_explicit(&t->seq, t->seq + 1, memory_order_release);
	t->busy = 0;
	atomic_fetch_add_explicit(&fnt__stats.recursion_skips, 1, memory_order_relaxed);
	fnt__recorder_thread_reset();
}

static __attribute__((noinline, cold)) int stale(struct fnt_thread *t, uintptr_t sp)
{
	stack_t ss;

	if (sp < t->guard_sp)
		return 0;
	if (sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK))
		return 0;
	drop_guard(t);
	return 1;
}

/*
 * sp[0] = site + 5 (the trampoline's return address), sp[1] = the return
 * address into the caller.
 */
__attribute__((visibility("hidden"))) void fnt__hook_entry(struct fnt_object *o, uintptr_t *sp)
{
	struct fnt_thread *t = self;
	struct fnt_site *s;
	struct fnt_call *call, local;
	struct frame *f = NULL;
	uintptr_t slot = (uintptr_t)&sp[1];
	uint32_t want, xmask;
	int saved_errno, overflow = 0;
	struct held held;

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
	if (t->busy && !stale(t, (uintptr_t)sp)) {
		atomic_fetch_add_explicit(&fnt__stats.recursion_skips, 1, memory_order_relaxed);
		return;
	}
	/* The guard's address lies below the trampoline's return address
	 * (where a hook called from the same frame would start) and above
	 * this hook's own frame (where callbacks run). */
	held = guard_outer(t, (uintptr_t)sp - 8);
	/* The traced function may be about to read errno (a logger called
	 * after a failed syscall): nothing we do may change it. */
	saved_errno = *t->errnop;
	s = fnt__site_find(o, sp[0] - 5);
	if (!s)
		goto out;
	want = atomic_load_explicit(&s->want, memory_order_relaxed);
	/* Only a top frame at or below this slot can be dead (the caller's
	 * live frame lies above it): the common case needs no walk. */
	if (t->depth && t->stack[t->depth - 1].call.frame <= slot)
		prune(t, slot);
	/*
	 * If an ops that may want the exit is called, the frame is pushed
	 * before any entry callback runs, with those ops' bits set, and the
	 * call is built in it, so the exit callbacks get it without a copy.
	 * A signal handler that cuts this hook short with siglongjmp then
	 * still finds the frame (the jump, or a later prune), and closes the
	 * call an entry callback may have recorded.  Nothing else can use the
	 * frame meanwhile: busy keeps signal handlers out.
	 */
	xmask = want & atomic_load_explicit(&fnt__exit_ops, memory_order_relaxed);
	if (xmask && t->depth < SHADOW_MAX) {
		f = &t->stack[t->depth];
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
	call->depth = t->depth;
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
	t->depth++;
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
		 * handler on this thread sees it whole. */
		atomic_signal_fence(memory_order_seq_cst);
		sp[1] = (uintptr_t)fnt__tramp_return;
	} else {
		t->depth--;
	}
out:
	*t->errnop = saved_errno;
	unguard(t, held);
}

/* rsp = the hooked frame's return slot + 8.  Returns where to go. */
__attribute__((visibility("hidden"))) uintptr_t fnt__hook_exit(uintptr_t rsp)
{
	struct fnt_thread *t = self;
	uintptr_t slot = rsp - 8;
	struct frame *f;
	uintptr_t ret;
	struct held was_busy;
	int saved_errno;

	/* A frame hooked by this thread always has a record.  errno is the
	 * returning function's result as much as %rax is. */
	saved_errno = *t->errnop;
	if (__builtin_expect(t->busy, 0))
		stale(t, rsp);
	/* A signal handler on this thread sees busy before we touch frames,
	 * and fnt_unregister_ops() waits for the exit callbacks too.  The
	 * guard's address lies below where a hook called from the caller's
	 * frame would start (rsp - 16), above tramp_return's own frame. */
	was_busy = guard(t, rsp - 24);
	/* Commonly the top frame; match() handles frames left by longjmp. */
	if (__builtin_expect(t->depth && t->stack[t->depth - 1].call.frame == slot, 1))
		f = &t->stack[t->depth - 1];
	else
		f = match(t, slot);
	if (__builtin_expect(!f, 0)) {
		/* Only a broken shadow stack gets here, and there is no right
		 * address to return to: say so before the program dies. */
		fnt__kill("function_graph: return through %#lx has no shadow frame",
			  (unsigned long)slot);
		unguard(t, was_busy);
		return 0;
	}
	ret = f->call.parent_ip;
	/*
	 * The frame stays on top while its exit callbacks run, each one's bit
	 * cleared once it has returned: if a signal handler cuts this short
	 * with siglongjmp, the jump still finds the frame and reports the
	 * exits not yet made as unwound.  Exits are reported even inside a
	 * callback (a callback's own traced call got no entry, so it cannot
	 * be here): the frame was pushed by an entry that ran outside one.
	 */
	f->hooked = EXITING;
	f->call.flags = 0;
	for (uint32_t m = f->mask; m;) {
		int bit = __builtin_ctz(m);
		struct fnt_ops *ops = atomic_load_explicit(&fnt__ops[bit], memory_order_acquire);

		if (ops && ops->exit)
			ops->exit(&f->call, ops->data);
		m &= m - 1;
		f->mask = m;
	}
	/* Popped only now, while handlers still skip the hooks: once busy
	 * drops, a handler's traced call pushes its own frame here. */
	atomic_signal_fence(memory_order_seq_cst);
	t->depth--;
	*t->errnop = saved_errno;
	unguard(t, was_busy);
	return ret;
}

/* --- exceptions -------------------------------------------------------- */

/*
 * The unwinder walks return addresses; fnt__tramp_return has no unwind
 * info that could tell it the real caller.  Before an exception (or a
 * forced unwind: pthread_exit, cancellation) starts, every hooked slot
 * gets its real return address back.  When a handler catches it
 * (__cxa_begin_catch), the frames below the catcher are dead and reported
 * as unwound; the live ones are hooked again.
 */
static void unhook_all(void)
{
	struct fnt_thread *t = self;

	if (!t)
		return;
	for (uint32_t i = 0; i < t->depth; i++) {
		struct frame *f = &t->stack[i];

		if (f->hooked == 1 && *(uintptr_t *)f->call.frame == (uintptr_t)fnt__tramp_return) {
			*(uintptr_t *)f->call.frame = f->call.parent_ip;
			f->hooked = 0;
		}
	}
}

static void rehook_live(uintptr_t sp)
{
	struct fnt_thread *t = self;
	struct held was;

	if (!t)
		return;
	was = guard(t, sp);
	prune(t, sp);
	for (uint32_t i = 0; i < t->depth; i++) {
		struct frame *f = &t->stack[i];

		if (f->hooked == 0 && *(uintptr_t *)f->call.frame == f->call.parent_ip) {
			*(uintptr_t *)f->call.frame = (uintptr_t)fnt__tramp_return;
			f->hooked = 1;
		}
	}
	unguard(t, was);
}

typedef int (*unwind_fn)(void *);

__attribute__((visibility("default"))) int _Unwind_RaiseException(void *exc)
{
	static unwind_fn real;

	if (!real)
		real = (unwind_fn)dlsym(RTLD_NEXT, "_Unwind_RaiseException");
	unhook_all();
	return real ? real(exc) : 5 /* _URC_END_OF_STACK */;
}

typedef int (*forced_fn)(void *, void *, void *);

__attribute__((visibility("default"))) int _Unwind_ForcedUnwind(void *exc, void *stop, void *arg)
{
	static forced_fn real;

	if (!real)
		real = (forced_fn)dlsym(RTLD_NEXT, "_Unwind_ForcedUnwind");
	unhook_all();
	return real ? real(exc, stop, arg) : 5;
}

typedef void *(*catch_fn)(void *);

__attribute__((visibility("default"))) void *__cxa_begin_catch(void *exc)
{
	static catch_fn real;

	if (!real)
		real = (catch_fn)dlsym(RTLD_NEXT, "__cxa_begin_catch");
	/* Our own frame is below the catcher's: every slot under it is dead. */
	rehook_live((uintptr_t)__builtin_frame_address(0));
	return real ? real(exc) : NULL;
}

/* --- longjmp ------------------------------------------------------------ */

/*
 * A longjmp abandons every frame between it and its target.  Those frames'
 * slots may keep holding fnt__tramp_return long after (deep ones are not
 * overwritten soon), so prune() cannot tell them from frames on another
 * stack, and later calls would appear nested inside dead ones.  The jumps
 * are interposed instead: before the real one runs, the shadow frames the
 * jump abandons are popped and reported unwound.
 *
 * The target stack pointer comes from the jmp_buf, where glibc keeps it
 * mangled (x86-64: slot 6, xor with the thread's pointer guard at
 * %fs:0x30, then rotated left by 17).  A target that does not look like
 * one (not above us on this stack, nor on the stack a signal handler on
 * the alternate stack interrupted) pops nothing.  A popped frame whose slot
 * still holds the trampoline gets its real return address back, so even a
 * frame wrongly taken for dead (a coroutine's, on another stack) returns
 * normally, only without its exit callback.
 */
#define JB_RSP 6

typedef void (*jump_fn)(void *, int) __attribute__((noreturn));

static jump_fn real_longjmp, real__longjmp, real_siglongjmp, real_longjmp_chk;

static void longjmp_init(void)
{
	real_longjmp = (jump_fn)dlsym(RTLD_NEXT, "longjmp");
	real__longjmp = (jump_fn)dlsym(RTLD_NEXT, "_longjmp");
	real_siglongjmp = (jump_fn)dlsym(RTLD_NEXT, "siglongjmp");
	real_longjmp_chk = (jump_fn)dlsym(RTLD_NEXT, "__longjmp_chk");
}

static uintptr_t jb_sp(const void *env)
{
	uintptr_t v = ((const uintptr_t *)env)[JB_RSP], guard;

	__asm__("movq %%fs:0x30, %0" : "=r"(guard));
	v = (v >> 17) | (v << 47);
	return v ^ guard;
}

static void pop_jumped(struct fnt_thread *t, struct frame *f)
{
	uintptr_t *slot = (uintptr_t *)f->call.frame;

	/* An EXITING frame's function has returned: its slot is not its own. */
	if (f->hooked != EXITING && *slot == (uintptr_t)fnt__tramp_return)
		*slot = f->call.parent_ip;
	t->depth--;
	report_exit(f, FNT_CALL_UNWOUND);
}

/* Does a jump from cur to target abandon the stack address a? */
static int abandons(uintptr_t a, uintptr_t cur, uintptr_t target, int same, uintptr_t alt_lo,
		    uintptr_t alt_hi)
{
	if (same)
		return a >= cur && a < target;
	return (a >= cur && a < alt_hi) ||
	       ((a < alt_lo || a >= alt_hi) && a < target && target - a < SAME_STACK);
}

/* Pops the shadow frames a jump to env abandons.  cur is an address in
 * the caller's frame: every slot above it belongs to a caller. */
static void before_jump(const void *env, uintptr_t cur)
{
	struct fnt_thread *t = self;
	uintptr_t target, alt_lo = 0, alt_hi = 0;
	struct held was;
	int same;

	if (!t || !env)
		return;
	target = jb_sp(env);
	same = target > cur && target - cur < SAME_STACK;
	if (!same) {
		stack_t ss;

		/* A handler on the signal stack jumping back to the stack it
		 * interrupted: its frames there are all abandoned. */
		if (sigaltstack(NULL, &ss) != 0 || !(ss.ss_flags & SS_ONSTACK))
			return;
		alt_lo = (uintptr_t)ss.ss_sp;
		alt_hi = alt_lo + ss.ss_size;
		if (target >= alt_lo && target <= alt_hi)
			return;	/* a jump within the signal stack: not sure */
	}
	/* A hook this handler interrupted is abandoned too: drop its guard
	 * first, so that the exits below go to a recovered ring. */
	if (t->busy && abandons(t->guard_sp, cur, target, same, alt_lo, alt_hi))
		drop_guard(t);
	if (!t->depth)
		return;
	was = guard(t, cur);
	while (t->depth) {
		struct frame *f = &t->stack[t->depth - 1];

		if (!abandons(f->call.frame, cur, target, same, alt_lo, alt_hi))
			break;
		pop_jumped(t, f);
	}
	unguard(t, was);
}

/* The wrappers never return: the real jump does not. */
#define JUMP_WRAPPER(name, real)                                                        \
	__attribute__((visibility("default"), noreturn)) void name(void *env, int val)  \
	{                                                                               \
		fnt__sig_fix_jmpbuf(env);                                               \
		before_jump(env, (uintptr_t)__builtin_frame_address(0));               \
		real(env, val);                                                         \
	}

JUMP_WRAPPER(longjmp, real_longjmp)
JUMP_WRAPPER(_longjmp, real__longjmp)
JUMP_WRAPPER(siglongjmp, real_siglongjmp)
JUMP_WRAPPER(__longjmp_chk, real_longjmp_chk)

/* --- quiescence -------------------------------------------------------- */

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
	struct fnt_thread *me = self;

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
		while (atomic_load_explicit(&t->seq, memory_order_acquire) == s &&
		       atomic_load_explicit(&t->used, memory_order_relaxed))
			sched_yield();
	}
}

void fnt__hooks_fork_child(void)
{
	/* Only this thread survives: the others' records are free again. */
	for (struct fnt_thread *t = atomic_load_explicit(&threads, memory_order_acquire); t;
	     t = t->next)
		if (t != self) {
			atomic_store_explicit(&t->seq, 0, memory_order_relaxed);
			atomic_store_explicit(&t->used, 0, memory_order_relaxed);
		}
}
